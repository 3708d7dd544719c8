// The broker's HTTP face: routes, the body limit, JSON answers with Cache-Control: no-store, and
// one audit line per request. What each route does is service.ts's business.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { NO_METRICS, type MetricsRecorder } from './metrics.ts'
import { probeAnswer, type Readiness } from './readiness.ts'
import { Refusal } from './refusal.ts'
import type { AuditRecord, Broker } from './service.ts'

/** The largest body accepted: a key request is a few hundred bytes. */
export const MAX_BODY_BYTES = 16 * 1024

export interface AuditLine extends AuditRecord {
  time: string
  outcome: 'granted' | 'deleted' | 'refused' | 'failed'
  status: number
  request: string
  /** From the request's arrival to the answer, in milliseconds. */
  duration_ms: number
  error?: string
  reason?: string
}

export interface ServerDeps {
  broker: Broker
  audit: (line: AuditLine) => void
  /** For what goes wrong inside the broker itself (never a token or key). */
  logError: (message: string) => void
  now: () => number
  /** Told of every audited request; none by default. */
  metrics?: MetricsRecorder
  /** What GET /readyz answers; without it, ready once listening. */
  readiness?: Readiness
}

type Route = (token: string, body: string, audit: AuditRecord) => ReturnType<Broker['createKey']>

export function createBrokerServer(deps: ServerDeps): Server {
  const server = createServer((req, res) => {
    handle(deps, req, res).catch((error: unknown) => {
      deps.logError(`answering ${req.method} ${pathOf(req)} failed: ${error instanceof Error ? error.message : String(error)}`)
      if (!res.headersSent) send(res, 500, { error: 'internal', message: 'The broker failed; see its log.' })
    })
  })
  // Bounded time for every client: a slow one cannot hold a connection open.
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  server.keepAliveTimeout = 5_000
  return server
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://broker.invalid')
  const probe = req.method === 'GET' || req.method === 'HEAD' ? probeAnswer(url.pathname, deps.readiness) : undefined
  if (probe) {
    // Probes come every few seconds: answered, not audited.
    req.resume()
    send(res, probe.status, probe.body)
    return
  }
  const metrics = deps.metrics ?? NO_METRICS
  metrics.requestStarted()
  const started = performance.now()
  const audit: AuditRecord = {}
  const request = `${req.method} ${url.pathname}`
  let status = 500
  let outcome: AuditLine['outcome'] = 'failed'
  let refusal: Refusal | undefined
  try {
    const route = routeOf(deps.broker, req.method ?? 'GET', url)
    const body = await readBody(req)
    const answer = await route(bearerToken(req), body, audit)
    status = answer.status
    outcome = req.method === 'DELETE' ? 'deleted' : 'granted'
    send(res, status, answer.body)
  } catch (error) {
    if (!(error instanceof Refusal)) throw error
    refusal = error
    status = error.status
    outcome = status >= 500 ? 'failed' : 'refused'
    if (status === 413) res.setHeader('connection', 'close')
    send(res, status, { error: error.code, message: error.message, ...error.details }, error.headers)
  } finally {
    metrics.requestEnded({ method: req.method ?? 'GET', path: url.pathname, outcome, status, error: refusal?.code, seconds: (performance.now() - started) / 1000 })
    deps.audit({
      time: new Date(deps.now()).toISOString(),
      outcome,
      status,
      request,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      ...audit,
      ...(refusal ? { error: refusal.code, reason: refusal.message } : {}),
    })
  }
}

function routeOf(broker: Broker, method: string, url: URL): Route {
  const keyPath = /^\/v1\/keys\/([^/]+)$/.exec(url.pathname)
  if (url.pathname === '/v1/keys' && method === 'POST') return (token, body, audit) => broker.createKey(token, body, audit)
  if (url.pathname === '/v1/keys' && method === 'DELETE') {
    const tags = url.searchParams.get('tags')
    if (tags === null) throw new Refusal(400, 'bad_request', 'DELETE /v1/keys needs ?tags=a,b (the keys that carry all of them), or use DELETE /v1/keys/{key_id}.')
    return (token, _body, audit) => broker.deleteKeysTagged(token, tags, audit)
  }
  if (keyPath && method === 'DELETE') {
    const keyId = decodedSegment(keyPath[1] ?? '')
    return (token, _body, audit) => broker.deleteKey(token, keyId, audit)
  }
  if (url.pathname === '/v1/keys' || keyPath) {
    throw new Refusal(405, 'method_not_allowed', `${method} is not allowed here.`, { headers: { allow: url.pathname === '/v1/keys' ? 'POST, DELETE' : 'DELETE' } })
  }
  throw new Refusal(404, 'not_found', `There is no ${url.pathname}; the broker serves POST /v1/keys, DELETE /v1/keys/{key_id}, DELETE /v1/keys?tags=…, GET /healthz and GET /readyz.`)
}

/** A path segment decoded; one that does not decode is left as sent, and fails the key id check. */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

function bearerToken(req: IncomingMessage): string {
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(req.headers.authorization ?? '')
  if (!match?.[1]) throw new Refusal(401, 'token_missing', "Send the job's GitHub OIDC token as Authorization: Bearer <token> (the job needs permissions: id-token: write).")
  return match[1]
}

/** The body as text, refused (413) past MAX_BODY_BYTES without reading the rest. */
function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = (): Refusal => new Refusal(413, 'body_too_large', `The body is over ${MAX_BODY_BYTES} bytes; a key request is a small JSON object.`)
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data')
        req.pause()
        reject(tooLarge())
      } else {
        chunks.push(chunk)
      }
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  })
  res.end(text)
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://broker.invalid').pathname
}
