// The broker's figures for `npm run bench`, against the Deepgram emulator at zero latency and the
// local issuer, both on this machine:
// - CPU per key of the broker against a floor measured in the same run: scripts/bench-floor-server.ts,
//   which only verifies the token with jose and sends one create to the same emulator. Both serve
//   the same closed-loop load (8 clients), in alternating rounds; CPU is read from /proc.
// - The broker's latency at a fixed arrival rate of 100 keys a second, open loop: requests leave
//   on a schedule whether or not the earlier ones were answered, and each latency counts from the
//   moment its request was due, so a stall shows up in every request it delays.
// The broker runs as in production, metrics on (METRICS_PORT) and audit lines written.
// - The same with the shared rate-limit store (RATE_LIMIT_STORE=redis://, a redis-server on this
//   machine): CPU per key of one broker against the same floor, and the latency at 100 keys/s
//   sent to two replicas in turn that share the store.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer } from '../harness/oidc-issuer.ts'
import { startBroker, type RunningBroker } from '../harness/broker.ts'
import { startRedis } from '../harness/redis.ts'

export interface BrokerBenchRow {
  label: string
  value: string
  target?: { text: string; met: boolean }
}

/** Distinct tokens the clients take turns with: signing is the issuer's work, not the servers'. */
const TOKENS = 50
const CPU_CLIENTS = 8
const CPU_ROUNDS = 5
const CPU_KEYS = 1000
const WARM_UP = 1000
const RATE = 100
const OPEN_LOOP_KEYS = 1500
const RATIO_TARGET = 1.5
const REDIS_RATIO_TARGET = 1.6
const P99_TARGET_MS = 20

interface Target {
  url: string
  pid: number
}

