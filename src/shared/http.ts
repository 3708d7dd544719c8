import { request, type Dispatcher } from 'undici'

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: string
  headers: Record<string, string>
  body?: string
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | undefined>
  body: string
}

/** Sends one request and reads the whole answer. Throws TransportError when no answer came. */
export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>

/** No HTTP answer. `sent` is false only when the request certainly never reached the server. */
export class TransportError extends Error {
  readonly sent: boolean
  constructor(message: string, sent: boolean) {
    super(message)
    this.name = 'TransportError'
    this.sent = sent
  }
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

export interface SendLimits {
  /** The whole exchange, connection to last byte, ends within this; a slow trickle cannot hold it open. */
  deadlineMs?: number
  /** An answer longer than this is abandoned unread: an untrusted server cannot make us buffer without end. */
  maxBodyBytes?: number
}

/** An HttpSend over undici with the given dispatcher (the proxy-aware agent in production). */
export function undiciSend(dispatcher: Dispatcher, timeoutMs: number, limits: SendLimits = {}): HttpSend {
  return async ({ method, url, headers, body }) => {
    try {
      const response = await request(url, {
        method,
        headers,
        body,
        dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: limits.deadlineMs === undefined ? undefined : AbortSignal.timeout(limits.deadlineMs),
      })
      const text = limits.maxBodyBytes === undefined ? await response.body.text() : await readAtMost(response.body, limits.maxBodyBytes)
      return { status: response.statusCode, headers: flattenHeaders(response.headers), body: text }
    } catch (error) {
      throw error instanceof TransportError ? error : toTransportError(error)
    }
  }
}

async function readAtMost(body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > maxBytes) {
      body.destroy()
      throw new TransportError(`the answer is longer than ${maxBytes} bytes`, true)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) {
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}

function toTransportError(error: unknown): TransportError {
  const codes = errorCodes(error)
  const message = error instanceof Error ? error.message : String(error)
  // A proxy that cannot open the tunnel answers before our request is written.
  const proxyRefused = /^Proxy response \(\d+\) !== 200 when HTTP Tunneling/.test(message)
  const sent = !(proxyRefused || codes.some((code) => NOT_SENT_CODES.has(code)))
  return new TransportError(codes.length > 0 ? `${message} (${codes.join(', ')})` : message, sent)
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
    const response = await send({ method, url, headers, body })
    const responseHeaders = new Headers()
    for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) responseHeaders.set(name, value)
    // Statuses without content may not carry a body, not even an empty one.
    const content = [101, 204, 205, 304].includes(response.status) ? null : response.body
    return new Response(content, { status: response.status, headers: responseHeaders })
  }
}
