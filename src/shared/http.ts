import { request, type Dispatcher } from 'undici'
import { ServiceError, UnusableAnswerError, type ServiceName } from './errors.ts'

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: string
  headers: Record<string, string>
  body?: string
  /** A shorter deadline than the sender's own, for an attempt near the end of its step's budget. */
  timeoutMs?: number
  /** Aborts the exchange at once, e.g. when the job is cancelled. */
  signal?: AbortSignal
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | undefined>
  body: string
}

/** Sends one request and reads the whole answer. Throws TransportError when no usable answer came. */
export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>

/** No HTTP answer. `sent` is false only when the request certainly never reached the server. */
export class TransportError extends Error {
  readonly sent: boolean
  /** The proxy the request went through, without credentials; undefined when it went direct. */
  readonly proxy: string | undefined
  constructor(message: string, sent: boolean, proxy?: string) {
    super(message)
    this.name = 'TransportError'
    this.sent = sent
    this.proxy = proxy
  }
}

/** An answer came, but it was longer than the sender reads. Its status says what kind it was. */
export class AnswerTooLargeError extends Error {
  readonly status: number
  readonly headers: Record<string, string | undefined>
  readonly limitBytes: number
  constructor(status: number, headers: Record<string, string | undefined>, limitBytes: number) {
    super(`the answer (HTTP ${status}) is longer than the ${formatBytes(limitBytes)} read at most`)
    this.name = 'AnswerTooLargeError'
    this.status = status
    this.headers = headers
    this.limitBytes = limitBytes
  }
}

/** What a client was doing when an answer came too large: for the error every client reports. */
export interface OversizedContext {
  service: ServiceName
  /** What was being done, as a gerund phrase: "creating the key". */
  action: string
  /** The answer's request id, from the header the service uses for it. */
  requestId: string | undefined
  /** The input that says where the service is: deepgram-api-url, github-api-url, broker-url. */
  urlInput: string
}

const API_OF: Record<ServiceName, string> = {
  Deepgram: "Deepgram's API",
  GitHub: "GitHub's API",
  'The broker': 'the broker',
}

/**
 * An answer too large to read, as every client reports it: the service, the status, what was
 * being done, and what to do. The services' answers are far smaller, so something else most
 * likely answered: a wrong URL or a proxy. A 2xx is an UnusableAnswerError, since the service may
 * have done what it was asked (a create that may have made a key is cleaned up as after any
 * unusable answer); any other status is a ServiceError, retried or not as its status says.
 */
export function oversizedAnswerError(
  error: AnswerTooLargeError,
  context: OversizedContext,
): ServiceError | UnusableAnswerError {
  const { service, action, requestId, urlInput } = context
  const problem = `the answer is over ${formatBytes(error.limitBytes)}, the most this action reads, and was not read`
  const hint = `Check that ${urlInput} points at ${API_OF[service]}, and that no proxy answers in its place.`
  if (error.status >= 200 && error.status < 300)
    return new UnusableAnswerError(service, action, error.status, problem, requestId, hint)
  return new ServiceError({ service, action, status: error.status, message: problem, requestId, hint })
}

// Failures to open a connection: the server never saw the request, so even a create is safe to retry.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_INVALID_ARG', // refused by undici before anything was sent, such as an invalid header value
])

export interface SendOptions {
  /** Deadline of one whole exchange: connecting, the headers and every byte of the body. */
  timeoutMs: number
  /** Bytes of an answer read at most; past them the exchange is abandoned. */
  maxAnswerBytes: number
  /** The proxy a URL goes through, for error messages; undefined when it goes direct. */
  proxyFor?: (url: string) => string | undefined
}

/**
 * The largest answer read. Deepgram's and GitHub's answers are a few kilobytes; a project's key
 * listing of a thousand keys is about 300 KB.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024

/**
 * An HttpSend over undici with the given dispatcher (the proxy-aware agent in production).
 * Redirects are never followed (undici.request does not), so credentials reach only the host
 * they were configured for.
 */
