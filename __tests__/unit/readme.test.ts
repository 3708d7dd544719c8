// The README's Inputs and Outputs tables are the contract users read: they must list exactly what
// action.yml declares, in its order, with its defaults.
//
// Table conventions (stated in the README above the inputs table): the name is in backticks; the
// default is in backticks, `''` being the empty string; `required` (no backticks) marks an input
// that has no default and is required.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

interface InputSpec {
  required?: boolean
  default?: unknown
}

interface Manifest {
  inputs: Record<string, InputSpec>
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
  const value = String(spec.default)
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
