// `node dist/broker/index.js [serve]`: reads the environment and the policy, wires the real
// network, clock and logs into the broker, and serves until SIGTERM or SIGINT. Any problem with the
// settings or the policy stops it with exit code 1 before it listens: it fails closed. The policy
// and the admin key and marker secret files are read again when they change, and on SIGHUP (reload/).
// `check` and `explain` are the policy tools (policy/check-and-explain.ts): files in, text out, no
// network.
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent } from 'undici'
import { DeepgramClient } from '../deepgram/client.ts'
import { newInvocationId } from '../deepgram/marker.ts'
import { MAX_ANSWER_BYTES, undiciSend, type HttpSend } from '../shared/http.ts'
import { jsonLine } from '../shared/log-text.ts'
import type { RetryClock, RetryPolicy } from '../shared/retry.ts'
import { ConfigError } from './config-error.ts'
import { readConfig, type BrokerConfig } from './config.ts'
import { fetchIssuerJson, ISSUER_LIMITS } from './oidc/discovery.ts'
import { Drain } from './http/drain.ts'
import { createBrokerMetrics, NO_METRICS, type MetricsRecorder } from './http/metrics.ts'
import { createOpsServer } from './http/ops-server.ts'
import { Ownership } from './ownership.ts'
import { PolicyError, type Policy } from './policy/policy.ts'
import { runPolicyTool } from './policy/check-and-explain.ts'
import { readRateLimitConfig, type RateLimitConfig } from './limits/config.ts'
import { openRateLimits } from './limits/open-rate-limits.ts'
import { Readiness } from './readiness.ts'
import { keyFingerprint } from './reload/admin-key.ts'
import { adminKeyFile, firstLook, markerSecretFile, policyFile } from './reload/files.ts'
import { InForce } from './reload/in-force.ts'
import { issuerKeyFetches } from './reload/issuer-keys.ts'
import { createReloadMetrics, NO_RELOAD_METRICS } from './reload/metrics.ts'
import { startReloading } from './reload/reloader.ts'
import type { WatchedFile } from './reload/watched-file.ts'
import { createBrokerServer } from './http/server.ts'
import { Broker, DEADLINES } from './service.ts'
import { createOidcTokenVerifier, type IssuerKeySets } from './oidc/verify-token.ts'

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

function serveUntilStopped(): void {
  let config: BrokerConfig
  let policyWatch: WatchedFile<Policy>
  let policy: Policy
  let adminKeyWatch: WatchedFile<string> | undefined
  let adminKey: string
  let markerSecretWatch: WatchedFile<string> | undefined
  let markerSecret: string | undefined
  let rateLimit: RateLimitConfig
  try {
    config = readConfig(process.env)
    rateLimit = readRateLimitConfig(process.env)
    policyWatch = policyFile(config.policyPath, readFileSync)
    policy = firstLook(policyWatch, 'BROKER_POLICY')
    const source = config.adminKey
    if ('file' in source) {
      adminKeyWatch = adminKeyFile(source.file, readFileSync)
      adminKey = firstLook(adminKeyWatch, 'DEEPGRAM_ADMIN_KEY_FILE')
    } else {
      adminKey = source.key
    }
    const marker = config.markerSecret
    if (marker && 'file' in marker) {
      markerSecretWatch = markerSecretFile(marker.file, readFileSync)
      markerSecret = firstLook(markerSecretWatch, 'BROKER_MARKER_SECRET_FILE')
    } else {
      markerSecret = marker?.secret
    }
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PolicyError)) throw error
    process.stderr.write(`deepgram-key-broker cannot start: ${error.message}\n`)
    process.exit(1)
  }
  // Metrics cost a little CPU on every request: counted only when someone can read them.
  const metrics = config.metrics ? createBrokerMetrics() : undefined
  const recorder = metrics?.recorder ?? NO_METRICS
  const reloadRecorder = metrics ? createReloadMetrics(metrics.registry) : NO_RELOAD_METRICS
  const readiness = new Readiness(policy.issuers)
  const agent = new Agent({ keepAliveTimeout: 30_000 })
  const deepgramSend = observed(
    undiciSend(agent, { timeoutMs: DEEPGRAM_TIMEOUT_MS, maxAnswerBytes: MAX_ANSWER_BYTES }),
    recorder,
  )
  const issuerSend = undiciSend(agent, ISSUER_LIMITS)
  const logError = (message: string): void => void process.stderr.write(`${message}\n`)
  const onKeySetFetch = (issuer: string, outcome: 'ok' | 'failed'): void => {
    recorder.keySetFetched(issuer, outcome)
    if (outcome === 'ok') readiness.keySetFetched(issuer)
  }
  const keySets: IssuerKeySets = new Map()
  // One rate limit for every policy in force: the budgets come with each request's policy.
  const limits = openRateLimits(rateLimit, { now: clock.now, readiness, registry: metrics?.registry, logError })
  // Built again at every reload; each request keeps the one in force when it arrived.
  const inForce = new InForce(policy, { adminKey, markerSecret }, (policy, keyring) => {
    const verify = createOidcTokenVerifier({
      issuers: policy.issuers,
      audience: policy.audience,
      fetchJson: (url) => fetchIssuerJson(issuerSend, url),
      now: clock.now,
      onKeySetFetch,
      keySets,
    })
    const broker = new Broker({
      policy,
      verify,
      deepgramUntil: (deadline) =>
        new DeepgramClient({
          baseUrl: config.deepgramApiUrl,
          apiKey: keyring.adminKey,
          send: deepgramSend,
          clock,
          policy: DEEPGRAM_RETRY,
          userAgent: USER_AGENT,
          deadline,
        }),
      mint: { clock, policy: DEEPGRAM_RETRY, log: logError },
      limits,
      ownership: new Ownership(keyring.macKeys, policy.issuers),
      newInvocation: () => newInvocationId(),
      now: clock.now,
    })
    return { broker, verify }
  })
  reloadRecorder.adminKeyInUse(keyFingerprint(adminKey))
  const drain = new Drain()
  const audit = (line: object): void => void process.stdout.write(`${jsonLine(line)}\n`)
  const server = createBrokerServer({
    broker: () => inForce.value.broker,
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
  const fetchKeySets = issuerKeyFetches({
    prefetch: () => inForce.value.verify.prefetch(),
    ready: () => readiness.keySetsFetched,
    logError,
  })
  fetchKeySets()
  startReloading(
    {
      policy: {
        file: policyWatch,
        use: (policy) => {
          inForce.usePolicy(policy)
          readiness.issuersChanged(policy.issuers)
          fetchKeySets()
        },
      },
      adminKey: adminKeyWatch && {
        file: adminKeyWatch,
        use: (key) => inForce.useAdminKey(key),
        inUse: () => inForce.adminKey,
      },
      markerSecret: markerSecretWatch && { file: markerSecretWatch, use: (secret) => inForce.useMarkerSecret(secret) },
      audit,
      metrics: reloadRecorder,
      now: clock.now,
    },
    {
      intervalMs: config.reloadSeconds * 1000,
      every: (ms, check) => setInterval(check, ms).unref(),
      onSighup: (check) => process.on('SIGHUP', check),
    },
  )
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

const [command = 'serve', ...args] = process.argv.slice(2)
if (command === 'serve' && args.length === 0) {
  serveUntilStopped()
} else {
  const write = (stream: NodeJS.WriteStream) => (line: string) => void stream.write(`${line}\n`)
  process.exitCode = runPolicyTool(command, args, {
    readFile: (path) => readFileSync(path, 'utf8'),
    out: write(process.stdout),
    err: write(process.stderr),
  })
}
