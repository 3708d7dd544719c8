// The probes, answered alike on the public port and on the operators' port.
import type { Readiness } from '../readiness.ts'
import type { Answer } from '../service.ts'

/** GET /healthz (the process answers) and GET /readyz (it can mint). */
export function probe(path: '/healthz' | '/readyz', readiness: Readiness | undefined): Answer {
  if (path === '/healthz') return { status: 200, body: { status: 'ok' } }
  const why = readiness?.notReadyBecause()
  return why === undefined
    ? { status: 200, body: { status: 'ready' } }
    : { status: 503, body: { error: 'not_ready', message: why } }
}

/** The probe's answer for a path, or undefined for any other path. */
export function probeAnswer(path: string, readiness: Readiness | undefined): Answer | undefined {
  return path === '/healthz' || path === '/readyz' ? probe(path, readiness) : undefined
}
