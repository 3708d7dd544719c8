// `npm run soak -- --minutes N [--store memory|redis] [--rate R]`: the bundled broker (dist/broker)
// under mixed traffic for N minutes, against the Deepgram emulator (20 ms latency) and the local
// issuer, all on 127.0.0.1. Every request comes from a new repository, except the few that hammer
// one until keys-per-minute refuses them. The mix: mints (half of the keys then deleted by their
// caller at once, the other half a job's minute later), listings, temporary tokens, forged tokens, repositories no rule takes, and callers that
// leave while their key is being made. The broker's resident memory and open descriptors are
// sampled every 10 s. At the end: requests, 5xx, p99, memory over time, and the keys left alive
// in the emulator that no caller holds.
import { readdirSync, readFileSync } from 'node:fs'
import { Agent, request, type IncomingMessage } from 'node:http'
import { parseArgs } from 'node:util'
import { startBroker, type RunningBroker } from '../harness/broker.ts'
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer, type Forgery } from '../harness/oidc-issuer.ts'
import { startRedis, type RunningRedis } from '../harness/redis.ts'

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    store: { type: 'string', default: 'memory' },
    rate: { type: 'string', default: '40' },
  },
})
const minutes = Number(args.minutes)
const rate = Number(args.rate)
if (!(minutes > 0 && minutes <= 120) || !(rate > 0 && rate <= 500) || !['memory', 'redis'].includes(args.store)) {
  console.error('usage: npm run soak -- --minutes N (1 to 120) [--store memory|redis] [--rate requests/s, 1 to 500]')
  process.exit(2)
}
/** Bounded in count as in time. */
const MAX_REQUESTS = Math.ceil(minutes * 60 * rate)
const SAMPLE_MS = 10_000
const HOT_REPOSITORY = 'hot'
/** How long a job that keeps its key holds it before its post step deletes it. */
const JOB_MS = 60_000
const FORGERIES: Forgery[] = ['bad-signature', 'alg-none', 'expired', 'wrong-audience', 'unknown-kid']

type Kind = 'mint' | 'list' | 'token' | 'forged' | 'refused' | 'leaver' | 'hot'
/** Out of 20 requests. */
const MIX: Kind[] = [
  ...Array<Kind>(7).fill('mint'),
  ...Array<Kind>(2).fill('list'),
  ...Array<Kind>(3).fill('token'),
  ...Array<Kind>(2).fill('forged'),
  ...Array<Kind>(2).fill('refused'),
  ...Array<Kind>(2).fill('leaver'),
  ...Array<Kind>(2).fill('hot'),
]