export async function measureBroker(): Promise<BrokerBenchRow[]> {
  const deepgram = await startDeepgramEmulator({ latencyMs: 0 })
  const issuer = await startOidcIssuer()
  const policy = {
    'project-id': DEFAULT_PROJECT.projectId,
    audience: DEFAULT_AUDIENCE,
    issuers: [issuer.url],
    'keys-per-minute': 100_000,
    rules: [{ name: 'bench', match: { repository_id: '1001' }, scopes: ['usage:write'], 'max-expiration': '1h' }],
  }
  const broker = await startBroker({
    policy,
    adminKey: DEFAULT_ACCOUNT.apiKey,
    deepgramApiUrl: deepgram.url,
    env: { METRICS_PORT: '0' },
  })
  const redis = await startRedis()
  const replicas = await Promise.all(
    [0, 1].map(() =>
      startBroker({
        policy,
        adminKey: DEFAULT_ACCOUNT.apiKey,
        deepgramApiUrl: deepgram.url,
        env: { METRICS_PORT: '0', RATE_LIMIT_STORE: redis.url },
      }),
    ),
  )
  const floor = await startFloor({
    FLOOR_ISSUER: issuer.url,
    FLOOR_AUDIENCE: DEFAULT_AUDIENCE,
    FLOOR_PROJECT_ID: DEFAULT_PROJECT.projectId,
    DEEPGRAM_API_URL: deepgram.url,
    DEEPGRAM_ADMIN_KEY: DEFAULT_ACCOUNT.apiKey,
  })
  const agent = new Agent({ connections: 64 })
  try {
    const tokens = await Promise.all(Array.from({ length: TOKENS }, () => issuer.sign()))
    const post = async (target: Target, i: number): Promise<void> => {
      const response = await request(`${target.url}/v1/keys`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${tokens[i % TOKENS]}`, 'content-type': 'application/json' },
        body: '{"expiration":"10m"}',
      })
      await response.body.text()
      if (response.statusCode !== 200) throw new Error(`POST /v1/keys answered ${response.statusCode}`)
    }
    const closedLoop = async (target: Target, count: number): Promise<void> => {
      let next = 0
      await Promise.all(
        Array.from({ length: CPU_CLIENTS }, async () => {
          while (next < count) await post(target, next++)
        }),
      )
    }
    const cpuPerKeyMs = async (target: Target): Promise<number> => {
      const before = cpuSeconds(target.pid)
      await closedLoop(target, CPU_KEYS)
      return ((cpuSeconds(target.pid) - before) / CPU_KEYS) * 1000
    }
    const [first, second] = replicas as [RunningBroker, RunningBroker]
    const servers = {
      broker: { url: broker.url, pid: broker.pid },
      floor: { url: floor.url, pid: floor.pid },
      redisBroker: { url: first.url, pid: first.pid },
      second: { url: second.url, pid: second.pid },
    }
    await untilReady([first, second])
    await closedLoop(servers.broker, WARM_UP)
    await closedLoop(servers.floor, WARM_UP)
    await closedLoop(servers.redisBroker, WARM_UP)
    await closedLoop(servers.second, WARM_UP / 4)
    const brokerCpu: number[] = []
    const floorCpu: number[] = []
    const redisBrokerCpu: number[] = []
    const redisServerCpu: number[] = []
    for (let round = 0; round < CPU_ROUNDS; round++) {
      brokerCpu.push(await cpuPerKeyMs(servers.broker))
      floorCpu.push(await cpuPerKeyMs(servers.floor))
      const redisBefore = cpuSeconds(redis.pid())
      redisBrokerCpu.push(await cpuPerKeyMs(servers.redisBroker))
      redisServerCpu.push(((cpuSeconds(redis.pid()) - redisBefore) / CPU_KEYS) * 1000)
    }
    const ratio = median(brokerCpu) / median(floorCpu)
    const redisRatio = median(redisBrokerCpu) / median(floorCpu)

    const audited = broker.auditLines().length
    const brokerLatency = await openLoop((i) => post(servers.broker, i))
    const brokerOwn = (await broker.waitForAuditLines(audited + OPEN_LOOP_KEYS))
      .slice(audited)
      .map((line) => Number(line.duration_ms))
    const floorLatency = await openLoop((i) => post(servers.floor, i))
    const fleetLatency = await openLoop((i) => post(i % 2 === 0 ? servers.redisBroker : servers.second, i))
    const fleetP99 = percentile(fleetLatency, 99)
    const p99 = percentile(brokerLatency, 99)
    const cpu = (values: number[]): string =>
      `${ms(median(values), 3)} (median of ${CPU_ROUNDS} rounds of ${CPU_KEYS} keys, ${CPU_CLIENTS} clients; ${values.map((v) => v.toFixed(3)).join(', ')})`
    return [
      { label: 'broker CPU per key', value: cpu(brokerCpu) },
      { label: 'floor CPU per key', value: cpu(floorCpu) },
      {
        label: 'ratio broker / floor',
        value: ratio.toFixed(2),
        target: { text: `≤ ${RATIO_TARGET}`, met: ratio <= RATIO_TARGET },
      },
      {
        label: `broker at ${RATE} keys/s`,
        value: `p50 ${ms(percentile(brokerLatency, 50))}, p99 ${ms(p99)}, max ${ms(Math.max(...brokerLatency))} (${OPEN_LOOP_KEYS} keys, open loop; broker's own p99 ${ms(percentile(brokerOwn, 99))})`,
        target: { text: `p99 < ${P99_TARGET_MS} ms`, met: p99 < P99_TARGET_MS },
      },
      {
        label: `floor at ${RATE} keys/s`,
        value: `p50 ${ms(percentile(floorLatency, 50))}, p99 ${ms(percentile(floorLatency, 99))}, max ${ms(Math.max(...floorLatency))}`,
      },
      { label: 'broker CPU per key, Redis store', value: cpu(redisBrokerCpu) },
      {
        label: 'ratio broker (Redis store) / floor',
        value: `${redisRatio.toFixed(2)} (redis-server's own CPU per key: ${ms(median(redisServerCpu), 3)}, not counted)`,
        target: { text: `≤ ${REDIS_RATIO_TARGET}`, met: redisRatio <= REDIS_RATIO_TARGET },
      },
      {
        label: `2 replicas sharing Redis at ${RATE} keys/s`,
        value: `p50 ${ms(percentile(fleetLatency, 50))}, p99 ${ms(fleetP99)}, max ${ms(Math.max(...fleetLatency))} (${OPEN_LOOP_KEYS} keys, sent to each in turn, open loop)`,
        target: { text: `p99 < ${P99_TARGET_MS} ms`, met: fleetP99 < P99_TARGET_MS },
      },
    ]
  } finally {
    await agent.close()
    floor.process.kill('SIGTERM')
    await Promise.all([broker.stop(), ...replicas.map((replica) => replica.stop())])
    await Promise.all([deepgram.close(), issuer.close(), redis.close()])
  }
}

/** Waits until every broker's /readyz answers 200 (its store answered), up to 15 s. */
async function untilReady(brokers: RunningBroker[]): Promise<void> {
  for (const broker of brokers) {
    const started = Date.now()
    while ((await fetch(`${broker.url}/readyz`)).status !== 200) {
      if (Date.now() - started > 15_000) throw new Error(`broker ${broker.url} was not ready within 15 s`)
      await sleep(50)
    }
  }
}

/** Sends `OPEN_LOOP_KEYS` requests at `RATE` a second on a fixed schedule; each latency runs from when its request was due. */
async function openLoop(send: (i: number) => Promise<void>): Promise<number[]> {
  const start = performance.now() + 20
  const latencies: Promise<number>[] = []
  for (let i = 0; i < OPEN_LOOP_KEYS; i++) {
    const due = start + (i * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    latencies.push(send(i).then(() => performance.now() - due))
  }
  return Promise.all(latencies)
}

/** Starts the floor server and waits until it listens. */
async function startFloor(env: Record<string, string>): Promise<{ url: string; pid: number; process: ChildProcess }> {
  const child = spawn(process.execPath, [resolve('scripts/bench-floor-server.ts')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const url = await new Promise<string>((done, fail) => {
    const look = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /^listening on (\S+)$/m.exec(output)
      if (match?.[1]) {
        child.stdout.off('data', look)
        child.stdout.resume()
        done(match[1])
      }
    }
    child.stdout.on('data', look)
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => fail(new Error(`the floor server exited with ${code}:\n${output}`)))
  })
  return { url, pid: child.pid ?? -1, process: child }
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

const ms = (value: number, digits = 1): string => `${value.toFixed(digits)} ms`
