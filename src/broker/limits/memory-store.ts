// The rate-limit store of one process (RATE_LIMIT_STORE=memory, the default): a sliding log per
// identity, the times of its admissions in the last minute, oldest first.
//
// The map is kept in the order of each identity's latest admission (an admission moves its
// identity to the end), so the identities that went idle longest are all at the front: every call
// forgets at most a few of them there and stops at the first that is still in the window. The
// cost of a call therefore does not grow with the number of identities held, and the map holds
// no identity idle for more than a minute once calls keep coming. MAX_IDENTITIES bounds it
// whatever the traffic.
import { retryAfterSeconds, WINDOW_MS, type Budget, type RateLimitStore, type RateVerdict } from './store.ts'

/** Identities held per budget at most: at 100,000 the one admitted longest ago is forgotten. */
export const MAX_IDENTITIES = 100_000
/** Idle identities forgotten per call at most: more than the one a call can add, so the idle ones never pile up. */
const FORGET_PER_CALL = 2

export class MemoryStore implements RateLimitStore {
  readonly name = 'memory'
  private readonly now: () => number
  private readonly maxIdentities: number
  private readonly recent: Record<Budget, Map<string, number[]>> = { keys: new Map(), deletes: new Map() }

  constructor(now: () => number, maxIdentities = MAX_IDENTITIES) {
    this.now = now
    this.maxIdentities = maxIdentities
  }

  take(budget: Budget, identity: string, perMinute: number): Promise<RateVerdict> {
    return Promise.resolve(this.takeNow(budget, identity, perMinute))
  }

  /** What take answers, at once. */
  takeNow(budget: Budget, identity: string, perMinute: number): RateVerdict {
    const now = this.now()
    const recent = this.recent[budget]
    forgetIdle(recent, now)
    const times = recent.get(identity) ?? []
    // Oldest first: what fell out of the window is all at the front.
    let expired = 0
    while (expired < times.length && (times[expired] ?? now) <= now - WINDOW_MS) expired++
    if (expired > 0) times.splice(0, expired)
    if (times.length >= perMinute) {
      return { allowed: false, retryAfterSeconds: retryAfterSeconds((times[0] ?? now) + WINDOW_MS - now) }
    }
    times.push(now)
    // Deleted and set again: the identity moves to the end, behind every one admitted earlier.
    if (!recent.delete(identity) && recent.size >= this.maxIdentities) {
      const oldest = recent.keys().next()
      if (!oldest.done) recent.delete(oldest.value)
    }
    recent.set(identity, times)
    return { allowed: true }
  }

  /** Identities held for a budget (for tests and the bench). */
  size(budget: Budget): number {
    return this.recent[budget].size
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

function forgetIdle(recent: Map<string, number[]>, now: number): void {
  let forgotten = 0
  for (const [identity, times] of recent) {
    if (forgotten === FORGET_PER_CALL || (times[times.length - 1] ?? now) > now - WINDOW_MS) return
    recent.delete(identity)
    forgotten++
  }
}
