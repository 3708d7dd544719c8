// Two bundled brokers sharing one real redis-server (RATE_LIMIT_STORE): one budget per
// repository however many replicas serve it, nothing of the caller's in the store's keys, and
// a TTL on every key.
import { createHash } from 'node:crypto'
import { metricOf, startFleet, type Fleet } from '../helpers/fleet.ts'

let fleet: Fleet

beforeAll(async () => {
  fleet = await startFleet({ replicas: 2, limits: { 'keys-per-minute': 5, 'deletes-per-minute': 3 } })
  await Promise.all([fleet.readiness(0, 200), fleet.readiness(1, 200)])
})
afterAll(async () => {
  await fleet?.close()
})
beforeEach(async () => {
  await fleet.store.flushAll()
})

test('two replicas admit exactly keys-per-minute keys and tokens between them, under concurrency', async () => {
  const token = await fleet.sign()
  const before = fleet.dg.keys.length
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => fleet.call(i % 2, 'POST', '/v1/keys', token, { expiration: '10m' })),
  )
  const statuses = answers.map((answer) => answer.status).sort()
  expect(statuses).toEqual([200, 200, 200, 200, 200, ...Array<number>(7).fill(429)])
  expect(fleet.dg.keys.length - before).toBe(5)
  for (const refused of answers.filter((answer) => answer.status === 429)) {
    expect(refused.body.error).toBe('rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60)
  }
  // Tokens share the budget, on either replica.
  const grant = await fleet.call(1, 'POST', '/v1/tokens', token, {})
  expect(grant.status).toBe(429)
  // Every check counted once, by the replica that made it: 5 allowed and 8 refused in all.
  const counted = async (name: string, labels: Record<string, string>): Promise<number> =>
    (await Promise.all(fleet.brokers.map((broker) => metricOf(broker, name, labels)))).reduce((a, b) => a + b, 0)
  const decisions = 'broker_rate_limit_decisions_total'
  expect(await counted(decisions, { store: 'redis', budget: 'keys', outcome: 'allowed' })).toBe(5)
  expect(await counted(decisions, { store: 'redis', budget: 'keys', outcome: 'refused' })).toBe(8)
  const durations = 'broker_rate_limit_check_duration_seconds_count'
  expect(
    (await counted(durations, { store: 'redis', outcome: 'allowed' })) +
      (await counted(durations, { store: 'redis', outcome: 'refused' })),
  ).toBe(13)
})

test('deletes-per-minute is shared too, and counted apart from keys', async () => {
  const token = await fleet.sign()
  const statuses: number[] = []
  for (let i = 0; i < 4; i++)
    statuses.push((await fleet.call(i % 2, 'GET', '/v1/keys?invocation=0123456789abcdef', token)).status)
  expect(statuses).toEqual([200, 200, 200, 429])
  expect((await fleet.call(0, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
})

test('the store holds hashed, namespaced keys with a TTL, and nothing of the caller in clear', async () => {
  const claims = { repository: 'octo-org/app', repository_id: '1001', ref: 'refs/heads/main' }
  const token = await fleet.sign(claims)
  expect((await fleet.call(0, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
  expect((await fleet.call(1, 'GET', '/v1/keys?invocation=0123456789abcdef', token)).status).toBe(200)
  const keys = (await fleet.store.keys('*')).sort()
  const hash = createHash('sha256').update(`${fleet.issuer.url} 1001`).digest('hex')
  // The identity hashed is the issuer's and the repository id's, so no other issuer shares it.
  expect(keys).toEqual([`dgkb:rl:v1:deletes:${hash}`, `dgkb:rl:v1:keys:${hash}`])
  const members: string[] = []
  for (const key of keys) {
    const ttl = await fleet.store.pTTL(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
    members.push(...(await fleet.store.zRange(key, 0, -1)))
  }
  // A member is a replica's random tag and a count, nothing else. (Numeric ids are not looked for as
  // substrings: hex digits and counts hold '1001' or '4242' by chance; the exact forms rule them out.)
  expect(members).toHaveLength(2)
  for (const member of members) expect(member).toMatch(/^[0-9a-f]{12}:[0-9a-z]+$/)
  const text = [...keys, ...members].join('\n')
  for (const claim of ['octo-org', 'refs/heads/main', fleet.issuer.url]) expect(text).not.toContain(claim)
})

test('a key that lost its TTL gets it back at the next request', async () => {
  const token = await fleet.sign()
  expect((await fleet.call(0, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
  const [key] = await fleet.store.keys('dgkb:rl:v1:keys:*')
  await fleet.store.persist(key!)
  expect(await fleet.store.pTTL(key!)).toBe(-1)
  expect((await fleet.call(1, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
  expect(await fleet.store.pTTL(key!)).toBeGreaterThan(0)
})
