import { endingBy, parseRetryAfter, retryDelay, withRetry, type RetryPolicy } from '../../src/shared/retry.ts'
import { fakeClock } from '../helpers/fakes.ts'

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8000, budgetMs: 30000 }
const always = () => ({ retry: true as const })

describe('withRetry', () => {
  test('returns the first success without waiting', async () => {
    const clock = fakeClock()
    await expect(withRetry(async () => 'ok', always, policy, clock)).resolves.toBe('ok')
    expect(clock.waits).toEqual([])
  })

  test('waits exponentially growing, jittered delays between attempts', async () => {
    const clock = fakeClock()
    let calls = 0
    const result = await withRetry(
      async () => {
        if (++calls < 4) throw new Error('flaky')
        return calls
      },
      always,
      policy,
      clock,
    )
    expect(result).toBe(4)
    // random() is 0.5: half of 500, 1000, 2000.
    expect(clock.waits).toEqual([250, 500, 1000])
  })

  test('gives up after maxAttempts with the last error', async () => {
    const clock = fakeClock()
    let calls = 0
    await expect(
      withRetry(async () => Promise.reject(new Error(`failure ${++calls}`)), always, policy, clock),
    ).rejects.toThrow('failure 4')
    expect(calls).toBe(4)
  })

  test('does not retry what classify refuses', async () => {
    const clock = fakeClock()
    let calls = 0
    await expect(
      withRetry(
        async () => Promise.reject(new Error(`no ${++calls}`)),
        () => ({ retry: false }),
        policy,
        clock,
      ),
    ).rejects.toThrow('no 1')
    expect(clock.waits).toEqual([])
  })

  test('honours a Retry-After that fits in the budget', async () => {
    const clock = fakeClock()
    let calls = 0
    await withRetry(
      async () => {
        if (++calls === 1) throw new Error('slow down')
        return 'ok'
      },
      () => ({ retry: true, retryAfterMs: 7000 }),
      policy,
      clock,
    )
    expect(clock.waits).toEqual([7000])
  })

  test('stops when a Retry-After would overrun the budget', async () => {
    const clock = fakeClock()
    let calls = 0
    await expect(
      withRetry(
        async () => Promise.reject(new Error(`limited ${++calls}`)),
        () => ({ retry: true, retryAfterMs: 60000 }),
        policy,
        clock,
      ),
    ).rejects.toThrow('limited 1')
    expect(clock.waits).toEqual([])
  })

  test('runs beforeRetry before each new attempt, not after the last', async () => {
    const clock = fakeClock()
    const cleanups: string[] = []
    await expect(
      withRetry(
        async (n) => Promise.reject(new Error(`attempt ${n}`)),
        always,
        { ...policy, maxAttempts: 3 },
        clock,
        async (e) => {
          cleanups.push((e as Error).message)
        },
      ),
    ).rejects.toThrow('attempt 3')
    expect(cleanups).toEqual(['attempt 1', 'attempt 2'])
  })
})

describe('retryDelay', () => {
  test('caps the exponential growth at maxDelayMs', () => {
    expect(retryDelay(10, policy, () => 0.999)).toBeLessThanOrEqual(8000)
    expect(retryDelay(10, policy, () => 0.999)).toBeGreaterThan(7900)
  })
  test('uses full jitter: zero is possible', () => {
    expect(retryDelay(3, policy, () => 0)).toBe(0)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-28T12:00:00Z')
  test.each([
    ['3', 3000],
    [' 10 ', 10000],
    ['Sat, 28 Nov 2026 12:00:05 GMT', 5000],
    ['Sat, 28 Nov 2026 11:00:00 GMT', 0],
  ])('reads %p as %p ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })
  test.each([[undefined], [''], ['soon']])('ignores %p', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined()
  })
})

describe('withRetry counts the attempt in flight', () => {
  test('tells each attempt the time left in the budget', async () => {
    const clock = fakeClock()
    const given: number[] = []
    await expect(
      withRetry(
        async (_, remainingMs) => {
          given.push(remainingMs)
          await clock.sleep(5_000) // the attempt itself takes 5 s
          throw new Error('slow')
        },
        always,
        { ...policy, budgetMs: 12_000 },
        clock,
      ),
    ).rejects.toThrow('slow')
    // 12 s; then 5 s spent and 250 ms waited; then 5 s and 500 ms more. After the third, a wait of
    // 1 s would leave less than MIN_ATTEMPT_MS: no fourth attempt, though maxAttempts allows one.
    expect(given).toEqual([12_000, 6_750, 1_250])
  })

  test('endingBy cuts the budget to a deadline, never below zero', () => {
    expect(endingBy(policy, 10_000, 4_000).budgetMs).toBe(6_000)
    expect(endingBy(policy, 100_000, 0).budgetMs).toBe(policy.budgetMs)
    expect(endingBy(policy, 1_000, 4_000).budgetMs).toBe(0)
    expect(endingBy(policy, undefined, 4_000)).toBe(policy)
  })
})
