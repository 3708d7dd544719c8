// A reverse proxy in front of a real service (the broker, in tests) that spoils its answers on
// demand: the service did the work, the client sees a lost, broken or oversized answer. This is
// how a hostile network looks from the action's side while the key really exists behind it.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Spoil =
  /** The service answers; the client's connection is cut before it sees the answer. */
  | { kind: 'lose' }
  /** The service answers; the client gets a 200 that is not JSON. */
  | { kind: 'not-json' }
  /** The service answers; the client gets it padded past 1 MiB. */
  | { kind: 'oversized' }
  /** The service answers; the client gets its JSON changed by `edit`. */
  | { kind: 'rewrite'; edit: (body: Record<string, unknown>) => unknown }
  /** The service answers; the client never hears back. */
  | { kind: 'hang' }
  /** The request never reaches the service: the client gets this status and a JSON error. */
  | { kind: 'refuse'; status: number }

export interface Relay {
  url: string
  /** Spoils the answers to the next `times` (1) requests whose `METHOD path` (query included) matches. */
  spoilNext(match: RegExp, spoil: Spoil, times?: number): void
  /** Spoils nothing more: every request from now on reaches the service and its answer the client. */
  forget(): void
  close(): Promise<void>
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('error', reject)
    stream.on('end', () => resolve(Buffer.concat(chunks)))
  })
}

export async function startRelay(target: string): Promise<Relay> {
  const pending: { match: RegExp; spoil: Spoil }[] = []
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req)
      const route = `${req.method} ${req.url}`
      const index = pending.findIndex((p) => p.match.test(route))
      const spoil = index < 0 ? undefined : pending.splice(index, 1)[0]?.spoil
      if (spoil?.kind === 'refuse') {
        res
          .writeHead(spoil.status, { 'content-type': 'application/json', 'x-request-id': 'relay' })
          .end(JSON.stringify({ error: 'relay_refused', message: 'Refused by the relay.' }))
        return
      }
      const upstream = httpRequest(`${target}${req.url}`, {
        method: req.method,
        headers: { ...req.headers, host: new URL(target).host },
      })
      upstream.end(body)
      const answer = await new Promise<IncomingMessage>((resolve, reject) =>
        upstream.on('response', resolve).on('error', reject),
      )
      const text = (await readAll(answer)).toString('utf8')
      const headers = {
        'content-type': 'application/json',
        'x-request-id': String(answer.headers['x-request-id'] ?? 'relay'),
      }
      switch (spoil?.kind) {
        case 'lose':
          req.socket.destroy()
          return
        case 'hang':
          return
        case 'not-json':
          res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end('<html>upstream answered</html>')
          return
        case 'oversized':
          res
            .writeHead(answer.statusCode ?? 500, headers)
            .end(`${text.slice(0, -1)},"padding":"${'x'.repeat(1100 * 1024)}"}`)
          return
        case 'rewrite':
          res
            .writeHead(answer.statusCode ?? 500, headers)
            .end(JSON.stringify(spoil.edit(JSON.parse(text) as Record<string, unknown>)))
          return
        default:
          res.writeHead(answer.statusCode ?? 500, headers).end(text)
      }
    })().catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spoilNext: (match, spoil, times = 1) =>
      void pending.push(...Array.from({ length: times }, () => ({ match, spoil }))),
    forget: () => void pending.splice(0),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
