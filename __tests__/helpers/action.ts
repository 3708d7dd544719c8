// What the end-to-end tests share: an emulator per test, the inputs that point the action at it,
// and the checks every scenario makes on the whole transcript.
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { findLeaks, type StepRun } from '../../harness/runner.ts'

export const ADMIN_KEY = DEFAULT_ACCOUNT.apiKey
export const PROJECT_ID = DEFAULT_PROJECT.projectId

export function deepgramInputs(dg: DeepgramEmulator, extra: Record<string, string> = {}): Record<string, string> {
  return { 'api-key': ADMIN_KEY, 'project-id': PROJECT_ID, 'deepgram-api-url': dg.url, ...extra }
}

export function errorLines(run: StepRun): string[] {
  return run.stdout.split('\n').filter((line) => line.startsWith('::error::'))
}

export function warningLines(run: StepRun): string[] {
  return run.stdout.split('\n').filter((line) => line.startsWith('::warning::'))
}

/** The one `::error::` a failed step must end with, decoded from the workflow-command escaping. */
export function theError(run: StepRun): string {
  const errors = errorLines(run)
  if (errors.length !== 1)
    throw new Error(`expected exactly one ::error::, got ${errors.length}:\n${run.stdout}\n${run.stderr}`)
  return decodeCommand((errors[0] ?? '').slice('::error::'.length))
}

export function decodeCommand(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

/** Every secret the action handled, in every place it may not appear; the key output excepted. */
export function expectNoLeaks(runs: StepRun[], secrets: string[]): void {
  for (const run of runs) {
    expect(findLeaks(run, secrets, ['key'])).toEqual([])
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/) // no stack trace
  }
}

/** Every key the emulator ever handed out, for the leak scans. */
export function allKeys(dg: DeepgramEmulator): string[] {
  return [ADMIN_KEY, ...dg.keys.map((k) => k.key)]
}

/** Anything shaped like a JWT: an ID token or a temporary token. */
export const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/

/** Nothing shaped like a JWT anywhere a run shows: its output but the ::add-mask:: lines, state, summary, env. */
export function expectNoJwtShown(runs: StepRun[]): void {
  for (const run of runs) {
    const stdout = run.stdout
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n')
    const shown = [stdout, run.stderr, run.files.state, run.files.summary, run.files.env]
    expect(shown.join('\n')).not.toMatch(JWT)
  }
}
