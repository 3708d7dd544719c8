// The broker's HTTP face: routes, time and size limits, JSON answers with Cache-Control:
// no-store, and one audit line per request. What each route does is the Broker's
// business (../service.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import {
  abortedRequest,
  answerClientError,
  HEADERS_TIMEOUT_MS,
  parserFailure,
  REQUEST_ARRIVAL_TIMEOUT_MS,
} from './client-errors.ts'
import { logLine } from '../../shared/log-text.ts'
import type { Drain } from './drain.ts'
import { NO_METRICS, type MetricsRecorder } from './metrics.ts'
import type { Readiness } from '../readiness.ts'
import { probe } from './probes.ts'
import { Refusal } from '../refusal.ts'
import { requestLine, routeOf, routeTemplate, type Route } from './request-target.ts'
import type { Answer, AuditRecord, Broker } from '../service.ts'

/** The largest body accepted: a key request is a few hundred bytes. */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024

export interface AuditLine extends AuditRecord {
  time: string
  /** `undelivered`: a key was made but its caller left before the answer was written; it was deleted. */
  outcome: 'granted' | 'deleted' | 'listed' | 'refused' | 'failed' | 'undelivered'
  status: number
  /** The method and the request target as received. */
  request: string
  /** From the request's arrival to the answer, in milliseconds. */
  duration_ms: number
  error?: string
  reason?: string
}

export interface ServerDeps {
  /** The broker, or the one in force when each request arrives (reloads of the policy and the admin key). */
  broker: Broker | (() => Broker)
  audit: (line: AuditLine) => void
  /** For what goes wrong inside the broker itself (never a token or key). */
  logError: (message: string) => void
  now: () => number
  drain: Drain
  /** Connections open at once; more are refused as they come. */
  maxConnections: number
  /** Told of every audited request; none by default. */
  metrics?: MetricsRecorder
  /** What GET /readyz answers; without it, ready once listening. */
  readiness?: Readiness
}

type Verdict = Pick<AuditLine, 'outcome' | 'status' | 'error' | 'reason'>

export function createBrokerServer(deps: ServerDeps): Server {
  const server = createServer(
    {
      // Bounded time for every client. Node checks these limits every connectionsCheckingInterval
      // (30 s by default), which would let a slow client hold on for up to 30 s more.
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_ARRIVAL_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      deps.drain.track(
        handle(deps, req, res).catch((error: unknown) => {
          deps.logError(
            logLine(
              `answering ${requestLine(req.method, req.url)} failed: ${error instanceof Error ? error.message : String(error)}`,
            ),
          )
          send(res, deps, 500, { error: 'internal', message: 'The broker failed; see its log.' })
        }),
      )
    },
  )
  server.maxConnections = deps.maxConnections
  server.on('clientError', answerClientError)
  return server
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now()
  const metrics = deps.metrics ?? NO_METRICS
  let callerGone = false
  res.once('close', () => (callerGone = !res.writableFinished))
  const audit: AuditRecord = {}
  let verdict: Verdict = { outcome: 'failed', status: 500 }
  let route: Route | undefined
  try {
    route = routeOf(req.method ?? '', req.url ?? '')
    if (route.kind === 'probe') {
      // Probes come every few seconds: answered, not audited.
      const answer = probe(route.path, deps.readiness)
      send(res, deps, answer.status, answer.body)
      return
    }
    metrics.requestStarted()
    // Judged to the end by the policy and the admin key in force when it arrived.
    const broker = typeof deps.broker === 'function' ? deps.broker() : deps.broker
    const body = await readBody(req, deps.drain)
    const answer = await answerRoute(broker, route, bearerToken(req), body, audit)
    verdict =
      route.kind === 'mint'
        ? await deliverKey(broker, res, deps, answer, audit, () => callerGone)
        : answered(res, deps, route, answer)
  } catch (error) {
    if (!(error instanceof Refusal)) throw error
    verdict = {
      outcome: error.status >= 500 ? 'failed' : 'refused',
      status: error.status,
      error: error.code,
      reason: error.message,
    }
    // The body was left unread: the connection cannot carry another request.
    const closing: Record<string, string> = [408, 413, 503].includes(error.status) ? { connection: 'close' } : {}
    send(
      res,
      deps,
      error.status,
      { error: error.code, message: error.message, ...error.details },
      { ...error.headers, ...closing },
    )
  } finally {
    if (route?.kind !== 'probe') {
      const { outcome, status, error, reason } = verdict
      const durationMs = Math.round((performance.now() - started) * 100) / 100
      // A request refused before it had a route is counted too, as `other`; it was never in flight.
      if (route === undefined) metrics.requestStarted()
      metrics.requestEnded({
        route: route === undefined ? 'other' : routeTemplate(route),
        outcome,
        status,
        error,
        seconds: durationMs / 1000,
      })
      deps.audit({
        time: new Date(deps.now()).toISOString(),
        outcome,
        status,
        request: requestLine(req.method, req.url),
        duration_ms: durationMs,
        ...audit,
        ...(error ? { error, reason } : {}),
      })
    }
  }
}

