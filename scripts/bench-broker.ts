// The broker's figures for `npm run bench`: latency and throughput of POST /v1/keys with 50
// concurrent clients, against the Deepgram emulator at zero latency, the issuer's keys cached.
// "Broker time" is what the broker itself reports in each audit line (arrival to answer), so the
// clients' own work in this process is not counted against it.
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { Agent, request } from 'undici'
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { startOidcIssuer } from '../harness/oidc-issuer.ts'
import { startBroker } from '../harness/broker.ts'

export interface BrokerBenchRow {
  label: string
  value: string
  target?: { text: string; met: boolean }
}

const CLIENTS = 50
const WARM_UP = 200
const REQUESTS = 2000
/** Distinct tokens the clients take turns with: signing is the issuer's work, not the broker's. */
const TOKENS = 50
const P99_TARGET_MS = 20

export async function measureBroker(): Promise<BrokerBenchRow[]> {
  const deepgram = await startDeepgramEmulator({ latencyMs: 0 })
  const issuer = await startOidcIssuer()
  const policy = {
    'project-id': DEFAULT_PROJECT.projectId,
    audience: 'https://deepgram-broker.example.com',
    issuers: [issuer.url],
    'keys-per-minute': 100_000,
    rules: [{ name: 'bench', match: { repository_id: '1001' }, scopes: ['usage:write'], 'max-expiration': '1h' }],
  }
  const broker = await startBroker({ policy, adminKey: DEFAULT_ACCOUNT.apiKey, deepgramApiUrl: deepgram.url })
  const agent = new Agent({ connections: CLIENTS })
  try {
    const tokens = await Promise.all(Array.from({ length: TOKENS }, () => issuer.sign()))
    const post = async (i: number): Promise<number> => {
      const started = performance.now()
      const response = await request(`${broker.url}/v1/keys`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${tokens[i % TOKENS]}`, 'content-type': 'application/json' },
        body: '{"expiration":"10m"}',
      })
      await response.body.text()
      if (response.statusCode !== 200) throw new Error(`POST /v1/keys answered ${response.statusCode}`)
      return performance.now() - started
    }
    const run = async (count: number): Promise<{ client: number[]; wallMs: number }> => {
      let next = 0
      const client: number[] = []
      const started = performance.now()
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < count) client.push(await post(next++))
        }),
      )
      return { client, wallMs: performance.now() - started }
    }
    await run(WARM_UP)
    const auditedBefore = broker.auditLines().length
    const cpuBefore = cpuSeconds(broker.pid)
    const { client, wallMs } = await run(REQUESTS)
    const cpuPerKey = ((cpuSeconds(broker.pid) - cpuBefore) / REQUESTS) * 1000
    const brokerTimes = (await broker.waitForAuditLines(auditedBefore + REQUESTS))
      .slice(auditedBefore)
      .map((line) => Number(line.duration_ms))
    const p99 = percentile(brokerTimes, 99)
    return [
      { label: `broker time (${brokerTimes.length})`, value: `p50 ${ms(percentile(brokerTimes, 50))}, p99 ${ms(p99)}`, target: { text: `p99 < ${P99_TARGET_MS} ms`, met: p99 < P99_TARGET_MS } },
      { label: `client latency (${client.length})`, value: `p50 ${ms(percentile(client, 50))}, p99 ${ms(percentile(client, 99))}` },
      { label: `throughput (${CLIENTS} clients)`, value: `${((REQUESTS / wallMs) * 1000).toFixed(0)} keys/s` },
      { label: 'broker CPU per key', value: Number.isNaN(cpuPerKey) ? 'unknown (no /proc)' : `${cpuPerKey.toFixed(2)} ms  (load average ${loadavg()[0]?.toFixed(1)} on this machine)` },
    ]
  } finally {
    await agent.close()
    await broker.stop()
    await Promise.all([deepgram.close(), issuer.close()])
  }
}

/** User and system CPU time of a process from /proc (Linux), in seconds; NaN elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; in ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

const ms = (value: number): string => `${value.toFixed(1)} ms`
