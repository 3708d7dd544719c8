// `npm run bench`: performance figures of the bundled action, each against its target. A missed
// target is reported (MISS), not fatal; a measurement that cannot be taken (the action failed)
// makes the exit code 1.
//
// Every measurement is a function returning rows; add one by writing it and listing it in
// MEASUREMENTS. Each sets up (and closes) the emulators it needs.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { startGitHubEmulator } from '../harness/github-emulator.ts'
import { readManifest, RUN_ENV, runTimedStep } from '../harness/runner.ts'
import { secretWriteInputs } from './bench-fanout.ts'
import { measureRevokeByTags } from './bench-revoke.ts'

interface Row {
  label: string
  value: string
  /** A row with a target gets a PASS or MISS marker. */
  target?: { text: string; met: boolean }
}

interface Measurement {
  title: string
  measure: () => Row[] | Promise<Row[]>
}

const MEASUREMENTS: Measurement[] = [
  { title: 'Startup: a full main run of dist/ vs bare `node -e 0`', measure: measureStartup },
  { title: 'Size of dist/', measure: measureDistSize },
  {
    title: 'Round trips on the critical path when writing secrets (100 ms latency per request)',
    measure: measureSecretRoundTrips,
  },
  {
    title: 'Round trips on the critical path of a temporary token (100 ms latency per request)',
    measure: async () => (await import('./bench-token.ts')).measureTokenRoundTrips(),
  },
  {
    title: 'Fan-out to 100 repository secrets (100 ms latency per request)',
    measure: async () => (await import('./bench-fanout.ts')).measureFanOut(),
  },
  {
    title:
      'Round trips on the critical path of the post step, with and without the usage report (100 ms latency per request)',
    measure: async () => (await import('./bench-usage.ts')).measureUsageRoundTrips(),
  },
  { title: 'Revoke by tags among 400 keys (100 ms latency per request)', measure: measureRevokeByTags },
  {
    title:
      'Broker: POST /v1/keys, CPU per key against a minimal floor server, and p99 at 100 keys/s (open loop); the same with the Redis store and two replicas',
    measure: async () => (await import('./bench-broker.ts')).measureBroker(),
  },
]

/** Runs of each kind, alternating (bare, action, bare, action...) after one warm-up of each. */
const STARTUP_RUNS = 31
const STARTUP_TARGET = 2.0

// ---------------------------------------------------------------------------------------------

async function measureStartup(): Promise<Row[]> {
  const emulator = await startDeepgramEmulator({ latencyMs: 0 })
  try {
    const inputs = {
      'api-key': DEFAULT_ACCOUNT.apiKey,
      'project-id': DEFAULT_PROJECT.projectId,
      'deepgram-api-url': emulator.url,
      scopes: 'usage:write',
      expiration: '1h',
    }
    const action = async (): Promise<number> => {
      const { run, wallMs } = await runTimedStep('main', { inputs })
      if (run.exitCode !== 0)
        throw new Error(`the main step failed (exit ${run.exitCode}):\n${run.stdout}${run.stderr}`)
      return wallMs
    }
    const bareTimes: number[] = []
    const actionTimes: number[] = []
    await bareNode()
    await action()
    for (let i = 0; i < STARTUP_RUNS; i++) {
      bareTimes.push(await bareNode())
      actionTimes.push(await action())
    }
    const bare = median(bareTimes)
    const main = median(actionTimes)
    const ratio = main / bare
    return [
      {
        label: `bare node -e 0 (${STARTUP_RUNS} runs)`,
        value: `median ${ms(bare)}  (min ${ms(Math.min(...bareTimes))}, max ${ms(Math.max(...bareTimes))})`,
      },
      {
        label: `main step (${STARTUP_RUNS} runs)`,
        value: `median ${ms(main)}  (min ${ms(Math.min(...actionTimes))}, max ${ms(Math.max(...actionTimes))})`,
      },
      {
        label: 'ratio main / bare',
        value: ratio.toFixed(2),
        target: { text: `≤ ${STARTUP_TARGET.toFixed(1)}`, met: ratio <= STARTUP_TARGET },
      },
    ]
  } finally {
    await emulator.close()
  }
}

/** Pairs of main runs (one without latency, one with) per repository count. */
const ROUND_TRIP_PAIRS = 9
const LATENCY_MS = 100
const ROUND_TRIP_TARGETS = [
  { repositories: 1, target: 2.2 },
  { repositories: 20, target: 5 },
]

/**
 * Round trips on the critical path: the median over alternating pairs of runs of (wall time with
 * 100 ms latency on every request - wall time with none) / 100 ms. The latency-free run of each
 * pair takes start-up and CPU out (and the machine's drift, since the two run back to back), so
 * what is counted is only the requests that wait on one another.
 */
