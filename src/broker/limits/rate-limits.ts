// The rate-limit check the broker calls for every request that mints, lists or deletes: asks the
// store within a deadline, counts the decision, and decides what a failed store means, refuse
// (fail closed, the default) or admit uncounted (RATE_LIMIT_FAIL_OPEN=true). It also follows
// whether the store answers, for /readyz and the log: every check tells, and a probe asks the
// store while no check does (even while no request comes, as when /readyz keeps them away).
import { setTimeout as sleep } from 'node:timers/promises'
import { NO_LIMIT_METRICS, type LimitMetrics } from './metrics.ts'
import type { Budget, RateLimitStore } from './store.ts'

/** No check waits longer on the store: a request is never held by it, whatever the network. */
export const CHECK_DEADLINE_MS = 250
/** What a refusal for an unreachable store asks the caller to wait. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2
/** Probe pauses: often while the store fails, so the broker is ready again soon after it answers. */
const PROBE = { upMs: 5_000, downMs: 1_000 }

export type LimitDecision =
  | { outcome: 'allowed'; failedOpen: boolean }
  | { outcome: 'refused'; retryAfterSeconds: number }
  | { outcome: 'unavailable'; retryAfterSeconds: number }

/** What the broker's service needs of the rate limit. */
export interface RateLimitCheck {
  check(budget: Budget, identity: string, perMinute: number): Promise<LimitDecision>
}

export interface RateLimitsOptions {
  store: RateLimitStore
  failOpen: boolean
  metrics?: LimitMetrics
  /** Called when the store starts or stops answering: why it does not, or undefined once it does. */
  onAvailability?: (why: string | undefined) => void
  deadlineMs?: number
  probe?: { upMs: number; downMs: number }
  /** Pauses between probes; by default a timer that does not keep the process alive. */
  pause?: (ms: number) => Promise<void>
}

const ALLOWED: LimitDecision = { outcome: 'allowed', failedOpen: false }
const FAILED_OPEN: LimitDecision = { outcome: 'allowed', failedOpen: true }

export class RateLimits implements RateLimitCheck {
  private readonly store: RateLimitStore
  private readonly failOpen: boolean
  private readonly metrics: LimitMetrics
  private readonly onAvailability: (why: string | undefined) => void
  private readonly deadlineMs: number
  private readonly probeMs: { upMs: number; downMs: number }
  private readonly pause: (ms: number) => Promise<void>
  /** Why the store does not answer; undefined while it does; null before anything is known. */
  private down: string | undefined | null
  private closed = false

  constructor(options: RateLimitsOptions) {
    this.store = options.store
    this.failOpen = options.failOpen
    this.metrics = options.metrics ?? NO_LIMIT_METRICS
    this.onAvailability = options.onAvailability ?? (() => undefined)
    this.deadlineMs = options.deadlineMs ?? CHECK_DEADLINE_MS
    this.probeMs = options.probe ?? PROBE
    this.pause = options.pause ?? ((ms) => sleep(ms, undefined, { ref: false }))
    // A store in this process always answers; another must answer once before the broker is ready.
    this.down = options.store.ping === undefined ? undefined : null
    this.metrics.storeUp(this.store.name, this.down === undefined)
  }

  /** Why the store does not answer, or undefined when it does. */
  get unavailableBecause(): string | undefined {
    return this.down === null ? 'it has not answered yet' : this.down
  }

  async check(budget: Budget, identity: string, perMinute: number): Promise<LimitDecision> {
    const started = performance.now()
    const store = this.store.name
    try {
      const taking = this.store.take(budget, identity, perMinute)
      const verdict = this.store.ping === undefined ? await taking : await within(taking, this.deadlineMs)
      this.answered()
      const seconds = (performance.now() - started) / 1000
      if (verdict.allowed) {
        this.metrics.checked(store, budget, 'allowed', seconds)
        return ALLOWED
      }
      this.metrics.checked(store, budget, 'refused', seconds)
      return { outcome: 'refused', retryAfterSeconds: verdict.retryAfterSeconds }
    } catch (error) {
      this.failed(error)
      this.metrics.checked(store, budget, 'error', (performance.now() - started) / 1000)
      if (!this.failOpen) return { outcome: 'unavailable', retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS }
      this.metrics.failedOpen(store, budget)
      return FAILED_OPEN
    }
  }

  /** Probes the store until closed, if it can fail: at once, then every few seconds. */
  start(): void {
    const ping = this.store.ping?.bind(this.store)
    if (ping === undefined) return
    void (async () => {
      while (!this.closed) {
        try {
          await within(ping(), this.deadlineMs)
          this.answered()
        } catch (error) {
          this.failed(error)
        }
        await this.pause(this.down === undefined ? this.probeMs.upMs : this.probeMs.downMs)
      }
    })()
  }

  async close(): Promise<void> {
    this.closed = true
    await this.store.close()
  }

  private answered(): void {
    if (this.down === undefined) return
    this.down = undefined
    this.metrics.storeUp(this.store.name, true)
    this.onAvailability(undefined)
  }

  private failed(error: unknown): void {
    if (typeof this.down === 'string') return
    this.down = error instanceof Error ? error.message : String(error)
    this.metrics.storeUp(this.store.name, false)
    this.onAvailability(this.down)
  }
}

/** The work's result, or a rejection once `ms` have passed without one. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
