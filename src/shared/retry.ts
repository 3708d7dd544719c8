/** Milliseconds since the epoch; injected so that tests control time. */
export type Now = () => number
/** Waits; injected so that a test of five retries takes no time. */
export type Sleep = (ms: number) => Promise<void>

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  /** No retry starts after this much time has passed since the first attempt. */
  budgetMs: number
}

export interface RetryClock {
  now: Now
  sleep: Sleep
  /** In [0, 1): the jitter. */
  random: () => number
}

/**
 * Main step: a few seconds of patience for a flaky service. The budget covers the attempts of one
 * call, the one in flight included: no attempt's deadline reaches past it.
 */
export const MAIN_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8_000, budgetMs: 15_000 }
/** Post step: short, because a cancelled job gives post steps seconds, not minutes. */
export const POST_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 4_000, budgetMs: 10_000 }

/** No retry starts with less time than this left in its budget: it could not get an answer. */
export const MIN_ATTEMPT_MS = 1_000

/** How a failed attempt may be retried: not at all, or after an optional service-given delay. */
export type RetryVerdict = { retry: false } | { retry: true; retryAfterMs?: number }

/** The policy with its budget cut so that it ends by `deadline` (epoch ms) at the latest. */
export function endingBy(policy: RetryPolicy, deadline: number | undefined, now: number): RetryPolicy {
  if (deadline === undefined) return policy
  return { ...policy, budgetMs: Math.max(0, Math.min(policy.budgetMs, deadline - now)) }
}

/**
 * Runs `attempt` until it succeeds, `classify` says stop, or the policy runs out. Each attempt is
 * told the time left in the budget (`remainingMs`), which its deadline must not pass. Between
 * attempts it waits an exponential, fully jittered delay, or what the service asked (Retry-After)
 * when that fits in the budget. `beforeRetry` runs before each new attempt (e.g. a clean-up).
 */
export async function withRetry<T>(
  attempt: (n: number, remainingMs: number) => Promise<T>,
  classify: (error: unknown) => RetryVerdict,
  policy: RetryPolicy,
  clock: RetryClock,
  beforeRetry?: (error: unknown) => Promise<void>,
): Promise<T> {
  const started = clock.now()
  const remaining = (): number => started + policy.budgetMs - clock.now()
  for (let n = 1; ; n++) {
    try {
      return await attempt(n, remaining())
    } catch (error) {
      const verdict = classify(error)
      if (!verdict.retry || n >= policy.maxAttempts) throw error
      const delay = retryDelay(n, policy, clock.random, verdict.retryAfterMs)
      if (remaining() - delay < MIN_ATTEMPT_MS) throw error
      if (beforeRetry) await beforeRetry(error)
      await clock.sleep(delay)
      if (remaining() < MIN_ATTEMPT_MS) throw error
    }
  }
}

/** Delay before attempt n+1: Retry-After when given, else full jitter over base * 2^(n-1). */
export function retryDelay(n: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.max(0, retryAfterMs)
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1))
  return Math.round(random() * ceiling)
}

/** Reads Retry-After: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
