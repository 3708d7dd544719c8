// The shared store stopped, frozen (SIGSTOP) and started again under two bundled brokers: every
// answer comes within the check's deadline, fail closed refuses with 503 and /readyz says not
// ready, fail open admits uncounted and says so, and both recover without a restart. These wait
// out reconnections and probes in real time.
import { auditLineWhere } from '../helpers/broker.ts'
import { metricOf, startFleet, type Fleet } from '../helpers/fleet.ts'

jest.setTimeout(90_000)

let fleet: Fleet | undefined
afterEach(async () => {
  await fleet?.close()
  fleet = undefined
})

/** A request's answer and how long it took, in ms. */
async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const result = await work()
  return [result, performance.now() - started]
}

/** Generous for a busy machine, yet far below any hang: the check's deadline is 250 ms. */
const BOUNDED_MS = 2_000

test('fail closed: the store stopped means 503 rate_limit_unavailable, nothing minted, not ready; back without a restart', async () => {
  fleet = await startFleet({ replicas: 2 })
  const f = fleet
  await Promise.all([f.readiness(0, 200), f.readiness(1, 200)])
  const token = await f.sign()
  expect((await f.call(0, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
  const minted = f.dg.keys.length

  await f.redis.stop()
  for (const index of [0, 1]) {
    const [answer, ms] = await timed(() => f.call(index, 'POST', '/v1/keys', token, { expiration: '10m' }))
    expect(answer.status).toBe(503)
    expect(answer.body.error).toBe('rate_limit_unavailable')
    expect(answer.body.message).toMatch(/cannot reach its rate-limit store.*nothing was done/)
    expect(answer.headers.get('retry-after')).toBe('2')
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/)
    expect(ms).toBeLessThan(BOUNDED_MS)
  }
  const grant = await f.call(1, 'POST', '/v1/tokens', token, {})
  expect(grant.status).toBe(503)
  const deletion = await f.call(0, 'DELETE', '/v1/keys?invocation=0123456789abcdef', token)
  expect(deletion.status).toBe(503)
  expect(f.dg.keys.length).toBe(minted)
  const notReady = await f.readiness(0, 503)
  expect(notReady.body.message).toMatch(/^The rate-limit store redis:\/\/127\.0\.0\.1:\d+ does not answer/)
  expect((await fetch(`${f.brokers[0]!.url}/healthz`)).status).toBe(200)
  const audit = await auditLineWhere(f.brokers[0]!, (line) => line.error === 'rate_limit_unavailable')
  expect(audit).toMatchObject({ outcome: 'failed', status: 503 })
  expect(
    await metricOf(f.brokers[0]!, 'broker_rate_limit_decisions_total', {
      store: 'redis',
      budget: 'keys',
      outcome: 'error',
    }),
  ).toBeGreaterThanOrEqual(1)
  expect(await metricOf(f.brokers[0]!, 'broker_rate_limit_store_up', { store: 'redis' })).toBe(0)

  // Started again (empty: no persistence, no script cached): both replicas come back by themselves.
  await f.redis.start()
  await Promise.all([f.readiness(0, 200), f.readiness(1, 200)])
  expect((await f.call(1, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
  expect(f.brokers[0]!.stderr()).toMatch(
    /rate-limit store redis:\/\/127\.0\.0\.1:\d+ does not answer \(.+\): requests that mint/,
  )
  expect(f.brokers[0]!.stderr()).toMatch(/rate-limit store redis:\/\/127\.0\.0\.1:\d+ answers\n/)
})

test('fail closed: a frozen store (SIGSTOP) answers nothing, yet every request ends within the deadline; thawed, it serves again', async () => {
  fleet = await startFleet({ replicas: 2 })
  const f = fleet
  await Promise.all([f.readiness(0, 200), f.readiness(1, 200)])
  const token = await f.sign()
  f.redis.freeze()
  try {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => timed(() => f.call(i % 2, 'POST', '/v1/keys', token, { expiration: '10m' }))),
    )
    for (const [answer, ms] of answers) {
      expect(answer.status).toBe(503)
      expect(answer.body.error).toBe('rate_limit_unavailable')
      expect(ms).toBeLessThan(BOUNDED_MS)
    }
    expect(f.dg.keys.length).toBe(0)
    expect((await f.readiness(0, 503)).status).toBe(503)
    expect((await f.readiness(1, 503)).status).toBe(503)
  } finally {
    f.redis.thaw()
  }
  await Promise.all([f.readiness(0, 200), f.readiness(1, 200)])
  expect((await f.call(0, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
})

test('fail open: admitted uncounted, audited and counted as such, still ready; counted again once the store is back', async () => {
  fleet = await startFleet({ replicas: 2, env: { RATE_LIMIT_FAIL_OPEN: 'true' }, limits: { 'keys-per-minute': 2 } })
  const f = fleet
  await Promise.all([f.readiness(0, 200), f.readiness(1, 200)])
  const token = await f.sign()
  await f.redis.stop()
  const answers = await Promise.all(
    Array.from({ length: 4 }, (_, i) => timed(() => f.call(i % 2, 'POST', '/v1/keys', token, { expiration: '10m' }))),
  )
  for (const [answer, ms] of answers) {
    expect(answer.status).toBe(200)
    expect(ms).toBeLessThan(BOUNDED_MS)
  }
  const audit = await auditLineWhere(f.brokers[1]!, (line) => line.outcome === 'granted')
  expect(audit).toMatchObject({ status: 200, rate_limit: 'fail_open' })
  const failedOpen = await Promise.all(
    f.brokers.map((broker) =>
      metricOf(broker, 'broker_rate_limit_fail_open_total', { store: 'redis', budget: 'keys' }),
    ),
  )
  expect(failedOpen.reduce((a, b) => a + b, 0)).toBe(4)
  expect((await fetch(`${f.brokers[0]!.url}/readyz`)).status).toBe(200)
  expect(f.brokers[0]!.stderr()).toMatch(
    /does not answer \(.+\): requests are admitted without being counted \(RATE_LIMIT_FAIL_OPEN=true\)/,
  )

  // Frozen: admitted too, within the deadline.
  await f.redis.start()
  f.redis.freeze()
  try {
    const [answer, ms] = await timed(() => f.call(0, 'POST', '/v1/keys', token, { expiration: '10m' }))
    expect(answer.status).toBe(200)
    expect(ms).toBeLessThan(BOUNDED_MS)
  } finally {
    f.redis.thaw()
  }

  // Back: the limit holds again (2 a minute), on both replicas together.
  const storeUp = async (): Promise<boolean> =>
    (
      await Promise.all(f.brokers.map((broker) => metricOf(broker, 'broker_rate_limit_store_up', { store: 'redis' })))
    ).every((up) => up === 1)
  for (let waited = 0; !(await storeUp()) && waited < 15_000; waited += 50)
    await new Promise((done) => setTimeout(done, 50))
  expect(await storeUp()).toBe(true)
  await f.store.flushAll()
  const statuses: number[] = []
  for (let i = 0; i < 3; i++)
    statuses.push((await f.call(i % 2, 'POST', '/v1/keys', token, { expiration: '10m' })).status)
  expect(statuses).toEqual([200, 200, 429])
})

test('unreachable at start: the broker listens and serves /healthz, is not ready, and becomes ready once the store answers', async () => {
  fleet = await startFleet({ replicas: 1, storeDownAtStart: true })
  const f = fleet
  expect((await fetch(`${f.brokers[0]!.url}/healthz`)).status).toBe(200)
  const notReady = await fetch(`${f.brokers[0]!.url}/readyz`)
  expect(notReady.status).toBe(503)
  expect(((await notReady.json()) as { message: string }).message).toMatch(
    /rate-limit store redis:\/\/127\.0\.0\.1:\d+/,
  )
  const token = await f.sign()
  expect((await f.call(0, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(503)
  await f.redis.start()
  await f.readiness(0, 200)
  expect((await f.call(0, 'POST', '/v1/keys', token, { expiration: '10m' })).status).toBe(200)
})