export function undiciSend(dispatcher: Dispatcher, options: SendOptions): HttpSend {
  return async ({ method, url, headers, body, timeoutMs, signal }) => {
    const deadline = Math.max(0, Math.min(options.timeoutMs, timeoutMs ?? options.timeoutMs))
    // A timer cleared when the request ends: AbortSignal.timeout's would fire (and build an
    // AbortError) for every request, long after its answer, which a busy broker pays for.
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(), deadline).unref()
    const abort = signal ? AbortSignal.any([timeout.signal, signal]) : timeout.signal
    const proxy = options.proxyFor?.(url)
    try {
      const response = await request(url, { method, headers, body, dispatcher, signal: abort })
      const responseHeaders = flattenHeaders(response.headers)
      const text = await readCapped(response.body, options.maxAnswerBytes, response.statusCode, responseHeaders)
      return { status: response.statusCode, headers: responseHeaders, body: text }
    } catch (error) {
      if (error instanceof AnswerTooLargeError) throw error
      if (signal?.aborted) throw new TransportError(`cancelled: ${String(signal.reason)}`, true, proxy)
      if (abort.aborted) throw new TransportError(`no complete answer within ${deadline} ms`, true, proxy)
      throw toTransportError(error, proxy)
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The body as text, or AnswerTooLargeError as soon as it passes `limit` bytes (the rest is not read). */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  limit: number,
  status: number,
  headers: Record<string, string | undefined>,
): Promise<string> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of body) {
    length += chunk.length
    if (length > limit) {
      body.destroy()
      throw new AnswerTooLargeError(status, headers, limit)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) {
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}

function toTransportError(error: unknown, proxy: string | undefined): TransportError {
  const codes = errorCodes(error)
  const message = error instanceof Error ? error.message : String(error)
  // A proxy that cannot open the tunnel answers before our request is written.
  const proxyRefused = /^Proxy response \(\d+\) !== 200 when HTTP Tunneling/.test(message)
  const sent = !(proxyRefused || codes.some((code) => NOT_SENT_CODES.has(code)))
  return new TransportError(codes.length > 0 ? `${message} (${codes.join(', ')})` : message, sent, proxy)
}

/** The `code`s along an error's chain of causes: undici wraps the socket's own error. */
function errorCodes(error: unknown): string[] {
  const codes: string[] = []
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as Error & { code?: unknown }).code
    if (typeof code === 'string') codes.push(code)
  }
  return codes
}

/**
 * The proxy undici's EnvHttpProxyAgent uses for `url`, without its credentials, or undefined
 * when the request goes direct (no proxy set, or the host is in NO_PROXY).
 */
export function proxyFromEnv(env: NodeJS.ProcessEnv, url: string): string | undefined {
  const target = new URL(url)
  const http = env.HTTP_PROXY || env.http_proxy
  const chosen = target.protocol === 'https:' ? env.HTTPS_PROXY || env.https_proxy || http : http
  if (!chosen || bypassesProxy(env.NO_PROXY || env.no_proxy || '', target)) return undefined
  try {
    const proxy = new URL(chosen)
    return `${proxy.protocol}//${proxy.host}`
  } catch {
    return 'the proxy set in the environment (not a URL)'
  }
}

/** NO_PROXY as undici reads it: `*`, or hosts (with an optional port) matching exactly or as a suffix. */
function bypassesProxy(noProxy: string, target: URL): boolean {
  const port = target.port || (target.protocol === 'https:' ? '443' : '80')
  return noProxy
    .split(/[,\s]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true
      const [host = '', entryPort] = entry.replace(/^\*?\./, '.').split(':')
      if (entryPort !== undefined && entryPort !== port) return false
      const name = target.hostname
      return host.startsWith('.')
        ? name.endsWith(host) || name === host.slice(1)
        : name === host || name.endsWith(`.${host}`)
    })
}

/**
 * A fetch over an HttpSend, for clients that want one (Octokit): they then share our proxy
 * support and timeouts. Bodies are strings; that is all JSON APIs need.
 */
export function fetchOver(send: HttpSend): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value))
    const method = (init?.method ?? 'GET').toUpperCase() as HttpRequest['method']
    const body = typeof init?.body === 'string' ? init.body : undefined
    const response = await send({ method, url, headers, body, signal: init?.signal ?? undefined })
    const responseHeaders = new Headers()
    for (const [name, value] of Object.entries(response.headers))
      if (value !== undefined) responseHeaders.set(name, value)
    // Statuses without content may not carry a body, not even an empty one.
    const content = [101, 204, 205, 304].includes(response.status) ? null : response.body
    return new Response(content, { status: response.status, headers: responseHeaders })
  }
}
