// Runs the bundled broker (dist/broker/index.js) as its own process, as a platform would: the
// policy in a file, the settings in the environment. For tests, the demo and the bench.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'

export interface BrokerOptions {
  /** The policy: YAML text, or an object written out as YAML. */
  policy: string | Record<string, unknown>
  adminKey: string
  deepgramApiUrl: string
  /** More environment, or overrides (PORT, HOST, a missing DEEPGRAM_ADMIN_KEY as ''). */
  env?: Record<string, string>
}

export interface BrokerExit {
  code: number
  stdout: string
  stderr: string
}

export interface RunningBroker {
  /** http://127.0.0.1:PORT, from the broker's own `listening on` line. */
  url: string
  /** http://HOST:PORT/metrics from its `metrics on` line, when the environment sets METRICS_PORT. */
  metricsUrl: string | undefined
  pid: number
  stdout(): string
  stderr(): string
  /** One parsed object per JSON line of stdout: the audit log. */
  auditLines(): Record<string, unknown>[]
  /** Waits (up to 15 s, for a busy machine) until the audit log has `count` lines: each is written just after its answer. */
  waitForAuditLines(count: number): Promise<Record<string, unknown>[]>
  /** SIGTERM, then what it wrote in all. */
  stop(): Promise<BrokerExit>
}

const ENTRY = 'dist/broker/index.js'

function spawnBroker(options: BrokerOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'dg-broker-'))
  const policyPath = join(dir, 'policy.yml')
  writeFileSync(policyPath, typeof options.policy === 'string' ? options.policy : stringify(options.policy))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    DEEPGRAM_ADMIN_KEY: options.adminKey,
    BROKER_POLICY: policyPath,
    DEEPGRAM_API_URL: options.deepgramApiUrl,
    HOST: '127.0.0.1',
    PORT: '0',
    ...options.env,
  }
  for (const [name, value] of Object.entries(env)) if (value === '') delete env[name]
  const child = spawn(process.execPath, [resolve(ENTRY)], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const output = { stdout: '', stderr: '' }
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()))
  const exited = new Promise<BrokerExit>((done) => {
    child.on('close', (code) => {
      rmSync(dir, { recursive: true, force: true })
      done({ code: code ?? -1, ...output })
    })
  })
  return { child, output, exited }
}

/** Starts the broker and waits until it listens; rejects with its output if it exits first. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { child, output, exited } = spawnBroker(options)
  const withMetrics = Boolean(options.env?.METRICS_PORT)
  const [url, metricsUrl] = await new Promise<[string, string | undefined]>((done, fail) => {
    const look = (): void => {
      const match = /^listening on (http:\/\/\S+)$/m.exec(output.stdout)
      const metrics = /^metrics on (http:\/\/\S+)$/m.exec(output.stdout)
      if (match?.[1] && (!withMetrics || metrics?.[1])) {
        // Done with the start: scanning the whole output again for every audit line would cost
        // this process (and the emulators it hosts) time quadratic in the number of requests.
        child.stdout.off('data', look)
        done([match[1], metrics?.[1]])
      }
    }
    child.stdout.on('data', look)
    void exited.then((exit) =>
      fail(new Error(`the broker exited with ${exit.code} before listening:\n${exit.stdout}${exit.stderr}`)),
    )
  })
  const auditLines = (): Record<string, unknown>[] =>
    output.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  return {
    url,
    metricsUrl,
    pid: child.pid ?? -1,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    auditLines,
    waitForAuditLines: async (count) => {
      for (let waited = 0; auditLines().length < count && waited < 15_000; waited += 10)
        await new Promise((done) => setTimeout(done, 10))
      return auditLines()
    },
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}

/** Runs a broker expected to refuse its settings: what it wrote and its exit code (killed after 10 s). */
export async function runBrokerToExit(options: BrokerOptions): Promise<BrokerExit> {
  const { child, exited } = spawnBroker(options)
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const exit = await exited
  clearTimeout(timer)
  return exit
}
