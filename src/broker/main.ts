// `node dist/broker/index.js [serve]`: reads the environment and the policy, wires the real
// network, clock and logs into the broker, and serves until SIGTERM or SIGINT. Any problem with the
// settings or the policy stops it with exit code 1 before it listens: it fails closed.
// `check` and `explain` are the policy tools (policy-tools.ts): files in, text out, no network.
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent } from 'undici'
import { DeepgramClient } from '../deepgram/client.ts'
import { newInvocationId } from '../deepgram/marker.ts'
import { MAX_BODY_BYTES, undiciSend, type HttpSend } from '../shared/http.ts'
import { jsonLine } from '../shared/log-text.ts'
import type { RetryClock, RetryPolicy } from '../shared/retry.ts'
import { ConfigError, readConfig, type BrokerConfig } from './config.ts'
import { fetchIssuerJson, ISSUER_LIMITS } from './discovery.ts'
import { Drain } from './drain.ts'
import { createBrokerMetrics, NO_METRICS, type MetricsRecorder } from './metrics.ts'
import { createOpsServer } from './ops-server.ts'
import { markerSecret, Ownership } from './ownership.ts'
import { parsePolicy, PolicyError, type Policy } from './policy.ts'
import { runPolicyTool } from './policy-tools.ts'
import { readRateLimitConfig, type RateLimitConfig } from './limits/config.ts'
import { openRateLimits } from './limits/wiring.ts'
import { Readiness } from './readiness.ts'
import { createBrokerServer } from './server.ts'
import { Broker, DEADLINES } from './service.ts'
import { createTokenVerifier, type TokenVerifier } from './tokens.ts'

const USER_AGENT = 'deepgram-key-broker/0.1'
/** Deepgram's answer to one request; the caller waits on it. The retry budget and DEADLINES cut it shorter. */
const DEEPGRAM_TIMEOUT_MS = 15_000
/** A caller waits for the broker, so retries stay short. */
const DEEPGRAM_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 2_000, budgetMs: 10_000 }
/**
 * How long requests in flight may end after SIGTERM: every request's Deepgram work ends within
 * DEADLINES.requestMs of its start, and deleting a key whose caller left within discardMs more;
 * 5 s spare. deploy/kubernetes.yaml's terminationGracePeriodSeconds is above it (docs/broker.md).
 */
const DRAIN_MS = DEADLINES.requestMs + DEADLINES.discardMs + 5_000
/** Pauses between tries at the issuers' keys while some are missing (the broker is not ready meanwhile). */
const KEY_SET_RETRY = { firstMs: 1_000, maxMs: 30_000 }

const clock: RetryClock = { now: () => Date.now(), sleep: (ms) => sleep(ms), random: () => Math.random() }

