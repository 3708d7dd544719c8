// What Node's HTTP parser refuses (malformed requests, headers too large, requests too slow)
// gets a JSON answer like every other, written straight on the socket: there is no response
// object then. A request handler still reading that request's body learns why from here.
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { Refusal } from '../refusal.ts'

/** Node's own limits on a client of the broker, which docs/broker.md states: its headers arrive within this… */
export const HEADERS_TIMEOUT_MS = 10_000
/** …and its whole request, body included, within this. */
export const REQUEST_ARRIVAL_TIMEOUT_MS = 30_000

const failures = new WeakMap<Duplex, Refusal>()

/** The client closed the connection before the whole request arrived. */
export function abortedRequest(): Refusal {
  return new Refusal(400, 'request_aborted', 'The client closed the connection before the whole request arrived.')
}

/** Why the parser gave up on the connection, if it did. */
export function parserFailure(socket: Duplex): Refusal | undefined {
  return failures.get(socket)
}

/** The 'clientError' handler: a JSON answer when nothing was answered yet, then the connection closes. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const refusal = refusalFor(error)
  failures.set(socket, refusal)
  const response = (socket as Duplex & { _httpMessage?: { headersSent: boolean } })._httpMessage
  if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
    socket.destroy()
    return
  }
  const text = JSON.stringify({ error: refusal.code, message: refusal.message })
  const head = [
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(text)}`,
    'cache-control: no-store',
    'x-content-type-options: nosniff',
    'connection: close',
  ]
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`, () => socket.destroy())
}

function refusalFor(error: Error & { code?: string }): Refusal {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new Refusal(
      408,
      'request_timeout',
      `The request did not arrive in time: the headers must arrive within ${HEADERS_TIMEOUT_MS / 1000} s and the whole request within ${REQUEST_ARRIVAL_TIMEOUT_MS / 1000} s.`,
    )
  }
  if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE') return abortedRequest()
  if (error.code === 'HPE_HEADER_OVERFLOW')
    return new Refusal(431, 'headers_too_large', 'The request headers are over 16 KiB.')
  return new Refusal(400, 'bad_request', `The request is not well-formed HTTP/1.1 (${error.code ?? 'parse error'}).`)
}
