// A second host on 127.0.0.2 that records whatever reaches it: the place redirects point to, so
// that tests can prove no request (and so no credential) ever arrived. It answers as GitHub
// would if it were followed (a public key, then 201), so that a client that follows it would
// believe it had written a secret.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { randomBytes } from 'node:crypto'

export interface ArrivedRequest {
  method: string
  path: string
  headers: Record<string, string>
  body: string
}

export interface RecordingHost {
  /** Base URL, http://127.0.0.2:{port}, without a trailing slash. */
  url: string
  requests: ArrivedRequest[]
  close(): Promise<void>
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', reject)
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}

export async function startRecordingHost(): Promise<RecordingHost> {
  const requests: ArrivedRequest[] = []
  const publicKey = JSON.stringify({ key_id: '1', key: randomBytes(32).toString('base64') })
  const server: Server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(req.headers))
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
        requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers, body })
        if (req.method === 'GET') res.writeHead(200, { 'content-type': 'application/json' }).end(publicKey)
        else res.writeHead(201, { 'content-type': 'application/json' }).end('{}')
      })
      .catch(() => res.destroy())
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.2', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') reject(new Error('recording host has no TCP address'))
      else resolve(address.port)
    })
  })
  return {
    url: `http://127.0.0.2:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
