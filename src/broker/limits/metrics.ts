// What the rate limit counts for Prometheus, in the broker's registry (http/metrics.ts). Labels take
// fixed values only: the store's kind, the budget, the outcome.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Budget } from './store.ts'

export type CheckOutcome = 'allowed' | 'refused' | 'error'

export interface LimitMetrics {
  checked(store: string, budget: Budget, outcome: CheckOutcome, seconds: number): void
  /** A request admitted uncounted because the store failed (RATE_LIMIT_FAIL_OPEN=true). */
  failedOpen(store: string, budget: Budget): void
  storeUp(store: string, up: boolean): void
}

export const NO_LIMIT_METRICS: LimitMetrics = {
  checked: () => undefined,
  failedOpen: () => undefined,
  storeUp: () => undefined,
}

/** Seconds: a memory check takes microseconds, a Redis one a round trip, and none more than the 250 ms deadline. */
const CHECK_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]

export function createLimitMetrics(registry: Registry): LimitMetrics {
  const registers = [registry]
  const decisions = new Counter({
    name: 'broker_rate_limit_decisions_total',
    help: 'Rate-limit checks by store, budget (keys, deletes) and outcome (allowed, refused, error: the store failed or was too slow).',
    labelNames: ['store', 'budget', 'outcome'],
    registers,
  })
  const duration = new Histogram({
    name: 'broker_rate_limit_check_duration_seconds',
    help: 'How long a rate-limit check took, by store and outcome.',
    labelNames: ['store', 'outcome'],
    buckets: CHECK_BUCKETS,
    registers,
  })
  const failOpen = new Counter({
    name: 'broker_rate_limit_fail_open_total',
    help: 'Requests admitted without being counted because the rate-limit store failed (RATE_LIMIT_FAIL_OPEN=true), by budget.',
    labelNames: ['store', 'budget'],
    registers,
  })
  const up = new Gauge({
    name: 'broker_rate_limit_store_up',
    help: 'Whether the rate-limit store answered the last check or probe (1) or not (0).',
    labelNames: ['store'],
    registers,
  })
  return {
    checked: (store, budget, outcome, seconds) => {
      decisions.inc({ store, budget, outcome })
      duration.observe({ store, outcome }, seconds)
    },
    failedOpen: (store, budget) => failOpen.inc({ store, budget }),
    storeUp: (store, isUp) => up.set({ store }, isUp ? 1 : 0),
  }
}
