// Summary of a V8 CPU profile of the bundled action:
//   node scripts/perf/profile-summary.ts PROFILE.cpuprofile [BUNDLE.js STATS.json] [TOP]
// Self time by location (Node internals, bundled module, wasm, GC, idle), by function, and the
// inclusive time of each bundled module (any of its frames on the stack). BUNDLE.js and
// STATS.json (ncc --stats-out) map lines of the bundle to the module they came from.
//
// Take the profile with the bench's environment:
//   node scripts/perf/compare.ts --once "p=--cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval 100 dist/main/index.js"
// Sampling adds overhead (compile shows up larger than without the profiler); use the proportions.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const [profilePath, bundlePath, statsPath, topArg] = process.argv.slice(2)
if (!profilePath) throw new Error('usage: profile-summary.ts PROFILE.cpuprofile [BUNDLE.js STATS.json] [TOP]')
const top = Number(topArg ?? 30)
const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as Profile

// Line (0-based) of the bundle -> the module it belongs to.
const moduleOfLine: string[] = []
if (bundlePath && statsPath) {
  const names = new Map<string, string>()
  for (const m of (
    JSON.parse(readFileSync(statsPath, 'utf8')) as { modules: { id: string | number | null; name: string }[] }
  ).modules) {
    if (m.id !== null) names.set(String(m.id), m.name)
  }
  let current = '(webpack runtime)'
  readFileSync(bundlePath, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      const numbered = /^\/\*\*\*\/ (\d+):$/.exec(line)
      if (numbered?.[1]) current = names.get(numbered[1]) ?? `#${numbered[1]}`
      const concatenated = /^;\/\/ CONCATENATED MODULE: (.*)$/.exec(line)
      if (concatenated?.[1]) current = concatenated[1]
      if (line.startsWith('/******/ /* webpack/runtime')) current = '(webpack runtime)'
      moduleOfLine[index] = current.replace('./node_modules/', '')
    })
}
const bundleName = bundlePath ? basename(bundlePath) : undefined

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parentOf = new Map<number, number>()
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id)

function where(node: ProfileNode): string {
  const { url, functionName, lineNumber } = node.callFrame
  if (bundleName && url.endsWith(`/${bundleName}`) && moduleOfLine.length > 0)
    return `bundle: ${moduleOfLine[lineNumber] ?? '?'}`
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  return url.replace(/^file:\/\/.*\//, 'file: ')
}

const selfByWhere = new Map<string, number>()
const selfByFunction = new Map<string, number>()
const inclusiveByModule = new Map<string, number>()
const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms)
profile.samples.forEach((id, i) => {
  const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
  const node = byId.get(id)
  if (!node) return
  add(selfByWhere, where(node), ms)
  add(
    selfByFunction,
    `${node.callFrame.functionName || '(anonymous)'}  ${where(node)}:${node.callFrame.lineNumber + 1}`,
    ms,
  )
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const frame = byId.get(at)
    const place = frame ? where(frame) : ''
    if (place.startsWith('bundle: ') && !seen.has(place)) {
      seen.add(place)
      add(inclusiveByModule, place, ms)
    }
  }
})

console.log(`profile spans ${((profile.endTime - profile.startTime) / 1000).toFixed(1)} ms`)
show('self time by location', selfByWhere)
show('self time by function', selfByFunction)
if (inclusiveByModule.size > 0) show('inclusive time by bundled module', inclusiveByModule)

function show(title: string, map: Map<string, number>): void {
  console.log(`\n== ${title}`)
  for (const [key, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${ms.toFixed(1).padStart(7)} ms  ${key}`)
}
