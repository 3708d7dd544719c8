// `npm run demo:fleet`: two brokers sharing one Redis, on this machine, no account and no
// network. Starts a redis-server (Debian's or Homebrew's, from PATH), the Deepgram emulator, a
// local OIDC issuer, and two copies of the committed broker (node dist/broker/index.js) with
// examples/broker/policy.yml and RATE_LIMIT_STORE pointing at the Redis; then one repository
// mints through both, in turn, until the shared limit answers 429.
import { readFileSync } from 'node:fs'
import { createClient } from '@redis/client'
import { parse, stringify } from 'yaml'
import { startBroker, type BrokerExit, type RunningBroker } from '../harness/broker.ts'
import { DEFAULT_ACCOUNT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { startOidcIssuer, type OidcIssuer } from '../harness/oidc-issuer.ts'
import { REDIS_MISSING, redisServerPath, startRedis, type RunningRedis } from '../harness/redis.ts'
import { indent, section } from './transcript.ts'

/** Lower than the example's 30, for a short transcript. */
const KEYS_PER_MINUTE = 6

try {
  redisServerPath()
} catch {
  console.error(`demo:fleet needs a Redis on this machine. ${REDIS_MISSING}`)
  process.exit(1)
}

const problems: string[] = []
const check = (ok: boolean, problem: string): void => {
  if (!ok) problems.push(problem)
}

const emulator = await startDeepgramEmulator({})
let issuer: OidcIssuer | undefined
let redis: RunningRedis | undefined
let brokers: RunningBroker[] = []
const exits: BrokerExit[] = []
const tokens: string[] = []
try {
  issuer = await startOidcIssuer()
  redis = await startRedis()
  const example = parse(readFileSync('examples/broker/policy.yml', 'utf8')) as Record<string, unknown>
  const policy = stringify({ ...example, issuers: [issuer.url], 'keys-per-minute': KEYS_PER_MINUTE })
  brokers = await Promise.all(
    ['A', 'B'].map(() =>
      startBroker({
        adminKey: DEFAULT_ACCOUNT.apiKey,
        policy,
        deepgramApiUrl: emulator.url,
        env: { RATE_LIMIT_STORE: redis?.url ?? '', METRICS_PORT: '0' },
      }),
    ),
  )
  const [a, b] = brokers as [RunningBroker, RunningBroker]
  for (const broker of brokers) await untilReady(broker)
  console.log(`redis-server       ${redis.url}  (persistence off; the brokers' one shared count)`)
  console.log(`Deepgram emulator  ${emulator.url}`)
  console.log(`OIDC issuer        ${issuer.url}  (stands in for GitHub's)`)
  console.log(`broker A           ${a.url}  RATE_LIMIT_STORE=${redis.url}`)
  console.log(`broker B           ${b.url}  RATE_LIMIT_STORE=${redis.url}`)
  console.log(
    `policy             examples/broker/policy.yml with keys-per-minute: ${KEYS_PER_MINUTE} (30 in the file), per repository across both`,
  )

  section('octo-org/app mints through A and B in turn')
  const token = await issuer.sign()
  tokens.push(token)
  let refused: { status: number; retryAfter: string | null; body: Record<string, unknown> } | undefined
  let granted = 0
  for (let i = 0; i < 2 * KEYS_PER_MINUTE && refused === undefined; i++) {
    const [name, broker] = i % 2 === 0 ? ['A', a] : ['B', b]
    const response = await fetch(`${broker.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ expiration: '10m' }),
    })
    const body = (await response.json()) as Record<string, unknown>
    if (response.status === 200) {
      granted++
      console.log(`  ${String(i + 1).padStart(2)}. broker ${name}  200  key ${String(body.key_id)}`)
    } else {
      refused = { status: response.status, retryAfter: response.headers.get('retry-after'), body }
      console.log(`  ${String(i + 1).padStart(2)}. broker ${name}  ${response.status}  ${String(body.error)}`)
      console.log(indent(`      ${String(body.message)} (Retry-After: ${refused.retryAfter ?? 'none'})`))
    }
  }
  check(granted === KEYS_PER_MINUTE, `${granted} keys granted, not ${KEYS_PER_MINUTE}`)
  check(refused?.status === 429, `the request after the limit was answered ${refused?.status ?? 'never'}, not 429`)
  check(emulator.liveKeys().length === KEYS_PER_MINUTE, `the emulator holds ${emulator.liveKeys().length} keys`)

  section('what the Redis holds: hashed keys, each with its TTL')
  const client = createClient({ url: redis.url, RESP: 2 })
  client.on('error', () => undefined)
  await client.connect()
  for (const key of (await client.keys('*')).sort())
    console.log(`  ${key}  ${await client.zCard(key)} entries, TTL ${await client.pTTL(key)} ms`)
  client.destroy()

  section("each broker's decisions (its metrics)")
  for (const [name, broker] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const metrics = await (await fetch(broker.metricsUrl ?? '')).text()
    for (const line of metrics.split('\n').filter((l) => l.startsWith('broker_rate_limit_decisions_total{')))
      console.log(`  ${name}  ${line}`)
  }
} catch (error) {
  problems.push(`the demo crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
} finally {
  exits.push(...(await Promise.all(brokers.map((broker) => broker.stop()))))
  await Promise.all([issuer?.close(), emulator.close(), redis?.close()])
}

section("the brokers' audit logs (one JSON line per request)")
exits.forEach((exit, i) => {
  console.log(`  broker ${i === 0 ? 'A' : 'B'}:`)
  console.log(indent(indent(`${exit.stdout}${exit.stderr}`)))
})
const secrets = [DEFAULT_ACCOUNT.apiKey, ...tokens, ...emulator.keys.map((key) => key.key)]
for (const exit of exits)
  for (const secret of secrets)
    check(!`${exit.stdout}${exit.stderr}`.includes(secret), `a broker logged a secret (${secret.slice(0, 4)}…)`)

section(
  problems.length === 0
    ? `OK: two brokers, one budget: ${KEYS_PER_MINUTE} keys a minute for the repository, then 429 from either`
    : 'FAILED',
)
for (const problem of problems) console.error(`  - ${problem}`)
if (problems.length > 0) process.exitCode = 1

/** Waits (up to 15 s) until the broker's /readyz answers 200: its store and issuer answered. */
async function untilReady(broker: RunningBroker): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 15_000; await new Promise((done) => setTimeout(done, 50)))
    if ((await fetch(`${broker.url}/readyz`)).status === 200) return
  throw new Error(`broker ${broker.url} was not ready within 15 s:\n${broker.stderr()}`)
}
