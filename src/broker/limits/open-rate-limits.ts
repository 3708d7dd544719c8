// The rate limit as main.ts starts it: the store RATE_LIMIT_STORE names, its metrics, and what a
// store that stops answering does to /readyz and the log.
import type { Registry } from 'prom-client'
import { logLine } from '../../shared/log-text.ts'
import type { Readiness } from '../readiness.ts'
import type { RateLimitConfig } from './config.ts'
import { MemoryStore } from './memory-store.ts'
import { createLimitMetrics, NO_LIMIT_METRICS } from './metrics.ts'
import { RateLimits } from './rate-limits.ts'
import { RedisStore } from './redis-store.ts'

export interface RateLimitWiring {
  now: () => number
  readiness: Readiness
  /** The broker's metrics registry, when it has one (METRICS_PORT). */
  registry: Registry | undefined
  logError: (message: string) => void
}

export function openRateLimits(config: RateLimitConfig, wiring: RateLimitWiring): RateLimits {
  const store = config.store === 'memory' ? new MemoryStore(wiring.now) : new RedisStore(config.target)
  const shown = config.store === 'memory' ? 'memory' : config.target.shown
  const whileDown = config.failOpen
    ? 'requests are admitted without being counted (RATE_LIMIT_FAIL_OPEN=true)'
    : 'requests that mint, list or delete are refused (503 rate_limit_unavailable) and /readyz says not ready until it answers'
  const limits = new RateLimits({
    store,
    failOpen: config.failOpen,
    metrics: wiring.registry ? createLimitMetrics(wiring.registry) : NO_LIMIT_METRICS,
    onAvailability: (why) => {
      wiring.logError(
        logLine(
          why === undefined
            ? `rate-limit store ${shown} answers`
            : `rate-limit store ${shown} does not answer (${why}): ${whileDown}`,
        ),
      )
      // Fail open keeps serving, so the platform should keep sending requests.
      if (!config.failOpen)
        wiring.readiness.block(
          'rate-limit-store',
          why === undefined ? undefined : `The rate-limit store ${shown} does not answer (${why}).`,
        )
    },
  })
  if (!config.failOpen && limits.unavailableBecause !== undefined)
    wiring.readiness.block('rate-limit-store', `The rate-limit store ${shown} has not answered yet.`)
  limits.start()
  return limits
}
