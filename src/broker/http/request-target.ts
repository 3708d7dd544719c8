// The request target, taken as received. Only canonical targets are served: a path that a URL
// parser would rewrite (`//host/v1/keys`, `/v1\keys`, `/v1/x/../keys`, percent-encoded dots or
// slashes) is a 404 before anything else, so what a proxy's path rules saw is what is served.
import { isInvocationId } from '../../deepgram/marker.ts'
import { badRequest, Refusal } from '../refusal.ts'
import type { KeyFilter } from '../service.ts'

export type Route =
  | { kind: 'probe'; path: '/healthz' | '/readyz' }
  | { kind: 'mint' }
  | { kind: 'grant' }
  | { kind: 'find'; filter: KeyFilter }
  | { kind: 'delete-key'; keyId: string }
  | { kind: 'delete-tagged'; tags: string }
  | { kind: 'delete-invocation'; invocation: string }
  | { kind: 'key-usage'; keyId: string; since: string | null }
  | { kind: 'tagged-usage'; tags: string; since: string | null }

/** How much of a request target an audit line keeps. */
const AUDITED_TARGET_CHARS = 512
const SECRET_DIGEST = /^[0-9a-f]{12}$/
const ROUTES =
  'POST /v1/keys, POST /v1/tokens, GET /v1/keys?invocation=… or ?secret=…, DELETE /v1/keys/{key_id}, DELETE /v1/keys?tags=… or ?invocation=…, GET /v1/keys/{key_id}/usage, GET /v1/usage?tags=…, and GET /healthz, GET /readyz'

/** The request as an audit line shows it: the method and the target exactly as received (cut when long). */
export function requestLine(method: string | undefined, target: string | undefined): string {
  const raw = target ?? ''
  return `${method ?? '?'} ${raw.length > AUDITED_TARGET_CHARS ? `${raw.slice(0, AUDITED_TARGET_CHARS)}…` : raw}`
}

/** The path of a canonical target, or undefined: one a URL parser keeps as it is, with no percent-encoding. */
export function canonicalPath(target: string): string | undefined {
  const path = target.split('?', 1)[0] ?? ''
  if (!path.startsWith('/') || path.startsWith('//') || /[\\%]/.test(path)) return undefined
  try {
    return new URL(target, 'http://broker.invalid').pathname === path ? path : undefined
  } catch {
    return undefined
  }
}

/** What the request asks for; a Refusal (404, 405, 400) for anything the broker does not serve. */
export function routeOf(method: string, target: string): Route {
  const path = canonicalPath(target)
  if (path === undefined)
    throw new Refusal(404, 'not_found', `The request target is not in canonical form; the broker serves ${ROUTES}.`)
  const query = new URLSearchParams(target.slice(path.length + 1))
  if ((path === '/healthz' || path === '/readyz') && (method === 'GET' || method === 'HEAD'))
    return { kind: 'probe', path }
  if (path === '/v1/keys') {
    if (method === 'POST') return noQuery(query, { kind: 'mint' })
    if (method === 'GET') return findRoute(query)
    if (method === 'DELETE') return deleteRoute(query)
    throw new Refusal(405, 'method_not_allowed', `${method} is not allowed on /v1/keys.`, {
      headers: { allow: 'POST, GET, DELETE' },
    })
  }
  if (path === '/v1/tokens') {
    if (method === 'POST') return noQuery(query, { kind: 'grant' })
    throw new Refusal(405, 'method_not_allowed', `${method} is not allowed on /v1/tokens.`, {
      headers: { allow: 'POST' },
    })
  }
  if (path === '/v1/usage') {
    if (method === 'GET') return taggedUsageRoute(query)
    throw new Refusal(405, 'method_not_allowed', `${method} is not allowed on /v1/usage.`, {
      headers: { allow: 'GET' },
    })
  }
  const usagePath = /^\/v1\/keys\/([^/]+)\/usage$/.exec(path)
  if (usagePath) {
    if (method === 'GET') return keyUsageRoute(query, usagePath[1] ?? '')
    throw new Refusal(405, 'method_not_allowed', `${method} is not allowed on /v1/keys/{key_id}/usage.`, {
      headers: { allow: 'GET' },
    })
  }
  const keyPath = /^\/v1\/keys\/([^/]+)$/.exec(path)
  if (keyPath) {
    if (method === 'DELETE') return noQuery(query, { kind: 'delete-key', keyId: keyPath[1] ?? '' })
    throw new Refusal(405, 'method_not_allowed', `${method} is not allowed on /v1/keys/{key_id}.`, {
      headers: { allow: 'DELETE' },
    })
  }
  throw new Refusal(404, 'not_found', `There is no ${path}; the broker serves ${ROUTES}.`)
}

