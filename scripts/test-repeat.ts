// `npm run test:repeat -- N [--busy] [jest arguments]`: runs the Jest suite N times against the
// dist/ as it is (run `npm run build` first) and reports every failure with its test name, so
// anyone can check again that the suite passes every time. `--busy` keeps one core busy with a
// CPU-bound process for the whole run, as a loaded CI machine would. All projects run (the slow
// one too) unless Jest arguments choose otherwise. Exits 1 when any run failed.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

interface JestResult {
  numPassedTests: number
  numFailedTests: number
  testResults: {
    name: string
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[]
    message: string
  }[]
}

interface Failure {
  run: number
  file: string
  test: string
  firstLine: string
}

const args = process.argv.slice(2)
const runs = Number(args.find((arg) => /^\d+$/.test(arg)) ?? '1')
const busy = args.includes('--busy')
const jestArgs = args.filter((arg) => !/^\d+$/.test(arg) && arg !== '--busy')

const burner = busy ? keepOneCoreBusy() : undefined
// Stopped by hand: the CPU-bound child goes too.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    burner?.kill('SIGKILL')
    process.exit(130)
  })
const failures: Failure[] = []
const folder = mkdtempSync(join(tmpdir(), 'test-repeat-'))
try {
  for (let run = 1; run <= runs; run++) {
    const started = Date.now()
    const output = join(folder, `run-${run}.json`)
    const code = await jest(['--json', `--outputFile=${output}`, ...jestArgs])
    const result = readResult(output)
    const found = result ? failuresOf(result, run) : []
    if (code !== 0 && found.length === 0)
      found.push({ run, file: '(jest)', test: '(the run failed outside any test)', firstLine: `exit code ${code}` })
    failures.push(...found)
    const seconds = ((Date.now() - started) / 1000).toFixed(0)
    const counts = result ? `${result.numPassedTests} passed, ${result.numFailedTests} failed` : 'no result'
    console.log(`run ${run}/${runs}${busy ? ' (one core busy)' : ''}: ${counts} in ${seconds} s`)
    for (const failure of found) console.log(`  FAILED ${failure.file} › ${failure.test}: ${failure.firstLine}`)
  }
} finally {
  burner?.kill('SIGKILL')
  rmSync(folder, { recursive: true, force: true })
}

console.log(`\n${runs} run(s), ${failures.length} failure(s)`)
const byTest = new Map<string, number[]>()
for (const failure of failures) {
  const name = `${failure.file} › ${failure.test}`
  byTest.set(name, [...(byTest.get(name) ?? []), failure.run])
}
for (const [name, inRuns] of byTest) console.log(`  ${name}: failed in run(s) ${inRuns.join(', ')}`)
process.exit(failures.length === 0 ? 0 : 1)

function jest(extra: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['jest', ...extra], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, JEST_SLOW: process.env.JEST_SLOW ?? '1' },
    })
    child.on('exit', (code) => resolve(code ?? 1))
  })
}

function readResult(path: string): JestResult | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JestResult
  } catch {
    return undefined
  }
}

function failuresOf(result: JestResult, run: number): Failure[] {
  return result.testResults.flatMap((file) => {
    const name = file.name.replace(`${process.cwd()}/`, '')
    const failed = file.assertionResults.filter((test) => test.status === 'failed')
    // A file that failed as a whole (it did not load, or a hook threw) has no failed test of its own.
    if (failed.length === 0 && file.message !== '')
      return [{ run, file: name, test: '(the file)', firstLine: firstLine(file.message) }]
    return failed.map((test) => ({
      run,
      file: name,
      test: test.fullName,
      firstLine: firstLine(test.failureMessages[0]),
    }))
  })
}

function firstLine(message: string | undefined): string {
  // Jest colours its messages for a terminal.
  const plain = (message ?? '').replace(/\u001b\[[0-9;]*m/g, '')
  return (plain.split('\n').find((line) => line.trim() !== '') ?? '').trim().slice(0, 200)
}

/** A CPU-bound child process that keeps one core busy until it is killed. */
function keepOneCoreBusy(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
}
