import { RateLimiter } from '../../src/broker/rate-limit.ts'

describe('RateLimiter', () => {
  let now = 1_000_000
  const clock = (): number => now
  beforeEach(() => {
    now = 1_000_000
  })

  test('allows keys-per-minute keys per repository, then says when to come back', () => {
    const limiter = new RateLimiter(3, clock)
    expect([limiter.take('1001'), limiter.take('1001'), limiter.take('1001')]).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: true },
    ])
    now += 20_000
    expect(limiter.take('1001')).toEqual({ allowed: false, retryAfterSeconds: 40 })
  })

  test('counts each repository on its own', () => {
    const limiter = new RateLimiter(1, clock)
    expect(limiter.take('1001').allowed).toBe(true)
    expect(limiter.take('1001').allowed).toBe(false)
    expect(limiter.take('2002').allowed).toBe(true)
  })

  test('a sliding minute: each key frees its slot 60 s after it was made', () => {
    const limiter = new RateLimiter(2, clock)
    limiter.take('1001')
    now += 30_000
    limiter.take('1001')
    now += 29_999
    expect(limiter.take('1001')).toEqual({ allowed: false, retryAfterSeconds: 1 })
    now += 1
    expect(limiter.take('1001').allowed).toBe(true)
    expect(limiter.take('1001')).toEqual({ allowed: false, retryAfterSeconds: 30 })
  })

  test('refusals do not use up the allowance', () => {
    const limiter = new RateLimiter(1, clock)
    limiter.take('1001')
    for (let i = 0; i < 10; i++) limiter.take('1001')
    now += 60_000
    expect(limiter.take('1001').allowed).toBe(true)
  })

  test('forgets idle repositories once many are remembered, and still counts the busy ones', () => {
    const limiter = new RateLimiter(1, clock)
    for (let i = 0; i < 10_000; i++) limiter.take(`idle-${i}`)
    now += 61_000
    limiter.take('busy')
    expect(limiter.take('busy').allowed).toBe(false)
    expect(limiter.take('idle-1').allowed).toBe(true)
  })
})
