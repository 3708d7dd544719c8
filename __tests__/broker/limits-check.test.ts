// The rate-limit check over a store that can fail: the deadline, fail closed and fail open, the
// metrics, and whether the store answers (for /readyz), with a store of the test's making.
import { Registry } from 'prom-client'
import { readRateLimitConfig } from '../../src/broker/limits/config.ts'
import { ConfigError } from '../../src/broker/config-error.ts'
import { MemoryStore } from '../../src/broker/limits/memory-store.ts'
import { createLimitMetrics } from '../../src/broker/limits/metrics.ts'
import { RateLimits } from '../../src/broker/limits/rate-limits.ts'
import type { RateLimitStore, RateVerdict } from '../../src/broker/limits/store.ts'
import { Readiness } from '../../src/broker/readiness.ts'
import { openRateLimits } from '../../src/broker/limits/open-rate-limits.ts'

/** A store whose every answer the test decides: a verdict, a failure, or none at all. */
class ScriptedStore implements RateLimitStore {
  readonly name = 'redis'
  mode: 'answer' | 'fail' | 'hang' = 'answer'
  verdict: RateVerdict = { allowed: true }
  takes = 0
  pings = 0
  take(): Promise<RateVerdict> {
    this.takes++
    return this.respond(this.verdict)
  }
  ping(): Promise<void> {
    this.pings++
    return this.respond(undefined)
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
  private respond<T>(value: T): Promise<T> {
    if (this.mode === 'fail') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'))
    if (this.mode === 'hang') return new Promise<T>(() => undefined)
    return Promise.resolve(value)
  }
}

/** Pauses that end when the test says: the probe loop runs one probe per step(). */
function steppedPauses(): { pause: (ms: number) => Promise<void>; step: () => Promise<void>; asked: number[] } {
  const waiting: (() => void)[] = []
  const asked: number[] = []
  return {
    asked,
    pause: (ms) => {
      asked.push(ms)
      return new Promise((done) => waiting.push(done))
    },
    step: async () => {
      waiting.shift()?.()
      await new Promise((done) => setImmediate(done))
    },
  }
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const value = (metric?.values ?? []).find((v) =>
    Object.entries(labels).every(([label, text]) => String((v.labels as Record<string, unknown>)[label]) === text),
  )
  return value?.value ?? 0
}

describe('RateLimits', () => {
  const setUp = (failOpen: boolean, deadlineMs = 50) => {
    const store = new ScriptedStore()
    const registry = new Registry()
    const changes: (string | undefined)[] = []
    const pauses = steppedPauses()
    const limits = new RateLimits({
      store,
      failOpen,
      metrics: createLimitMetrics(registry),
      onAvailability: (why) => changes.push(why),
      deadlineMs,
      pause: pauses.pause,
    })
    return { store, registry, changes, pauses, limits }
  }

  test('passes the verdict on, counted by store, budget and outcome', async () => {
    const { store, registry, limits } = setUp(false)
    await expect(limits.check('keys', 'issuer 1001', 3)).resolves.toEqual({ outcome: 'allowed', failedOpen: false })
    store.verdict = { allowed: false, retryAfterSeconds: 12 }
    await expect(limits.check('deletes', 'issuer 1001', 3)).resolves.toEqual({
      outcome: 'refused',
      retryAfterSeconds: 12,
    })
    const decisions = 'broker_rate_limit_decisions_total'
    expect(await metricValue(registry, decisions, { store: 'redis', budget: 'keys', outcome: 'allowed' })).toBe(1)
    expect(await metricValue(registry, decisions, { store: 'redis', budget: 'deletes', outcome: 'refused' })).toBe(1)
    const text = await registry.metrics()
    expect(text).toContain('broker_rate_limit_check_duration_seconds_count{store="redis",outcome="allowed"} 1')
    expect(text).toContain('broker_rate_limit_check_duration_seconds_count{store="redis",outcome="refused"} 1')
  })

  test('fail closed: a failing store is unavailable, counted as an error, and the availability says why', async () => {
    const { store, registry, changes, limits } = setUp(false)
    store.mode = 'fail'
    await expect(limits.check('keys', 'issuer 1001', 3)).resolves.toEqual({
      outcome: 'unavailable',
      retryAfterSeconds: 2,
    })
    expect(changes).toEqual(['connect ECONNREFUSED 127.0.0.1:6379'])
    expect(limits.unavailableBecause).toBe('connect ECONNREFUSED 127.0.0.1:6379')
    expect(await metricValue(registry, 'broker_rate_limit_decisions_total', { budget: 'keys', outcome: 'error' })).toBe(
      1,
    )
    expect(await metricValue(registry, 'broker_rate_limit_store_up', { store: 'redis' })).toBe(0)
    expect(await metricValue(registry, 'broker_rate_limit_fail_open_total', {})).toBe(0)
    // Told once, not at every failure; told again when it answers.
    await limits.check('keys', 'issuer 1001', 3)
    store.mode = 'answer'
    await limits.check('keys', 'issuer 1001', 3)
    expect(changes).toEqual(['connect ECONNREFUSED 127.0.0.1:6379', undefined])
    expect(await metricValue(registry, 'broker_rate_limit_store_up', { store: 'redis' })).toBe(1)
  })

  test('a store that does not answer is given up on at the deadline', async () => {
    const { store, limits } = setUp(false, 50)
    store.mode = 'hang'
    const started = performance.now()
    await expect(limits.check('keys', 'issuer 1001', 3)).resolves.toEqual({
      outcome: 'unavailable',
      retryAfterSeconds: 2,
    })
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    expect(limits.unavailableBecause).toBe('no answer within 50 ms')
  })

  test('fail open: admitted, marked failed open, and counted', async () => {
    const { store, registry, limits } = setUp(true)
    store.mode = 'hang'
    await expect(limits.check('deletes', 'issuer 1001', 3)).resolves.toEqual({ outcome: 'allowed', failedOpen: true })
    expect(
      await metricValue(registry, 'broker_rate_limit_fail_open_total', { store: 'redis', budget: 'deletes' }),
    ).toBe(1)
  })

  test('probes at once, then often while the store fails and seldom while it answers, until closed', async () => {
    const { store, changes, pauses, limits } = setUp(false)
    expect(limits.unavailableBecause).toBe('it has not answered yet')
    store.mode = 'fail'
    limits.start()
    await pauses.step()
    expect(store.pings).toBe(1)
    expect(changes).toEqual(['connect ECONNREFUSED 127.0.0.1:6379'])
    store.mode = 'answer'
    await pauses.step()
    expect(store.pings).toBe(2)
    expect(changes).toEqual(['connect ECONNREFUSED 127.0.0.1:6379', undefined])
    expect(pauses.asked).toEqual([1_000, 5_000])
    await limits.close()
    await pauses.step()
    expect(store.pings).toBe(2)
  })

  test('a store in this process needs no probe and is available from the start', async () => {
    const pauses = steppedPauses()
    const limits = new RateLimits({ store: new MemoryStore(() => 0), failOpen: false, pause: pauses.pause })
    limits.start()
    expect(limits.unavailableBecause).toBeUndefined()
    expect(pauses.asked).toEqual([])
    await expect(limits.check('keys', 'issuer 1001', 1)).resolves.toEqual({ outcome: 'allowed', failedOpen: false })
  })
})

describe('openRateLimits', () => {
  test('fail closed: /readyz is not ready until the store answers, and the log says so', async () => {
    const readiness = new Readiness([])
    const lines: string[] = []
    const limits = openRateLimits(
      {
        store: 'redis',
        failOpen: false,
        target: {
          host: '127.0.0.1',
          port: 9,
          tls: false,
          username: undefined,
          password: undefined,
          database: 0,
          shown: 'redis://127.0.0.1:9',
        },
      },
      { now: Date.now, readiness, registry: undefined, logError: (line) => lines.push(line) },
    )
    try {
      expect(readiness.notReadyBecause()).toBe('The rate-limit store redis://127.0.0.1:9 has not answered yet.')
      for (let waited = 0; lines.length === 0 && waited < 5_000; waited += 10)
        await new Promise((done) => setTimeout(done, 10))
      expect(lines[0]).toMatch(
        /^rate-limit store redis:\/\/127\.0\.0\.1:9 does not answer \(.+\): requests that mint, list or delete are refused \(503 rate_limit_unavailable\)/,
      )
      expect(readiness.notReadyBecause()).toMatch(/^The rate-limit store redis:\/\/127\.0\.0\.1:9 does not answer/)
    } finally {
      await limits.close()
    }
  })

  test('memory: ready at once, nothing logged', async () => {
    const readiness = new Readiness([])
    const lines: string[] = []
    const limits = openRateLimits(
      { store: 'memory', failOpen: false },
      { now: Date.now, readiness, registry: undefined, logError: (line) => lines.push(line) },
    )
    expect(readiness.notReadyBecause()).toBeUndefined()
    await limits.close()
    expect(lines).toEqual([])
  })
})

describe('readRateLimitConfig', () => {
  const noFile = (path: string): string => {
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
  }
  const read = (env: Record<string, string>, readFile = noFile) => readRateLimitConfig(env, readFile)

  test('memory by default, fail closed by default', () => {
    expect(read({})).toEqual({ store: 'memory', failOpen: false })
    expect(read({ RATE_LIMIT_STORE: 'memory', RATE_LIMIT_FAIL_OPEN: 'true' })).toEqual({
      store: 'memory',
      failOpen: true,
    })
  })

  test('redis:// to a loopback host, with its user, password and database', () => {
    expect(read({ RATE_LIMIT_STORE: 'redis://broker:s%40cret@127.0.0.1:6380/2' })).toEqual({
      store: 'redis',
      failOpen: false,
      target: {
        host: '127.0.0.1',
        port: 6380,
        tls: false,
        username: 'broker',
        password: 's@cret',
        database: 2,
        shown: 'redis://broker@127.0.0.1:6380/2',
      },
    })
    expect(read({ RATE_LIMIT_STORE: 'redis://[::1]' })).toMatchObject({ target: { host: '::1', port: 6379 } })
    expect(read({ RATE_LIMIT_STORE: 'redis://localhost/' })).toMatchObject({ target: { host: 'localhost' } })
  })

  test('rediss:// to any host, the password from a file', () => {
    const config = read(
      { RATE_LIMIT_STORE: 'rediss://default@redis.example.com:6380', RATE_LIMIT_STORE_PASSWORD_FILE: '/run/pw' },
      (path) => (path === '/run/pw' ? 'from-the-file\n' : noFile(path)),
    )
    expect(config).toEqual({
      store: 'redis',
      failOpen: false,
      target: {
        host: 'redis.example.com',
        port: 6380,
        tls: true,
        username: 'default',
        password: 'from-the-file',
        database: 0,
        shown: 'rediss://default@redis.example.com:6380',
      },
    })
  })

  test.each<[string, Record<string, string>, RegExp]>([
    ['a value that is no URL', { RATE_LIMIT_STORE: 'redis' }, /RATE_LIMIT_STORE 'redis' is neither memory nor a URL/],
    ['another scheme', { RATE_LIMIT_STORE: 'http://127.0.0.1:6379' }, /is not a redis:\/\/ or rediss:\/\/ URL/],
    [
      'plain redis to another host',
      { RATE_LIMIT_STORE: 'redis://redis.example.com:6379' },
      /plain redis:\/\/ to a host that is not this machine.*Use rediss:\/\/ \(TLS\)/,
    ],
    [
      'an option in the query',
      { RATE_LIMIT_STORE: 'rediss://redis.example.com?tls=false&db=1' },
      /has options \(tls, db\) the broker does not know: the URL takes none/,
    ],
    ['a fragment', { RATE_LIMIT_STORE: 'redis://127.0.0.1#x' }, /has a query or fragment/],
    ['a path', { RATE_LIMIT_STORE: 'redis://127.0.0.1/keys' }, /only a database number/],
    ['no host', { RATE_LIMIT_STORE: 'redis://' }, /names no host/],
    ['an unknown setting', { RATE_LIMIT_STOR: 'memory' }, /RATE_LIMIT_STOR is not a setting of the broker/],
    [
      'fail-open that is not a boolean',
      { RATE_LIMIT_FAIL_OPEN: 'yes' },
      /RATE_LIMIT_FAIL_OPEN 'yes' is not true or false/,
    ],
    [
      'a password file for memory',
      { RATE_LIMIT_STORE_PASSWORD_FILE: '/run/pw' },
      /RATE_LIMIT_STORE_PASSWORD_FILE is set, but RATE_LIMIT_STORE is not set \(memory\)/,
    ],
    [
      'a password twice',
      { RATE_LIMIT_STORE: 'redis://:pw@127.0.0.1', RATE_LIMIT_STORE_PASSWORD_FILE: '/run/pw' },
      /give the password in one place only/,
    ],
    [
      'a password file that cannot be read',
      { RATE_LIMIT_STORE: 'redis://127.0.0.1', RATE_LIMIT_STORE_PASSWORD_FILE: '/run/pw' },
      /RATE_LIMIT_STORE_PASSWORD_FILE \/run\/pw cannot be read \(ENOENT\)/,
    ],
  ])('refuses %s, naming the setting and the forms it accepts', (_what, env, message) => {
    expect(() => read(env)).toThrow(ConfigError)
    expect(() => read(env)).toThrow(message)
  })

  test('never shows the password of a refused URL', () => {
    for (const url of ['redis://user:hunter22@redis.example.com', 'redis://:hunter22@redis.example.com/x?y=1'])
      expect(() => read({ RATE_LIMIT_STORE: url })).toThrow(/^(?!.*hunter22).*redis:\/\/(user)?:\*\*\*@/)
  })

  test('the forms accepted are named in every refusal of RATE_LIMIT_STORE', () => {
    expect(() => read({ RATE_LIMIT_STORE: 'redis://redis.example.com' })).toThrow(
      /Give memory \(the default: each broker process counts on its own\), redis:\/\/\[user:password@\]host\[:port\]\[\/db\] to a loopback host/,
    )
  })
})
