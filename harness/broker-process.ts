// Runs the committed broker bundle (node dist/broker/index.js) as its own process, as an operator
// would: configured by environment variables, ready once it logs `listening on http://HOST:PORT`.
// Its stdout (the audit log) and stderr are kept for the leak scans.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export interface BrokerProcessOptions {
  adminKey: string
  /** The policy, as YAML text; written to a temporary file for BROKER_POLICY. */
  policy: string
  deepgramApiUrl: string
  host?: string
}

export interface BrokerProcess {
  /** `http://HOST:PORT`, as the broker logged it. */
  url: string
  /** Everything the broker wrote so far. */
  output(): { stdout: string; stderr: string }
  close(): Promise<void>
}

/** How long a broker may take to start before the harness gives up on it. */
const START_TIMEOUT_MS = 15_000

export async function startBrokerProcess(options: BrokerProcessOptions): Promise<BrokerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'dg-broker-'))
  const policyPath = join(dir, 'policy.yml')
  writeFileSync(policyPath, options.policy)
  const child = spawn(process.execPath, [resolve('dist/broker/index.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      DEEPGRAM_ADMIN_KEY: options.adminKey,
      BROKER_POLICY: policyPath,
      PORT: '0',
      HOST: options.host ?? '127.0.0.1',
      DEEPGRAM_API_URL: options.deepgramApiUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`the broker did not start within ${START_TIMEOUT_MS} ms:\n${stdout}\n${stderr}`)), START_TIMEOUT_MS)
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        const listening = /listening on (http:\/\/\S+)/.exec(stdout)
        if (listening?.[1]) {
          clearTimeout(timer)
          done(listening[1].replace(/\/+$/, ''))
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        fail(new Error(`the broker exited with ${code}:\n${stdout}\n${stderr}`))
      })
    })
    return { url, output: () => ({ stdout, stderr }), close: stop }
  } catch (error) {
    await stop()
    throw error
  }
}
