// What the demos print of a step: its raw transcript, the log as GitHub renders it (commands
// consumed, masked values as ***), and the values it masked.
import { runStep, type StepOptions, type StepRun } from '../harness/runner.ts'

export const section = (title: string): void =>
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 76 - title.length))}`)
export const indent = (text: string): string => text.trimEnd().replace(/^/gm, '  ')

/** The values a step registered with `::add-mask::`, unescaped as the runner does. */
export function masksOf(run: StepRun): string[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith('::add-mask::'))
    .map((line) => line.slice('::add-mask::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
}

/** The raw stdout/stderr, as the runner receives them. */
export function transcript(run: StepRun): string {
  const err = run.stderr.trim() === '' ? '' : `\n${run.stderr.trimEnd().replace(/^/gm, '[stderr] ')}`
  return indent(run.stdout + err)
}

/** The log as GitHub shows it: commands consumed, annotations labelled, masked values as ***. */
export function rendered(run: StepRun, masks: string[]): string {
  const labels: Record<string, string> = { error: 'Error: ', warning: 'Warning: ', notice: 'Notice: ' }
  const lines = `${run.stdout}${run.stderr}`.split('\n').flatMap((line) => {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line)
    if (command === null) return [line]
    const [, name = '', text = ''] = command
    return name in labels ? [`${labels[name]}${text}`] : []
  })
  return indent(masked(lines.join('\n'), masks))
}

export function masked(text: string, masks: string[]): string {
  return [...masks].sort((a, b) => b.length - a.length).reduce((out, mask) => out.split(mask).join('***'), text)
}

/** The problems a demo found, and `check`, which records one when `ok` is false. */
export function checklist(): { problems: string[]; check: (ok: boolean, problem: string) => void } {
  const problems: string[] = []
  return { problems, check: (ok, problem) => void (ok || problems.push(problem)) }
}

/** A demo's last words: OK with what it showed, or FAILED with each problem; the exit code says which. */
export function verdict(problems: string[], ok: string, error?: unknown): void {
  if (error !== undefined)
    problems.push(
      `the demo crashed: ${error instanceof Error ? (error.stack ?? error.message) : JSON.stringify(error)}`,
    )
  section(problems.length === 0 ? `OK: ${ok}` : 'FAILED')
  for (const problem of problems) console.error(`  - ${problem}`)
  if (problems.length > 0) process.exitCode = 1
}

/** Runs the main step and shows its raw transcript, then its log as GitHub renders it. */
export async function showMain(options: StepOptions): Promise<{ main: StepRun; masks: string[] }> {
  const main = await runStep('main', options)
  const masks = masksOf(main)
  section(`main step: raw stdout/stderr (exit code ${main.exitCode})`)
  console.log(transcript(main))
  section('main step: the log as GitHub renders it')
  console.log(rendered(main, masks))
  return { main, masks }
}