const emulator = await startDeepgramEmulator({ latencyMs: 20 })
const issuer = await startOidcIssuer()
let redis: RunningRedis | undefined
let broker: RunningBroker | undefined
const agent = new Agent({ keepAlive: true, maxSockets: 16 })
try {
  if (args.store === 'redis') redis = await startRedis()
  broker = await startBroker({
    policy: {
      'project-id': DEFAULT_PROJECT.projectId,
      audience: DEFAULT_AUDIENCE,
      issuers: [issuer.url],
      'keys-per-minute': 10,
      'deletes-per-minute': 10,
      rules: [
        {
          name: 'soak',
          match: { repository: 'octo-org/*', repository_owner_id: '4321' },
          scopes: ['usage:write'],
          'max-expiration': '2h',
        },
      ],
    },
    adminKey: DEFAULT_ACCOUNT.apiKey,
    deepgramApiUrl: emulator.url,
    env: redis ? { RATE_LIMIT_STORE: redis.url } : {},
  })
  const target = new URL(broker.url)
  console.log(
    `soak: ${minutes} min at up to ${rate} requests/s (at most ${MAX_REQUESTS}), store ${args.store}, broker pid ${broker.pid}, all on 127.0.0.1`,
  )

  const statuses = new Map<string, number>()
  const count = (what: string): void => void statuses.set(what, (statuses.get(what) ?? 0) + 1)
  const latencies: number[] = []
  /** Keys a caller received and did not delete. */
  const held = new Set<string>()
  let fiveHundreds = 0
  let sent = 0
  const samples: { at: number; rssMb: number; fds: number }[] = []
  const started = Date.now()
  const sample = (): void => {
    samples.push({
      at: (Date.now() - started) / 1000,
      rssMb: residentMb(broker?.pid ?? -1),
      fds: descriptors(broker?.pid ?? -1),
    })
  }
  sample()
  const sampler = setInterval(sample, SAMPLE_MS)

  const call = (
    method: string,
    path: string,
    token: string,
    body: string | undefined,
    leaveAfterMs?: number,
  ): Promise<{ status: number; body: Record<string, unknown> } | undefined> =>
    new Promise((done) => {
      const begun = performance.now()
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          method,
          path,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          },
        },
        (res: IncomingMessage) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => {
            latencies.push(performance.now() - begun)
            const status = res.statusCode ?? 0
            if (status >= 500) fiveHundreds++
            count(`${method} ${(path.split('?')[0] ?? '').replace(/[0-9a-f-]{36}$/, '{key_id}')} ${status}`)
            done({ status, body: JSON.parse(text) as Record<string, unknown> })
          })
          res.on('error', () => done(undefined))
        },
      )
      req.on('error', () => done(undefined))
      if (leaveAfterMs !== undefined)
        setTimeout(() => {
          count('left mid-request')
          req.destroy()
          done(undefined)
        }, leaveAfterMs)
      req.end(body)
    })

  const claimsOf = (n: number, owner = 'octo-org', ownerId = '4321') => ({
    repository: `${owner}/repo-${n}`,
    repository_id: String(100_000 + n),
    repository_owner: owner,
    repository_owner_id: ownerId,
  })
  const mintBody = JSON.stringify({ expiration: '1h' })

  const release = async (keyId: string, token: string): Promise<void> => {
    const deleted = await call('DELETE', `/v1/keys/${keyId}`, token, undefined)
    if (deleted?.status === 200) held.delete(keyId)
  }
  // The other half are held for a job's length and then deleted, as a job's post step does: the
  // project's keys stay as many as real use keeps alive, not every key of the whole soak.
  const jobEndings = new Set<NodeJS.Timeout>()
  const endJobLater = (keyId: string, token: string): void => {
    const ending = setTimeout(() => {
      jobEndings.delete(ending)
      void release(keyId, token)
    }, JOB_MS)
    jobEndings.add(ending)
  }

  const one = async (n: number): Promise<void> => {
    const kind = MIX[n % MIX.length] as Kind
    switch (kind) {
      case 'mint': {
        const token = await issuer.sign(claimsOf(n))
        const answer = await call('POST', '/v1/keys', token, mintBody)
        const keyId = answer?.status === 200 ? String(answer.body.key_id) : undefined
        if (keyId === undefined) return
        held.add(keyId)
        if (n % 2 === 0) await release(keyId, token)
        else endJobLater(keyId, token)
        return
      }
      case 'list':
        await call(
          'GET',
          `/v1/keys?invocation=${n.toString(16).padStart(16, '0')}`,
          await issuer.sign(claimsOf(n)),
          undefined,
        )
        return
      case 'token':
        await call('POST', '/v1/tokens', await issuer.sign(claimsOf(n)), '{}')
        return
      case 'forged':
        await call(
          'POST',
          '/v1/keys',
          await issuer.forge(FORGERIES[n % FORGERIES.length] as Forgery, claimsOf(n)),
          mintBody,
        )
        return
      case 'refused':
        await call('POST', '/v1/keys', await issuer.sign(claimsOf(n, 'other-org', '999')), mintBody)
        return
      case 'leaver':
        // The emulator answers a create after 20 ms: the caller leaves while the key is being made.
        await call('POST', '/v1/keys', await issuer.sign(claimsOf(n)), mintBody, 8)
        return
      case 'hot': {
        const token = await issuer.sign({ ...claimsOf(0), repository: `octo-org/${HOT_REPOSITORY}` })
        const answer = await call('POST', '/v1/keys', token, mintBody)
        if (answer?.status === 200) held.add(String(answer.body.key_id))
        return
      }
    }
  }

  // Open loop at `rate` a second, at most 64 requests in flight, until the time or the count is up.
  const deadline = started + minutes * 60_000
  const inFlight = new Set<Promise<void>>()
  while (Date.now() < deadline && sent < MAX_REQUESTS) {
    const due = started + (sent * 1000) / rate
    const wait = due - Date.now()
    if (wait > 0) await new Promise((done) => setTimeout(done, wait))
    if (inFlight.size >= 64) await Promise.race(inFlight)
    const work = one(sent++).catch((error: unknown) => count(`client error ${String(error).slice(0, 60)}`))
    inFlight.add(work)
    void work.finally(() => inFlight.delete(work))
  }
  await Promise.all(inFlight)
  // Jobs still running when the soak ends keep their keys: they are counted as held.
  for (const ending of jobEndings) clearTimeout(ending)
  // Let the broker finish deleting the keys of callers who left (each within its deadline).
  await new Promise((done) => setTimeout(done, 2_000))
  sample()
  clearInterval(sampler)

  const audit = broker.auditLines()
  const granted = new Set(audit.filter((line) => line.outcome === 'granted').map((line) => String(line.key_id)))
  const orphans = emulator.liveKeys().filter((key) => !held.has(key.apiKeyId))
  const deliveredToLeaver = orphans.filter((key) => granted.has(key.apiKeyId))
  const sorted = [...latencies].sort((a, b) => a - b)
  const p = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)] ?? NaN
  const half = samples.filter((s) => s.at >= (samples.at(-1)?.at ?? 0) / 2)
  const growth = half.length >= 2 ? ((half.at(-1)?.rssMb ?? 0) / (half[0]?.rssMb ?? 1) - 1) * 100 : NaN

  console.log(
    `\nrequests sent: ${sent} in ${((Date.now() - started) / 1000).toFixed(0)} s; answered: ${latencies.length}; 5xx: ${fiveHundreds}`,
  )
  console.log(
    `latency (answered requests): p50 ${p(50).toFixed(1)} ms, p99 ${p(99).toFixed(1)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms`,
  )
  console.log('answers:')
  for (const [what, count] of [...statuses].sort()) console.log(`  ${what.padEnd(36)} ${count}`)
  console.log('audit outcomes:')
  const outcomes = new Map<string, number>()
  for (const line of audit) outcomes.set(String(line.outcome), (outcomes.get(String(line.outcome)) ?? 0) + 1)
  for (const [outcome, count] of [...outcomes].sort()) console.log(`  ${outcome.padEnd(36)} ${count}`)
  console.log('broker resident memory and open descriptors:')
  for (const s of samples)
    console.log(
      `  ${s.at.toFixed(0).padStart(5)} s  ${s.rssMb.toFixed(1).padStart(6)} MB  ${String(s.fds).padStart(4)} fds`,
    )
  console.log(`resident memory over the second half: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} % (target < 10 %)`)
  console.log(
    `keys alive in the emulator that no caller holds: ${orphans.length}` +
      (orphans.length === 0
        ? ''
        : ` (${deliveredToLeaver.length} of them written whole to a caller's socket just as it left, audited granted: TCP cannot tell; ${orphans.length - deliveredToLeaver.length} otherwise)`),
  )
  console.log(
    `keys alive that callers hold: ${emulator.liveKeys().length - orphans.length}; broker stderr lines: ${broker.stderr().split('\n').filter(Boolean).length}`,
  )
  if (fiveHundreds > 0 || orphans.length - deliveredToLeaver.length > 0) process.exitCode = 1
} finally {
  agent.destroy()
  await broker?.stop()
  await Promise.all([issuer.close(), emulator.close(), redis?.close()])
}

/** VmRSS of a process, in MB (Linux /proc); NaN elsewhere. */
function residentMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return Number(match?.[1]) / 1024
  } catch {
    return NaN
  }
}

/** Open file descriptors of a process (Linux /proc); -1 elsewhere. */
function descriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return -1
  }
}