function serve(): void {
  let config: BrokerConfig
  let policy: Policy
  let rateLimit: RateLimitConfig
  try {
    config = readConfig(process.env)
    rateLimit = readRateLimitConfig(process.env)
    policy = loadPolicy(config.policyPath)
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyError)) throw error
    process.stderr.write(`deepgram-key-broker cannot start: ${error.message}\n`)
    process.exit(1)
  }
  // Metrics cost a little CPU on every request: counted only when someone can read them.
  const metrics = config.metrics ? createBrokerMetrics() : undefined
  const recorder = metrics?.recorder ?? NO_METRICS
  const readiness = new Readiness(policy.issuers)
  const agent = new Agent({ keepAliveTimeout: 30_000 })
  const deepgramSend = observed(
    undiciSend(agent, { timeoutMs: DEEPGRAM_TIMEOUT_MS, maxBodyBytes: MAX_BODY_BYTES }),
    recorder,
  )
  const deepgramUntil = (deadline: number): DeepgramClient =>
    new DeepgramClient({
      baseUrl: config.deepgramApiUrl,
      apiKey: config.adminKey,
      send: deepgramSend,
      clock,
      policy: DEEPGRAM_RETRY,
      userAgent: USER_AGENT,
      deadline,
    })
  const issuerSend = undiciSend(agent, ISSUER_LIMITS)
  const logError = (message: string): void => void process.stderr.write(`${message}\n`)
  const onKeySetFetch = (issuer: string, outcome: 'ok' | 'failed'): void => {
    recorder.keySetFetched(issuer, outcome)
    if (outcome === 'ok') readiness.keySetFetched(issuer)
  }
  const verify = createTokenVerifier({
    issuers: policy.issuers,
    audience: policy.audience,
    fetchJson: (url) => fetchIssuerJson(issuerSend, url),
    now: clock.now,
    onKeySetFetch,
  })
  const limits = openRateLimits(rateLimit, { now: clock.now, readiness, registry: metrics?.registry, logError })
  const broker = new Broker({
    policy,
    verify,
    deepgramUntil,
    mint: { clock, policy: DEEPGRAM_RETRY, log: logError },
    limits,
    ownership: new Ownership(markerSecret(config.adminKey), policy.issuers),
    newInvocation: () => newInvocationId(),
    now: clock.now,
  })
  const drain = new Drain()
  const audit = (line: object): void => void process.stdout.write(`${jsonLine(line)}\n`)
  const server = createBrokerServer({
    broker,
    audit,
    logError,
    now: clock.now,
    drain,
    maxConnections: config.maxConnections,
    metrics: recorder,
    readiness,
  })
  if (metrics && config.metrics)
    listen(createOpsServer(metrics.registry, readiness, logError), config.metrics, 'metrics on', '/metrics').unref()
  void fetchKeySets(verify, readiness, logError)
  listen(server, config, 'listening on', '')
  // Stop accepting, cut requests still sending their body, let every other one end (each mint
  // delivered, or its key deleted, and audited), then exit 0. DRAIN_MS is a backstop that the
  // deadlines keep from being reached.
  const stop = (): void => {
    readiness.drain()
    drain.begin()
    server.close()
    server.closeIdleConnections()
    setTimeout(() => {
      logError(`deepgram-key-broker: requests still open ${DRAIN_MS} ms after SIGTERM; exiting anyway.`)
      process.exit(1)
    }, DRAIN_MS).unref()
    void drain
      .settled()
      .then(() => Promise.all([agent.close(), limits.close()]))
      .finally(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

/** Listens, then says where (`<what> http://HOST:PORT<path>`); exits 1 if it cannot. */
function listen(server: Server, at: { port: number; host: string }, what: string, path: string): Server {
  server.on('error', (error) => {
    process.stderr.write(`deepgram-key-broker cannot listen on ${at.host}:${at.port}: ${error.message}\n`)
    process.exit(1)
  })
  return server.listen(at.port, at.host, () => {
    const { port } = server.address() as AddressInfo
    const host = at.host.includes(':') ? `[${at.host}]` : at.host
    process.stdout.write(`${what} http://${host}:${port}${path}\n`)
  })
}

/** Every answer of Deepgram's (or its absence) counted by status. */
function observed(send: HttpSend, metrics: MetricsRecorder): HttpSend {
  return async (request) => {
    try {
      const response = await send(request)
      metrics.deepgramAnswered(response.status)
      return response
    } catch (error) {
      metrics.deepgramAnswered(undefined)
      throw error
    }
  }
}

/** The issuers' keys, fetched as the broker starts and again, with growing pauses, until each has come once. */
async function fetchKeySets(
  verify: TokenVerifier,
  readiness: Readiness,
  logError: (message: string) => void,
): Promise<void> {
  for (let pauseMs = KEY_SET_RETRY.firstMs; ; pauseMs = Math.min(2 * pauseMs, KEY_SET_RETRY.maxMs)) {
    const failures = await verify.prefetch()
    if (readiness.keySetsFetched) return
    for (const failure of failures)
      logError(
        `not ready: ${failure instanceof Error ? failure.message : String(failure)}; trying again in ${pauseMs / 1000} s`,
      )
    await sleep(pauseMs, undefined, { ref: false })
  }
}

function loadPolicy(path: string): Policy {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(
      `BROKER_POLICY ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}). Give the path of the policy file.`,
    )
  }
  return parsePolicy(text, path)
}

const [command = 'serve', ...args] = process.argv.slice(2)
if (command === 'serve' && args.length === 0) {
  serve()
} else {
  const write = (stream: NodeJS.WriteStream) => (line: string) => void stream.write(`${line}\n`)
  process.exitCode = runPolicyTool(command, args, {
    readFile: (path) => readFileSync(path, 'utf8'),
    out: write(process.stdout),
    err: write(process.stderr),
  })
}
