// `node dist/broker/index.js`: reads the environment and the policy, wires the real network,
// clock and logs into the broker, and serves until SIGTERM or SIGINT. Any problem with the
// settings or the policy stops it with exit code 1 before it listens: it fails closed.
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent } from 'undici'
import { DeepgramClient } from '../deepgram/client.ts'
import { newInvocationId } from '../deepgram/marker.ts'
import { MAX_BODY_BYTES, undiciSend } from '../shared/http.ts'
import { jsonLine } from '../shared/log-text.ts'
import type { RetryClock, RetryPolicy } from '../shared/retry.ts'
import { ConfigError, readConfig, type BrokerConfig } from './config.ts'
import { fetchIssuerJson, ISSUER_LIMITS } from './discovery.ts'
import { Drain } from './drain.ts'
import { markerSecret, Ownership } from './ownership.ts'
import { parsePolicy, PolicyError, type Policy } from './policy.ts'
import { RateLimiter } from './rate-limit.ts'
import { createBrokerServer } from './server.ts'
import { Broker, DEADLINES } from './service.ts'
import { createTokenVerifier } from './tokens.ts'

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

const clock: RetryClock = { now: () => Date.now(), sleep: (ms) => sleep(ms), random: () => Math.random() }

function start(): void {
  let config: BrokerConfig
  let policy: Policy
  try {
    config = readConfig(process.env)
    policy = loadPolicy(config.policyPath)
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyError)) throw error
    process.stderr.write(`deepgram-key-broker cannot start: ${error.message}\n`)
    process.exit(1)
  }
  const agent = new Agent({ keepAliveTimeout: 30_000 })
  const deepgramSend = undiciSend(agent, { timeoutMs: DEEPGRAM_TIMEOUT_MS, maxBodyBytes: MAX_BODY_BYTES })
  const deepgramUntil = (deadline: number): DeepgramClient =>
    new DeepgramClient({ baseUrl: config.deepgramApiUrl, apiKey: config.adminKey, send: deepgramSend, clock, policy: DEEPGRAM_RETRY, userAgent: USER_AGENT, deadline })
  const issuerSend = undiciSend(agent, ISSUER_LIMITS)
  const logError = (message: string): void => void process.stderr.write(`${message}\n`)
  const broker = new Broker({
    policy,
    verify: createTokenVerifier({ issuers: policy.issuers, audience: policy.audience, fetchJson: (url) => fetchIssuerJson(issuerSend, url), now: clock.now }),
    deepgramUntil,
    mint: { clock, policy: DEEPGRAM_RETRY, log: logError },
    limiter: new RateLimiter(policy.keysPerMinute, clock.now),
    deleteLimiter: new RateLimiter(policy.deletesPerMinute, clock.now),
    ownership: new Ownership(markerSecret(config.adminKey), policy.issuers),
    newInvocation: () => newInvocationId(),
    now: clock.now,
  })
  const drain = new Drain()
  const audit = (line: object): void => void process.stdout.write(`${jsonLine(line)}\n`)
  const server = createBrokerServer({ broker, audit, logError, now: clock.now, drain, maxConnections: config.maxConnections })
  server.on('error', (error) => {
    process.stderr.write(`deepgram-key-broker cannot listen on ${config.host}:${config.port}: ${error.message}\n`)
    process.exit(1)
  })
  server.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo
    const host = config.host.includes(':') ? `[${config.host}]` : config.host
    process.stdout.write(`listening on http://${host}:${port}\n`)
  })
  // Stop accepting, cut requests still sending their body, let every other one end (each mint
  // delivered, or its key deleted, and audited), then exit 0. DRAIN_MS is a backstop that the
  // deadlines keep from being reached.
  const stop = (): void => {
    drain.begin()
    server.close()
    server.closeIdleConnections()
    setTimeout(() => {
      logError(`deepgram-key-broker: requests still open ${DRAIN_MS} ms after SIGTERM; exiting anyway.`)
      process.exit(1)
    }, DRAIN_MS).unref()
    void drain
      .settled()
      .then(() => agent.close())
      .finally(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

function loadPolicy(path: string): Policy {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`BROKER_POLICY ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}). Give the path of the policy file.`)
  }
  return parsePolicy(text, path)
}

start()
