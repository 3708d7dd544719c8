// Runs the bundled action the way the GitHub runner does: inputs as INPUT_* variables with
// action.yml's defaults applied, command files for outputs, state and summary, and the main
// step's saved state handed to the post step as STATE_* variables.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

export interface StepRun {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  state: Record<string, string>
  summary: string
  /** Raw contents of every file the step could write, for leak scans. */
  files: { output: string; state: string; summary: string; env: string }
}

export interface StepOptions {
  inputs?: Record<string, string>
  /**
   * Extra environment, e.g. GITHUB_REPOSITORY or HTTPS_PROXY. It wins over the runner's own, so
   * `GITHUB_STATE: '/dev/full'` gives a command file that fails with ENOSPC, as on a full disk.
   */
  env?: Record<string, string>
  /** State saved by the main step (the post step only). */
  state?: Record<string, string>
  /** Folder of the action (action.yml and dist/); the repository root by default. */
  actionDir?: string
  /**
   * Cancels the step this long after the start, as the runner does when the job is cancelled:
   * SIGINT, then SIGTERM 7.5 s later, then SIGKILL 2.5 s after that (see cancelSignal).
   */
  cancelAfterMs?: number
  /** The signal the cancellation starts with: SIGINT (the runner's), or SIGTERM or SIGKILL to skip ahead. */
  cancelSignal?: CancelSignal
  /**
   * Cancels the step (the same sequence) when this settles, e.g. once an emulator has seen a request:
   * the cancel then comes at a known point of the step's work, whatever the machine's speed. With
   * cancelAfterMs too, the cancel comes that long after it settles.
   */
  cancelWhen?: Promise<unknown>
}

export type CancelSignal = 'SIGINT' | 'SIGTERM' | 'SIGKILL'

/** What the runner sends after each signal if the process is still there, and how long it waits first. */
const ESCALATION: Record<CancelSignal, { next: CancelSignal; afterMs: number } | undefined> = {
  SIGINT: { next: 'SIGTERM', afterMs: 7_500 },
  SIGTERM: { next: 'SIGKILL', afterMs: 2_500 },
  SIGKILL: undefined,
}

export interface ActionManifest {
  inputs?: Record<string, { default?: string; required?: boolean }>
  runs: { main: string; post?: string }
}

/** A plausible workflow run: what the runner always sets. */
export const RUN_ENV: Record<string, string> = {
  GITHUB_ACTIONS: 'true',
  CI: 'true',
  GITHUB_REPOSITORY: 'octo-org/app',
  GITHUB_REPOSITORY_OWNER: 'octo-org',
  GITHUB_WORKFLOW: 'CI',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_JOB: 'test',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_API_URL: 'https://api.github.com',
  GITHUB_SERVER_URL: 'https://github.com',
}

export function readManifest(actionDir = process.cwd()): ActionManifest {
  return parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as ActionManifest
}

/** INPUT_* variables as the runner makes them: defaults applied, names upper-cased, dashes kept. */
export function inputEnv(manifest: ActionManifest, inputs: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, spec] of Object.entries(manifest.inputs ?? {})) {
    const value = inputs[name] ?? spec.default
    if (value !== undefined) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(value)
  }
  for (const name of Object.keys(inputs)) {
    if (!(name in (manifest.inputs ?? {}))) throw new Error(`action.yml has no input ${name}`)
  }
  return env
}

/** Parses a command file: `name=value` lines and `name<<DELIMITER` heredocs. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name = '', delimiter] = heredoc
      const body: string[] = []
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] ?? '')
      values[name] = body.join('\n')
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return values
}

export async function runStep(step: 'main' | 'post', options: StepOptions = {}): Promise<StepRun> {
  return (await runTimedStep(step, options)).run
}

/**
 * The environment of a step as the runner makes it, with its empty command files in `dir`:
 * RUN_ENV, INPUT_* with defaults, GITHUB_OUTPUT/STATE/STEP_SUMMARY/ENV, STATE_* for post.
 */