function findRoute(query: URLSearchParams): Route {
  const [name, value] = single(
    query,
    ['invocation', 'secret'],
    'GET /v1/keys needs exactly one of ?invocation=<16 hex digits> or ?secret=<12 hex digits>.',
  )
  if (name === 'invocation') return { kind: 'find', filter: { invocation: invocationOf(value) } }
  if (!SECRET_DIGEST.test(value))
    throw badRequest(
      'secret must be exactly 12 lower-case hex digits: the digest of the secret the keys were written to.',
    )
  return { kind: 'find', filter: { secret: value } }
}

function deleteRoute(query: URLSearchParams): Route {
  const [name, value] = single(
    query,
    ['tags', 'invocation'],
    'DELETE /v1/keys needs exactly one of ?tags=a,b (the keys that carry all of them) or ?invocation=<16 hex digits>; or use DELETE /v1/keys/{key_id}.',
  )
  return name === 'tags'
    ? { kind: 'delete-tagged', tags: value }
    : { kind: 'delete-invocation', invocation: invocationOf(value) }
}

const SINCE_USAGE = 'since (optional) is an ISO 8601 UTC date-time; without it, each key since its creation.'

function keyUsageRoute(query: URLSearchParams, keyId: string): Route {
  const given = [...query.keys()]
  if (given.some((name) => name !== 'since') || query.getAll('since').length > 1)
    throw badRequest(`GET /v1/keys/{key_id}/usage takes at most ?since=…: ${SINCE_USAGE}`)
  return { kind: 'key-usage', keyId, since: query.get('since') }
}

function taggedUsageRoute(query: URLSearchParams): Route {
  const given = [...query.keys()]
  if (
    query.getAll('tags').length !== 1 ||
    query.getAll('since').length > 1 ||
    given.some((name) => name !== 'tags' && name !== 'since')
  )
    throw badRequest(
      `GET /v1/usage needs ?tags=a,b (the keys that carry all of them), and may take &since=…: ${SINCE_USAGE}`,
    )
  return { kind: 'tagged-usage', tags: query.get('tags') ?? '', since: query.get('since') }
}

function invocationOf(value: string): string {
  if (!isInvocationId(value))
    throw badRequest(
      'invocation must be exactly 16 lower-case hex digits: the invocation id sent when the key was minted.',
    )
  return value
}

/** The one parameter of `names` the query holds, each at most once and nothing else; else 400 with `usage`. */
function single(query: URLSearchParams, names: string[], usage: string): [string, string] {
  const given = [...query.keys()]
  const name = given[0]
  if (given.length !== 1 || name === undefined || !names.includes(name)) throw badRequest(usage)
  return [name, query.get(name) ?? '']
}

function noQuery(query: URLSearchParams, route: Route): Route {
  const given = [...query.keys()]
  if (given.length > 0)
    throw badRequest(
      `This route takes no query parameter; it was given ${given.map((name) => JSON.stringify(name.slice(0, 32))).join(', ')}.`,
    )
  return route
}

/** The route as a fixed template, for metrics: a raw target could carry anything. */
export function routeTemplate(route: Route): string {
  switch (route.kind) {
    case 'probe':
      return `GET ${route.path}`
    case 'mint':
      return 'POST /v1/keys'
    case 'grant':
      return 'POST /v1/tokens'
    case 'find':
      return 'GET /v1/keys'
    case 'delete-key':
      return 'DELETE /v1/keys/{key_id}'
    case 'delete-tagged':
      return 'DELETE /v1/keys?tags'
    case 'delete-invocation':
      return 'DELETE /v1/keys?invocation'
    case 'key-usage':
      return 'GET /v1/keys/{key_id}/usage'
    case 'tagged-usage':
      return 'GET /v1/usage'
  }
}