function answerRoute(
  broker: Broker,
  route: Exclude<Route, { kind: 'probe' }>,
  token: string,
  body: string,
  audit: AuditRecord,
): Promise<Answer> {
  switch (route.kind) {
    case 'mint':
      return broker.createKey(token, body, audit)
    case 'grant':
      return broker.grantToken(token, body, audit)
    case 'find':
      return broker.findKeys(token, route.filter, audit)
    case 'delete-key':
      return broker.deleteKey(token, route.keyId, audit)
    case 'delete-tagged':
      return broker.deleteKeysTagged(token, route.tags, audit)
    case 'delete-invocation':
      return broker.deleteKeysOfInvocation(token, route.invocation, audit)
    case 'key-usage':
      return broker.keyUsage(token, route.keyId, route.since, audit)
    case 'tagged-usage':
      return broker.usageTagged(token, route.tags, route.since, audit)
  }
}

function answered(res: ServerResponse, deps: ServerDeps, route: Route, answer: Answer): Verdict {
  send(res, deps, answer.status, answer.body)
  return {
    outcome:
      route.kind.endsWith('usage') || route.kind === 'find' ? 'listed' : route.kind === 'grant' ? 'granted' : 'deleted',
    status: answer.status,
  }
}

/**
 * Hands the key to its caller. A caller who left while the key was being made, or before the
 * answer was written out, never gets it: nobody may hold it, so it is deleted.
 */
async function deliverKey(
  broker: Broker,
  res: ServerResponse,
  deps: ServerDeps,
  answer: Answer,
  audit: AuditRecord,
  gone: () => boolean,
): Promise<Verdict> {
  if (!gone() && (await written(res, deps, answer))) return { outcome: 'granted', status: answer.status }
  const keyId = audit.key_id ?? ''
  const deleted = await broker.discardUndelivered(keyId, audit)
  const reason = deleted
    ? `The caller left before the answer was written; key ${keyId} was deleted.`
    : `The caller left before the answer was written, and deleting key ${keyId} failed: delete it in the Deepgram console.`
  return { outcome: deleted ? 'undelivered' : 'failed', status: 499, error: 'caller_gone', reason }
}

/** Sends the answer; true once it was handed to the connection whole, false if the connection closed first. */
function written(res: ServerResponse, deps: ServerDeps, answer: Answer): Promise<boolean> {
  return new Promise((resolve) => {
    res.once('finish', () => resolve(true))
    res.once('close', () => resolve(res.writableFinished))
    if (!send(res, deps, answer.status, answer.body)) resolve(false)
  })
}

function bearerToken(req: IncomingMessage): string {
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(req.headers.authorization ?? '')
  if (!match?.[1])
    throw new Refusal(
      401,
      'token_missing',
      "Send the job's GitHub OIDC token as Authorization: Bearer <token> (the job needs permissions: id-token: write).",
    )
  return match[1]
}

/**
 * The body as text. Refused past MAX_REQUEST_BODY_BYTES without reading the rest (413); when the client
 * breaks the request (closes early, bad chunked framing, too slow) with the parser's reason or
 * 400; when the broker starts draining, 503.
 */
function readBody(req: IncomingMessage, drain: Drain): Promise<string> {
  const tooLarge = (): Refusal =>
    new Refusal(
      413,
      'body_too_large',
      `The body is over ${MAX_REQUEST_BODY_BYTES} bytes; a key request is a small JSON object.`,
    )
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BODY_BYTES) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const fail = (refusal: Refusal): void => {
      if (settled) return
      settled = true
      done()
      req.removeAllListeners('data')
      req.pause()
      reject(refusal)
    }
    // 'close' comes after every request, read or not: only one cut short is worth a refusal.
    const broken = (): void => {
      if (!settled) fail(parserFailure(req.socket) ?? abortedRequest())
    }
    const done = drain.reading(() =>
      fail(new Refusal(503, 'shutting_down', 'The broker is shutting down; send the request again.')),
    )
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_REQUEST_BODY_BYTES) fail(tooLarge())
      else chunks.push(chunk)
    })
    req.on('end', () => {
      if (settled) return
      settled = true
      done()
      resolve(Buffer.concat(chunks).toString('utf8'))
    })
    req.on('error', broken)
    req.on('close', broken)
  })
}

/** Writes a JSON answer if the connection can still take one; false when it cannot. */
function send(
  res: ServerResponse,
  deps: ServerDeps,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): boolean {
  return sendJson(res, status, body, { ...(deps.drain.draining ? { connection: 'close' } : {}), ...headers })
}

/** A JSON answer that no cache keeps, if the connection can still take one; false when it cannot. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): boolean {
  if (res.headersSent || !res.socket || res.socket.destroyed) return false
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  })
  res.end(text)
  return true
}