async function measureSecretRoundTrips(): Promise<Row[]> {
  const rows: Row[] = []
  for (const { repositories, target } of ROUND_TRIP_TARGETS) {
    const names = Array.from({ length: repositories }, (_, i) => `repo-${i + 1}`)
    const deepgram = await startDeepgramEmulator({})
    const github = await startGitHubEmulator({
      repos: names.map((name, i) => ({ owner: 'octo-org', name, id: 2000 + i })),
    })
    try {
      const inputs = secretWriteInputs(
        deepgram.url,
        github.url,
        names.map((name) => `octo-org/${name}`),
      )
      const timedRun = async (latencyMs: number): Promise<number> => {
        deepgram.setLatency(latencyMs)
        github.setLatency(latencyMs)
        const { run, wallMs } = await runTimedStep('main', { inputs })
        if (run.exitCode !== 0)
          throw new Error(`the main step failed (exit ${run.exitCode}):\n${run.stdout}${run.stderr}`)
        return wallMs
      }
      await timedRun(0)
      const trips: number[] = []
      for (let i = 0; i < ROUND_TRIP_PAIRS; i++) {
        const without = await timedRun(0)
        const withLatency = await timedRun(LATENCY_MS)
        trips.push((withLatency - without) / LATENCY_MS)
      }
      const median_ = median(trips)
      rows.push({
        label: `${repositories} repository secret${repositories > 1 ? 's' : ''}`,
        value: `${median_.toFixed(2)} round trips  (${ROUND_TRIP_PAIRS} pairs, from ${Math.min(...trips).toFixed(2)} to ${Math.max(...trips).toFixed(2)})`,
        target: { text: `≤ ${target}`, met: median_ <= target },
      })
    } finally {
      await Promise.all([deepgram.close(), github.close()])
    }
  }
  return rows
}

/** Wall time of `node -e 0` on this Node, spawned like the runner spawns a step. */
function bareNode(): Promise<number> {
  return new Promise((done, fail) => {
    const started = performance.now()
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...RUN_ENV }
    const child = spawn(process.execPath, ['-e', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.resume()
    child.stderr.resume()
    child.on('error', fail)
    child.on('close', (code) =>
      code === 0 ? done(performance.now() - started) : fail(new Error(`node -e 0 exited with ${code}`)),
    )
  })
}

function measureDistSize(): Row[] {
  const manifest = readManifest()
  const entries = [manifest.runs.main, manifest.runs.post].filter((entry): entry is string => entry !== undefined)
  const rows: Row[] = [
    { label: 'dist/ (every file)', value: bytes(filesUnder('dist').reduce((sum, f) => sum + f.size, 0)) },
  ]
  for (const entry of entries) {
    // The entry's folder holds what ncc emitted for it: index.js, chunk files, licenses.
    const files = filesUnder(dirname(entry))
    const total = files.reduce((sum, f) => sum + f.size, 0)
    const parts = files.map((f) => `${relative(dirname(entry), f.path)} ${bytes(f.size)}`).join(', ')
    rows.push({ label: `${dirname(entry)}/`, value: `${bytes(total)}  (${parts})` })
  }
  return rows
}

function filesUnder(dir: string): { path: string; size: number }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .sort()
    .map((path) => ({ path, size: statSync(path).size }))
}

// ---------------------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2
}

const ms = (value: number): string => `${value.toFixed(1)} ms`
const bytes = (value: number): string => `${value.toLocaleString('en-US')} B`

console.log(
  `deepgram-key-action bench: node ${process.version} (${process.execPath}), ${process.platform} ${process.arch}, ${cpus().length} CPUs`,
)
const verdicts: string[] = []
let broken = false
for (const { title, measure } of MEASUREMENTS) {
  console.log(`\n== ${title}`)
  try {
    for (const row of await measure()) {
      const marker =
        row.target === undefined ? '' : `   target ${row.target.text}   ${row.target.met ? 'PASS' : 'MISS'}`
      console.log(`  ${row.label.padEnd(28)} ${row.value}${marker}`)
      if (row.target !== undefined)
        verdicts.push(
          `${row.target.met ? 'PASS' : 'MISS'}  ${title}: ${row.label} = ${row.value} (target ${row.target.text})`,
        )
    }
  } catch (error) {
    broken = true
    console.log(`  ERROR: could not measure: ${error instanceof Error ? error.message : String(error)}`)
  }
}
console.log('\n== Targets')
for (const verdict of verdicts) console.log(`  ${verdict}`)
if (broken) process.exitCode = 1