export function stepEnvironment(
  dir: string,
  manifest: ActionManifest,
  options: StepOptions,
): { env: Record<string, string>; files: Record<'output' | 'state' | 'summary' | 'env', string> } {
  const files = {
    output: join(dir, 'output'),
    state: join(dir, 'state'),
    summary: join(dir, 'summary'),
    env: join(dir, 'env'),
  }
  for (const file of Object.values(files)) writeFileSync(file, '')
  const stateEnv: Record<string, string> = {}
  for (const [name, value] of Object.entries(options.state ?? {})) stateEnv[`STATE_${name}`] = value
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    RUNNER_TEMP: dir,
    ...RUN_ENV,
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_ENV: files.env,
    ...inputEnv(manifest, options.inputs ?? {}),
    ...stateEnv,
    ...options.env,
  }
  return { env, files }
}

/** runStep, plus the wall time of the step's node process alone (spawn to exit), for benchmarks. */
export async function runTimedStep(
  step: 'main' | 'post',
  options: StepOptions = {},
): Promise<{ run: StepRun; wallMs: number }> {
  const actionDir = resolve(options.actionDir ?? process.cwd())
  const manifest = readManifest(actionDir)
  const entry = step === 'main' ? manifest.runs.main : manifest.runs.post
  if (!entry) throw new Error(`action.yml has no ${step} step`)
  const dir = mkdtempSync(join(tmpdir(), `dg-step-${step}-`))
  const { env, files } = stepEnvironment(dir, manifest, options)
  try {
    const started = performance.now()
    const cancel =
      options.cancelAfterMs === undefined && options.cancelWhen === undefined
        ? undefined
        : { afterMs: options.cancelAfterMs ?? 0, signal: options.cancelSignal ?? 'SIGINT', when: options.cancelWhen }
    const { exitCode, stdout, stderr } = await spawnNode(join(actionDir, entry), env, actionDir, cancel)
    const wallMs = performance.now() - started
    const contents = {
      output: readFileSync(files.output, 'utf8'),
      state: readFileSync(files.state, 'utf8'),
      summary: readFileSync(files.summary, 'utf8'),
      env: readFileSync(files.env, 'utf8'),
    }
    const run: StepRun = {
      exitCode,
      stdout,
      stderr,
      outputs: parseCommandFile(contents.output),
      state: parseCommandFile(contents.state),
      summary: contents.summary,
      files: contents,
    }
    return { run, wallMs }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Main, then post with main's state, as one job would run them. */
export async function runJob(options: StepOptions = {}): Promise<{ main: StepRun; post: StepRun }> {
  const main = await runStep('main', options)
  const post = await runStep('post', { ...options, state: main.state })
  return { main, post }
}

function spawnNode(
  script: string,
  env: Record<string, string>,
  cwd: string,
  cancel?: { afterMs: number; signal: CancelSignal; when?: Promise<unknown> },
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let timer: NodeJS.Timeout | undefined
    let exited = false
    const send = (signal: CancelSignal, afterMs: number): void => {
      if (exited) return
      timer = setTimeout(() => {
        child.kill(signal)
        const next = ESCALATION[signal]
        if (next) send(next.next, next.afterMs)
      }, afterMs)
    }
    if (cancel?.when) {
      const { signal, afterMs } = cancel
      cancel.when.then(
        () => send(signal, afterMs),
        () => send(signal, afterMs),
      )
    } else if (cancel) send(cancel.signal, cancel.afterMs)
    child.on('exit', () => {
      exited = true
      clearTimeout(timer)
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', fail)
    child.on('close', (code) => done({ exitCode: code ?? -1, stdout, stderr }))
  })
}

/**
 * Where a secret shows up that it must not: any line of stdout or stderr except `::add-mask::`
 * lines, the state, the summary, GITHUB_ENV, and every output but those named in `allowedOutputs`.
 */
export function findLeaks(run: StepRun, secrets: string[], allowedOutputs: string[] = []): string[] {
  const leaks: string[] = []
  const places: [string, string][] = [
    [
      'stdout',
      run.stdout
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .join('\n'),
    ],
    ['stderr', run.stderr],
    ['state', run.files.state],
    ['summary', run.files.summary],
    ['GITHUB_ENV', run.files.env],
  ]
  for (const [name, value] of Object.entries(run.outputs)) {
    if (!allowedOutputs.includes(name)) places.push([`output ${name}`, value])
  }
  for (const secret of secrets.filter((s) => s.length > 0)) {
    for (const [place, text] of places) if (text.includes(secret)) leaks.push(`${place} holds ${secret.slice(0, 4)}…`)
  }
  return leaks
}
