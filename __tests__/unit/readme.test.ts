// The README's Inputs and Outputs tables are the contract users read: they must list exactly what
// action.yml declares, in its order, with its defaults.
//
// Table conventions (stated in the README above the inputs table): the name is in backticks; the
// default is in backticks, `''` being the empty string; `required` (no backticks) marks an input
// that has no default and is required.
//
// Also: the README stays small enough to read, every YAML block in it is a whole workflow (linted in
// __tests__/e2e/workflows.test.ts) or says it is a fragment, and the forms of `expiration` are
// listed once, in action.yml, and repeated faithfully by the README and the parser's error.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { parseExpiration } from '../../src/deepgram/expiration.ts'
import { codeBlocks, FRAGMENT_MARK } from '../helpers/markdown.ts'

interface InputSpec {
  required?: boolean
  default?: unknown
}

interface Manifest {
  inputs: Record<string, InputSpec & { description?: string }>
  outputs: Record<string, unknown>
}

const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8')
const manifest = parse(readFileSync(join(process.cwd(), 'action.yml'), 'utf8')) as Manifest

/** Splits a Markdown table row into trimmed cells; `\|` inside a cell is not a separator. */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '')
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim())
}

/** The first table after the heading `## <title>`: its header cells and body rows. */
function tableAfter(title: string): { header: string[]; rows: string[][] } {
  const lines = readme.split('\n')
  const start = lines.findIndex((line) => line.trim() === `## ${title}`)
  if (start === -1) throw new Error(`README.md has no "## ${title}" heading`)
  const table: string[] = []
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('## ')) break
    if (line.trim().startsWith('|')) table.push(line)
    else if (table.length > 0) break
  }
  const [header, separator, ...body] = table
  if (header === undefined || separator === undefined) throw new Error(`README.md has no table under "## ${title}"`)
  expect(cells(separator).every((cell) => /^:?-{3,}:?$/.test(cell))).toBe(true)
  return { header: cells(header), rows: body.map(cells) }
}

/** `name` → name; anything else is a formatting mistake worth failing on. */
function unquote(cell: string): string {
  const match = /^`([^`]+)`$/.exec(cell)
  if (match?.[1] === undefined) throw new Error(`expected a name in backticks, got: ${cell}`)
  return match[1]
}

/** What the README's default cell should say for an input of action.yml. */
function expectedDefault(spec: InputSpec): string {
  if (spec.default === undefined) return spec.required === true ? 'required' : "`''`"
  const value = typeof spec.default === 'string' ? spec.default : JSON.stringify(spec.default)
  return value === '' ? "`''`" : `\`${value}\``
}

describe('README.md', () => {
  test('has an inputs table with the columns input, default and meaning', () => {
    expect(tableAfter('Inputs').header).toEqual(['input', 'default', 'meaning'])
  })

  test('lists every input of action.yml, in the same order', () => {
    const names = tableAfter('Inputs').rows.map((row) => unquote(row[0] ?? ''))
    expect(names).toEqual(Object.keys(manifest.inputs))
  })

  test('lists every input of action.yml with its default', () => {
    const documented = tableAfter('Inputs').rows.map((row) => [unquote(row[0] ?? ''), row[1] ?? ''])
    const declared = Object.entries(manifest.inputs).map(([name, spec]) => [name, expectedDefault(spec)])
    expect(documented).toEqual(declared)
  })

  test('says what every input means', () => {
    for (const row of tableAfter('Inputs').rows) {
      expect(row).toHaveLength(3)
      expect(row[2]).not.toBe('')
    }
  })

  test('has an outputs table with the columns output and meaning', () => {
    expect(tableAfter('Outputs').header).toEqual(['output', 'meaning'])
  })

  test('lists every output of action.yml, in the same order, with a meaning', () => {
    const rows = tableAfter('Outputs').rows
    expect(rows.map((row) => unquote(row[0] ?? ''))).toEqual(Object.keys(manifest.outputs))
    for (const row of rows) {
      expect(row).toHaveLength(2)
      expect(row[1]).not.toBe('')
    }
  })
})

/** The README's limit: what a newcomer reads before the first example should fit in a short read. */
const README_LIMIT_BYTES = 20 * 1024

describe('README.md as a whole', () => {
  test(`is under ${README_LIMIT_BYTES / 1024} KB`, () => {
    expect(Buffer.byteLength(readme, 'utf8')).toBeLessThan(README_LIMIT_BYTES)
  })

  test('opens with a complete quick-start workflow before the inputs table', () => {
    const firstYaml = codeBlocks(readme).find((block) => block.language === 'yaml')
    const inputsLine = readme.split('\n').findIndex((line) => line.trim() === '## Inputs') + 1
    expect(firstYaml).toBeDefined()
    expect(firstYaml?.line).toBeLessThan(inputsLine)
    const workflow = parse(firstYaml?.text ?? '') as Record<string, unknown>
    expect(Object.keys(workflow)).toEqual(expect.arrayContaining(['on', 'permissions', 'jobs']))
  })

  test('marks every YAML block that is not a whole workflow as a fragment', () => {
    const unmarked = codeBlocks(readme)
      .filter((block) => block.language === 'yaml' || block.language === 'yml')
      .filter((block) => !FRAGMENT_MARK.test(block.text))
      .filter((block) => {
        const document: unknown = parse(block.text)
        return typeof document !== 'object' || document === null || !('on' in document) || !('jobs' in document)
      })
      .map((block) => `line ${block.line}: neither a workflow (on: and jobs:) nor marked "# fragment: …"`)
    expect(unmarked).toEqual([])
  })

  test('fences every code block with a language', () => {
    expect(
      codeBlocks(readme)
        .filter((block) => block.language === '')
        .map((block) => block.line),
    ).toEqual([])
  })
})

/** The forms listed in the first parenthesis after `lead`: durations, then the bare-seconds example. */
function expirationForms(text: string, lead: string): string[] {
  const start = text.indexOf(lead)
  if (start === -1) throw new Error(`no "${lead}" in: ${text}`)
  const list = /\(([^)]*)\)/.exec(text.slice(start))?.[1] ?? ''
  const durations = [...list.matchAll(/(?<![\w.:-])(?:\d+[smhdw])+(?![\w.:-])/g)].map((match) => match[0])
  const seconds = [...list.matchAll(/seconds such as `?(\d+)`?/g)].map((match) => match[1] ?? '')
  return [...durations, ...seconds]
}

describe('the forms of expiration', () => {
  const declared = expirationForms(manifest.inputs.expiration?.description ?? '', 'How long the key lives')

  test('action.yml lists durations of every unit and a bare number of seconds', () => {
    expect(declared).toEqual(expect.arrayContaining(['90s', '30m', '2h', '1d', '2w', '3600']))
  })

  test('the README lists exactly the forms of action.yml', () => {
    const row = tableAfter('Inputs').rows.find((cells) => cells[0] === '`expiration`')
    expect(expirationForms(row?.[2] ?? '', 'How long the key lives')).toEqual(declared)
  })

  test.each(declared)('%s is a form the parser accepts as a lifetime', (form) => {
    expect(parseExpiration(form, new Date('2026-01-01T00:00:00Z')).kind).toBe('ttl')
  })

  test("the parser's refusal names exactly the forms that action.yml lists", () => {
    let message = ''
    try {
      parseExpiration('soon', new Date('2026-01-01T00:00:00Z'))
    } catch (error) {
      message = error instanceof Error ? error.message : String(error)
    }
    const named = expirationForms(message, 'a duration')
    expect(named).toEqual(declared)
  })
})
