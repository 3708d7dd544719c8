export interface KeySetTiming {
  /** A key set older than this is fetched again before use. */
  maxAgeMs: number
  /** No fetch starts within this time of the last one, however many unknown kids come. */
  cooldownMs: number
}

/** Ten minutes of cache, and at most one fetch a minute for unknown kids (GitHub rotates rarely). */
export const KEY_SET_TIMING: KeySetTiming = { maxAgeMs: 10 * 60_000, cooldownMs: 60_000 }

/**
 * An issuer's key set, fetched when first needed, kept for `maxAgeMs`, and fetched again early
 * only for a token whose kid it lacks, at most once per `cooldownMs`: a stream of tokens with
 * made-up kids costs the issuer one request a minute. Concurrent callers share one fetch. When a
 * fetch fails, the set already held is kept.
 */
export class KeySetCache<T> {
  private readonly load: () => Promise<T>
  private readonly now: () => number
  private readonly timing: KeySetTiming
  private held: T | undefined
  private fetchedAt = Number.NEGATIVE_INFINITY
  private attemptedAt = Number.NEGATIVE_INFINITY
  private pending: Promise<T> | undefined

  constructor(load: () => Promise<T>, now: () => number, timing: KeySetTiming = KEY_SET_TIMING) {
    this.load = load
    this.now = now
    this.timing = timing
  }

  /** The key set to verify with. */
  async current(): Promise<T> {
    const now = this.now()
    if (
      this.held !== undefined &&
      (now - this.fetchedAt < this.timing.maxAgeMs || now - this.attemptedAt < this.timing.cooldownMs)
    )
      return this.held
    try {
      return await this.fetch()
    } catch (error) {
      if (this.held !== undefined) return this.held
      throw error
    }
  }

  /** A newer key set after a token named a kid this one lacks; undefined within the cooldown. */
  async refreshed(): Promise<T | undefined> {
    if (this.pending) return this.pending
    if (this.now() - this.attemptedAt < this.timing.cooldownMs) return undefined
    return this.fetch()
  }

  private fetch(): Promise<T> {
    if (!this.pending) {
      this.attemptedAt = this.now()
      this.pending = this.load()
        .then((value) => {
          this.held = value
          this.fetchedAt = this.now()
          return value
        })
        .finally(() => {
          this.pending = undefined
        })
    }
    return this.pending
  }
}
