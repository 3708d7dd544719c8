// The port every rate-limit store implements: one more request for an identity against a budget,
// with the broker's window semantics (at most `perMinute` admitted in any 60 seconds, a sliding
// log: each admitted request frees its slot 60 s after it was admitted; refusals count nothing).

/** The verdict on one more request for an identity. */
export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number }

/** The policy's two budgets: keys-per-minute (keys and tokens together) and deletes-per-minute. */
export type Budget = 'keys' | 'deletes'

export const WINDOW_MS = 60_000

export interface RateLimitStore {
  /** For the metrics' `store` label and the logs. */
  readonly name: 'memory' | 'redis'
  /** Counts one request for `identity` if fewer than `perMinute` were admitted in the last 60 s. */
  take(budget: Budget, identity: string, perMinute: number): Promise<RateVerdict>
  /** Resolves when the store answers; absent for a store that cannot fail (in this process). */
  ping?(): Promise<void>
  close(): Promise<void>
}

/** Whole seconds until the oldest admission leaves the window: at least 1. */
export function retryAfterSeconds(msUntilFree: number): number {
  return Math.max(1, Math.ceil(msUntilFree / 1000))
}
