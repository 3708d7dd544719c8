// The operators' port (METRICS_PORT): GET /metrics in Prometheus text format, and the probes
// again, so that /readyz can still say "draining" once the main port stops accepting. Kept apart
// from the public port so that nothing but the platform sees how busy the broker is.
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Readiness } from '../readiness.ts'
import { probeAnswer } from './probes.ts'
import { sendJson as send } from './server.ts'

export function createOpsServer(registry: Registry, readiness: Readiness, logError: (message: string) => void): Server {
  const server = createServer((req, res) => {
    req.resume()
    const path = new URL(req.url ?? '/', 'http://ops.invalid').pathname
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(
        res,
        405,
        { error: 'method_not_allowed', message: `${req.method} is not allowed here.` },
        { allow: 'GET, HEAD' },
      )
      return
    }
    const probe = probeAnswer(path, readiness)
    if (probe) {
      send(res, probe.status, probe.body)
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
          res.end(text)
        },
        (error: unknown) => {
          logError(`collecting the metrics failed: ${error instanceof Error ? error.message : String(error)}`)
          send(res, 500, { error: 'internal', message: 'Collecting the metrics failed; see the broker log.' })
        },
      )
    } else {
      send(res, 404, { error: 'not_found', message: 'This port serves GET /metrics, GET /healthz and GET /readyz.' })
    }
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  return server
}
