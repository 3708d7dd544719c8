// The body of POST /v1/tokens, and the lifetime the matched rule lets a token have.
import { ExpirationError, parseExpiration } from '../deepgram/expiration.ts'
import { isJsonObject } from '../shared/json.ts'
import { MAX_TOKEN_SECONDS, tokenSeconds } from '../deepgram/grant.ts'
import type { Rule } from './policy/policy.ts'
import { badRequest, forbidden } from './refusal.ts'

/** A token carries usage::write only: a rule allows tokens when its scopes include it. */
export const TOKEN_SCOPE = 'usage:write'

/**
 * The seconds a token may live: those asked (an expiration as the action writes it, or seconds;
 * by default an hour, or the rule's max-expiration if shorter), 400 over one hour, 403 over the
 * rule's max-expiration, and 403 when the rule does not grant usage:write.
 */
export function tokenSecondsFor(rule: Rule, body: string, now: Date): number {
  const expiration = parseTokenRequest(body)
  if (!rule.scopes.includes(TOKEN_SCOPE)) {
    throw forbidden(
      'scope_not_allowed',
      `Rule ${rule.name} does not grant ${TOKEN_SCOPE}, which a token carries; it grants at most ${rule.scopes.join(', ')}.`,
    )
  }
  const seconds =
    expiration === undefined
      ? Math.min(MAX_TOKEN_SECONDS, rule.maxExpirationSeconds)
      : requestedSeconds(expiration, now)
  if (seconds > MAX_TOKEN_SECONDS)
    throw badRequest(
      `A token lives at most one hour (3600 s); ${seconds} s were asked. Ask a key (POST /v1/keys) for longer.`,
    )
  if (seconds < 1) throw badRequest('expiration is less than a second from now; a token lives 1 s to 1 h.')
  if (seconds > rule.maxExpirationSeconds) {
    throw forbidden(
      'lifetime_not_allowed',
      `The token would live ${seconds} s; rule ${rule.name} allows at most ${rule.maxExpirationSeconds} s (max-expiration).`,
    )
  }
  return seconds
}

/** The body: empty, or a JSON object with at most `expiration`. */
function parseTokenRequest(body: string): string | number | undefined {
  if (body.trim() === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    throw badRequest(
      'The body is not JSON. Send {"expiration": "30m"}, or no body for an hour (or the rule\'s max-expiration if shorter).',
    )
  }
  if (!isJsonObject(value)) throw badRequest('The body must be a JSON object with at most expiration.')
  const unknown = Object.keys(value).filter((name) => name !== 'expiration')
  if (unknown.length > 0)
    throw badRequest(
      `The body has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}; a token request has only expiration.`,
    )
  const { expiration } = value as { expiration?: unknown }
  if (expiration === undefined) return undefined
  if (
    typeof expiration === 'string' ||
    (typeof expiration === 'number' && Number.isSafeInteger(expiration) && expiration > 0)
  )
    return expiration
  throw badRequest(
    'expiration must be a duration such as "30m", an ISO 8601 date-time with a zone, or a whole number of seconds.',
  )
}

function requestedSeconds(expiration: string | number, now: Date): number {
  if (typeof expiration === 'number') return expiration
  try {
    return tokenSeconds(parseExpiration(expiration, now, Number.MAX_SAFE_INTEGER), now.getTime())
  } catch (error) {
    if (error instanceof ExpirationError) throw badRequest(`expiration ${error.message}`)
    throw error
  }
}
