// The layout's rules, checked on every run: imports flow one way. The plumbing (github/, deepgram/,
// shared/) never imports the action or the broker, the broker never imports the action, no file of
// src/ reaches itself through its imports, and outside the action's sources/ only the chooser
// (sources/credentials.ts) is imported from it.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve('src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every relative import of each file (type-only and dynamic ones included), as paths under src/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sourceFiles(ROOT)) {
    const text = readFileSync(file, 'utf8')
    const specs = [...text.matchAll(/(?:from\s+|import\(\s*)['"](\.[^'"]+)['"]/g)].map((m) => m[1] ?? '')
    graph.set(
      relative(ROOT, file),
      specs.map((spec) => relative(ROOT, resolve(dirname(file), spec))),
    )
  }
  return graph
}

/** The files on a cycle through `start`, or undefined. */
function cycleFrom(graph: Map<string, string[]>, start: string): string[] | undefined {
  const stack: string[][] = [[start]]
  const seen = new Set<string>()
  while (stack.length > 0) {
    const path = stack.pop() ?? []
    for (const next of graph.get(path[path.length - 1] ?? '') ?? []) {
      if (next === start) return [...path, next]
      if (!seen.has(next)) {
        seen.add(next)
        stack.push([...path, next])
      }
    }
  }
  return undefined
}

describe('the import structure of src/', () => {
  const graph = importGraph()

  test('has no import cycle', () => {
    const cycles = [...graph.keys()].flatMap((file) => {
      const cycle = cycleFrom(graph, file)
      return cycle ? [cycle.join(' -> ')] : []
    })
    expect(cycles).toEqual([])
  })

  test.each([
    ['github/', ['action/', 'broker/']],
    ['deepgram/', ['action/', 'broker/']],
    ['shared/', ['action/', 'broker/', 'github/', 'deepgram/']],
    ['broker/', ['action/']],
    // Inside the broker: verifying a token knows nothing of the policy, and neither knows HTTP.
    ['broker/oidc/', ['broker/policy/', 'broker/http/', 'broker/limits/', 'broker/reload/']],
    ['broker/policy/', ['broker/http/', 'broker/limits/', 'broker/reload/']],
  ])('nothing under src/%s imports from %p', (from, forbidden) => {
    const crossings = [...graph].flatMap(([file, targets]) =>
      file.startsWith(from)
        ? targets
            .filter((target) => forbidden.some((prefix) => target.startsWith(prefix)))
            .map((target) => `${file} -> ${target}`)
        : [],
    )
    expect(crossings).toEqual([])
  })

  test('outside src/action/sources/, nothing imports from it but the chooser, sources/credentials.ts', () => {
    const crossings = [...graph].flatMap(([file, targets]) =>
      file.startsWith('action/sources/')
        ? []
        : targets
            .filter((target) => target.startsWith('action/sources/') && target !== 'action/sources/credentials.ts')
            .map((target) => `${file} -> ${target}`),
    )
    expect(crossings).toEqual([])
  })

  test('the chooser is imported, so the rule above guards something', () => {
    const importers = [...graph].filter(([, targets]) => targets.includes('action/sources/credentials.ts'))
    expect(importers.map(([file]) => file).sort()).toEqual(['action/main-step.ts', 'action/post-step.ts'])
  })
})
