/** The verdict on one more key for a repository. */
export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number }

const WINDOW_MS = 60_000
/** Repositories remembered before the idle ones are forgotten, so memory stays bounded. */
const SWEEP_AT = 10_000

/**
 * At most `perMinute` keys per repository in any 60 seconds, in this process (each broker
 * instance counts on its own: the broker keeps no shared state). A sliding log: the times of the
 * last `perMinute` keys.
 */
export class RateLimiter {
  private readonly perMinute: number
  private readonly now: () => number
  private readonly recent = new Map<string, number[]>()

  constructor(perMinute: number, now: () => number) {
    this.perMinute = perMinute
    this.now = now
  }

  /** Counts one key for `repository` if the limit allows it. */
  take(repository: string): RateVerdict {
    const now = this.now()
    if (this.recent.size >= SWEEP_AT) this.sweep(now)
    let times = this.recent.get(repository)
    if (!times) {
      times = []
      this.recent.set(repository, times)
    }
    // Oldest first: what fell out of the window is all at the front.
    let expired = 0
    while (expired < times.length && (times[expired] ?? now) <= now - WINDOW_MS) expired++
    if (expired > 0) times.splice(0, expired)
    if (times.length >= this.perMinute) {
      const oldest = times[0] ?? now
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) }
    }
    times.push(now)
    return { allowed: true }
  }

  private sweep(now: number): void {
    for (const [repository, times] of this.recent) {
      if ((times[times.length - 1] ?? 0) <= now - WINDOW_MS) this.recent.delete(repository)
    }
  }
}
