// What the broker counts for Prometheus (prom-client), in a registry of its own so that each
// broker, and each test, has separate counts. Every label takes one of a few fixed values (route
// templates, outcomes, HTTP statuses, the policy's issuer URLs): never a repository, a claim, a
// token or a key, so the metrics cannot leak them and their number stays bounded.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export type Outcome = 'granted' | 'deleted' | 'listed' | 'refused' | 'failed' | 'undelivered'

export interface EndedRequest {
  /** The route as a fixed template (request-target.ts routeTemplate). */
  route: string
  outcome: Outcome
  status: number
  /** The refusal's code (`rate_limited`...), if any. */
  error: string | undefined
  seconds: number
}

/** The events the broker reports; the HTTP layer, the Deepgram client and the verifier call it. */
export interface MetricsRecorder {
  requestStarted(): void
  requestEnded(request: EndedRequest): void
  /** An answer of Deepgram's, or undefined when none came (network, deadline). */
  deepgramAnswered(status: number | undefined): void
  keySetFetched(issuer: string, outcome: 'ok' | 'failed'): void
}

export const NO_METRICS: MetricsRecorder = {
  requestStarted: () => undefined,
  requestEnded: () => undefined,
  deepgramAnswered: () => undefined,
  keySetFetched: () => undefined,
}

/** Seconds, from a fast cached mint to Deepgram's retries at their deadline. */
const MINT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20]

export function createBrokerMetrics(): { registry: Registry; recorder: MetricsRecorder } {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const requests = new Counter({
    name: 'broker_requests_total',
    help: 'Requests answered, by route template, outcome and HTTP status.',
    labelNames: ['route', 'outcome', 'status'],
    registers,
  })
  const inFlight = new Gauge({ name: 'broker_requests_in_flight', help: 'Requests being answered now.', registers })
  const mints = new Histogram({
    name: 'broker_mint_duration_seconds',
    help: 'POST /v1/keys from arrival to answer, by outcome.',
    labelNames: ['outcome'],
    buckets: MINT_BUCKETS,
    registers,
  })
  const rateLimited = new Counter({
    name: 'broker_rate_limited_total',
    help: 'Requests refused by the per-repository rate limit (429), by route template.',
    labelNames: ['route'],
    registers,
  })
  const deepgram = new Counter({
    name: 'broker_deepgram_responses_total',
    help: "Deepgram's answers by HTTP status; none: no answer (network, deadline).",
    labelNames: ['status'],
    registers,
  })
  const keySets = new Counter({
    name: 'broker_issuer_key_set_fetches_total',
    help: "Fetches of an issuer's key set (discovery, then JWKS), by issuer and outcome.",
    labelNames: ['issuer', 'outcome'],
    registers,
  })
  const recorder: MetricsRecorder = {
    requestStarted: () => inFlight.inc(),
    requestEnded: ({ route, outcome, status, error, seconds }) => {
      inFlight.dec()
      requests.inc({ route, outcome, status: String(status) })
      if (route === 'POST /v1/keys') mints.observe({ outcome }, seconds)
      if (error === 'rate_limited') rateLimited.inc({ route })
    },
    deepgramAnswered: (status) => deepgram.inc({ status: status === undefined ? 'none' : String(status) }),
    keySetFetched: (issuer, outcome) => keySets.inc({ issuer, outcome }),
  }
  return { registry, recorder }
}
