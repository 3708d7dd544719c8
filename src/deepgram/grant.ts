// Temporary tokens (POST /v1/auth/grant): the request, the errors in a token's own terms, and the
// check of an answer, which applies to Deepgram's and to the broker's alike.
import { CancelledError, ServiceError } from '../shared/errors.ts'
import type { DeepgramClient, GrantAnswer } from './client.ts'
import type { Expiration } from './expiration.ts'

/** Deepgram grants tokens for 1 to 3600 seconds (GrantV1Request.ttl_seconds). */
export const MAX_TOKEN_SECONDS = 3600

/** A JWT: three base64url parts. Deepgram's are a few hundred characters. */
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_TOKEN_LENGTH = 16 * 1024

/** A checked token: usable, perhaps with a warning that it lives shorter than asked. */
export interface CheckedToken {
  accessToken: string
  expiresInSeconds: number
  /** When the token expires at the latest: the attempt's sending time plus its lifetime, to the second. */
  expiresAt: Date
  warning?: string
}

export type TokenVerdict = { ok: true; token: CheckedToken } | { ok: false; problem: string }

/**
 * Checks a grant's answer against the lifetime asked. A token that lives longer than asked cannot
 * be revoked, so it is refused; one that lives shorter (older deployments ignored ttl_seconds and
 * gave 30 s) is usable, and a warning names both lifetimes. Problems describe shapes only: the
 * answer may hold the token.
 */
export function checkToken(
  answer: { accessToken: unknown; expiresIn: unknown },
  askedSeconds: number,
  sentAt: number,
): TokenVerdict {
  const { accessToken, expiresIn } = answer
  if (typeof accessToken !== 'string' || accessToken === '')
    return { ok: false, problem: 'the answer carries no access_token' }
  if (accessToken.length > MAX_TOKEN_LENGTH || !JWT.test(accessToken))
    return { ok: false, problem: 'its access_token is not a JWT (three base64url parts separated by dots)' }
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    const shown =
      typeof expiresIn === 'number'
        ? ` (${expiresIn})`
        : expiresIn === undefined
          ? ' (absent)'
          : ` (a ${typeof expiresIn})`
    return {
      ok: false,
      problem: `its expires_in${shown} is not a positive number of seconds, so when the token expires is unknown`,
    }
  }
  const expiresAt = new Date(Math.floor((sentAt + expiresIn * 1000) / 1000) * 1000)
  if (expiresIn > askedSeconds) {
    return {
      ok: false,
      problem: `the token lives ${expiresIn} s, longer than the ${askedSeconds} s asked; a token cannot be revoked, so it stays valid until ${expiresAt.toISOString()}`,
    }
  }
  const token: CheckedToken = { accessToken, expiresInSeconds: expiresIn, expiresAt }
  if (expiresIn < askedSeconds) {
    token.warning =
      `The token lives ${expiresIn} s, shorter than the ${askedSeconds} s asked (deployments that ignore ttl_seconds give 30 s): it expires at ${expiresAt.toISOString()}. ` +
      'Requests made after that fail with 401, though a WebSocket opened before stays open; for longer work use credential: key.'
  }
  return { ok: true, token }
}

/**
 * The whole seconds a token may live to honour `expiration`: its seconds, or those left until its
 * date (rounded down, so that the token never outlives the date).
 */
export function tokenSeconds(expiration: Expiration, now: number): number {
  return expiration.kind === 'ttl' ? expiration.seconds : Math.floor((expiration.date.getTime() - now) / 1000)
}

/** What a job cancelled during a grant is told, whoever grants. */
export const GRANT_CANCELLED =
  'The job was cancelled while granting a temporary token. A token leaves nothing behind to clean up.'

/** Grants a token; Deepgram's refusals say what a grant needs. */
export async function grantToken(client: Pick<DeepgramClient, 'grantToken'>, ttlSeconds: number): Promise<GrantAnswer> {
  try {
    return await client.grantToken(ttlSeconds)
  } catch (error) {
    if (error instanceof ServiceError)
      throw new ServiceError({ ...error.details, hint: grantHint(error.status) ?? error.details.hint })
    if (error instanceof CancelledError) throw new CancelledError(GRANT_CANCELLED)
    throw error
  }
}

function grantHint(status: number): string | undefined {
  if (status === 403)
    return 'Grants need an api-key of the Member role or higher (member, admin or owner): give the step such a key, or use credential: key with a key that has keys:write.'
  if (status === 404) return 'This Deepgram API has no /v1/auth/grant: check deepgram-api-url, or use credential: key.'
  if (status === 400) return 'Deepgram refused the lifetime: give expiration between 1 s and 1 h.'
  return undefined
}
