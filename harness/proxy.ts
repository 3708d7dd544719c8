// A forward proxy small enough to trust in tests: it proves that traffic went through the proxy
// the action was told to use, by recording the host:port of every target it was asked for.
import { createServer, request as httpRequest } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

export interface ForwardProxy {
  url: string
  /** 'host:port' per CONNECT tunnel or forwarded request, in arrival order. */
  hits: string[]
  close(): Promise<void>
}

type Track = (socket: Duplex) => void

export function startForwardProxy(): Promise<ForwardProxy> {
  const hits: string[] = []
  // Tunnelled sockets leave the HTTP server's bookkeeping, so closeAllConnections() misses them.
  const sockets = new Set<Duplex>()
  const track: Track = (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const server = createServer((req, res) => forward(req, res, hits, track))
  server.on('connection', track)
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => tunnel(req, client, head, hits, track))

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({ url: `http://127.0.0.1:${port}`, hits, close: () => closeProxy(server, sockets) })
    })
  })
}

function tunnel(req: IncomingMessage, client: Duplex, head: Buffer, hits: string[], track: Track): void {
  client.on('error', () => client.destroy())
  const target = parseTarget(`http://${req.url ?? ''}`)
  if (target === undefined) {
    client.end('HTTP/1.1 400 Bad Request\r\n\r\n')
    return
  }
  hits.push(`${target.host}:${target.port}`)
  const upstream = connect(target.port, target.host)
  track(upstream)
  let established = false
  upstream.once('connect', () => {
    established = true
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    if (head.length > 0) upstream.write(head)
    upstream.pipe(client)
    client.pipe(upstream)
  })
  upstream.on('error', () => {
    if (established) client.destroy()
    else client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
  })
  client.on('close', () => upstream.destroy())
}

function forward(req: IncomingMessage, res: ServerResponse, hits: string[], track: Track): void {
  const target = (req.url ?? '').startsWith('http://') ? parseTarget(req.url ?? '') : undefined
  if (target === undefined) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
    res.end('This is a forward proxy: use CONNECT, or send an absolute http:// URI.\n')
    return
  }
  hits.push(`${target.host}:${target.port}`)
  const upstream = httpRequest({
    host: target.host,
    port: target.port,
    method: req.method,
    path: target.path,
    headers: endToEndHeaders(req.headers),
    // A fresh connection per request, so no pooled socket outlives close().
    agent: false,
  })
  upstream.on('socket', track)
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEndHeaders(answer.headers))
    answer.pipe(res)
  })
  upstream.on('error', () => {
    if (res.headersSent) {
      res.destroy()
      return
    }
    res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' })
    res.end('Bad Gateway\n')
  })
  req.pipe(upstream)
}

interface Target {
  host: string
  port: number
  path: string
}

function parseTarget(text: string): Target | undefined {
  try {
    const url = new URL(text)
    // URL keeps the brackets of an IPv6 literal; net.connect wants the bare address.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    return { host, port: Number(url.port || '80'), path: `${url.pathname}${url.search}` }
  } catch {
    return undefined
  }
}

// These describe one hop (client to proxy, or proxy to server) and must not be passed along.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value
  }
  return kept
}

function closeProxy(server: Server, sockets: Set<Duplex>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    for (const socket of sockets) socket.destroy()
    server.closeAllConnections()
  })
}
