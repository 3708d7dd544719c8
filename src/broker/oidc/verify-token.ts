// Verifying a GitHub OIDC token with jose: RS256 only, against the keys of an issuer the policy
// names, with the policy's audience and at most 60 s of clock leeway. The token is read before
// verification only to learn which of the policy's issuers it claims; nothing is fetched from a
// URL a token names.
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose'
import { discoverKeySet, IssuerUnavailable } from './discovery.ts'
import { KeySetCache } from './key-set.ts'
import { Refusal } from '../refusal.ts'

export interface OidcVerifierOptions {
  issuers: readonly string[]
  audience: string
  fetchJson: (url: string) => Promise<unknown>
  now: () => number
  /** Told of each fetch of an issuer's key set (metrics, readiness). */
  onKeySetFetch?: (issuer: string, outcome: 'ok' | 'failed') => void
  /**
   * Issuers' key sets shared with earlier verifiers: a reloaded policy keeps the keys of the
   * issuers it still names, and fetches only those of new ones. Those it no longer names are dropped.
   */
  keySets?: IssuerKeySets
}

/** A verified token's claims. */
export type Claims = Record<string, unknown>

/** Each issuer's key set, as jose uses it, by issuer URL. */
export type IssuerKeySets = Map<string, KeySetCache<ReturnType<typeof createLocalJWKSet>>>

export type VerifyOidcToken = (token: string) => Promise<Claims>

/** A VerifyOidcToken that can also fetch every issuer's keys before the first token comes (resolves to the failures). */
export type OidcTokenVerifier = VerifyOidcToken & { prefetch: () => Promise<unknown[]> }

const LEEWAY_SECONDS = 60
/** A token claiming to be older than this is refused whatever its exp (GitHub's live minutes). */
const MAX_TOKEN_AGE = '1h'

function invalid(why: string): Refusal {
  return new Refusal(401, 'token_invalid', `The token is not valid: ${why}.`)
}

export function createOidcTokenVerifier(options: OidcVerifierOptions): OidcTokenVerifier {
  const load = async (issuer: string): Promise<ReturnType<typeof createLocalJWKSet>> => {
    try {
      const keySet = createLocalJWKSet((await discoverKeySet(issuer, options.fetchJson)) as JSONWebKeySet)
      options.onKeySetFetch?.(issuer, 'ok')
      return keySet
    } catch (error) {
      options.onKeySetFetch?.(issuer, 'failed')
      throw error
    }
  }
  const shared: IssuerKeySets = options.keySets ?? new Map<string, never>()
  for (const issuer of shared.keys()) if (!options.issuers.includes(issuer)) shared.delete(issuer)
  const keySets: IssuerKeySets = new Map(
    options.issuers.map((issuer) => [issuer, shared.get(issuer) ?? new KeySetCache(() => load(issuer), options.now)]),
  )
  for (const [issuer, keySet] of keySets) shared.set(issuer, keySet)
  // The failures go back to the caller, which decides when to try again.
  const prefetch = async (): Promise<unknown[]> => {
    const fetched = await Promise.allSettled([...keySets.values()].map((keySet) => keySet.current()))
    return fetched.flatMap((result): unknown[] => (result.status === 'rejected' ? [result.reason as unknown] : []))
  }
  const verify: VerifyOidcToken = async (token) => {
    const issuer = claimedIssuer(token)
    const keySet = keySets.get(issuer)
    if (!keySet) throw invalid("its issuer (iss) is not one of the policy's issuers")
    const getKey: JWTVerifyGetKey = async (header, jws) => {
      const keys = await keySet.current()
      try {
        return await keys(header, jws)
      } catch (error) {
        const refreshed = error instanceof errors.JWKSNoMatchingKey ? await keySet.refreshed() : undefined
        if (!refreshed) throw error
        return refreshed(header, jws)
      }
    }
    const verifyOptions: JWTVerifyOptions = {
      issuer,
      audience: options.audience,
      algorithms: ['RS256'],
      clockTolerance: LEEWAY_SECONDS,
      maxTokenAge: MAX_TOKEN_AGE,
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(options.now()),
    }
    try {
      return (await jwtVerify(token, getKey, verifyOptions)).payload
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw explain(error, options.audience)
      return verifyWithAny(token, error, verifyOptions).catch((inner: unknown) => {
        throw explain(inner, options.audience)
      })
    }
  }
  return Object.assign(verify, { prefetch })
}

/**
 * A key set may publish several keys under one kid (during a rotation, say): jose then hands
 * over every candidate, and the token is valid if one of them verifies it.
 */
async function verifyWithAny(
  token: string,
  candidates: errors.JWKSMultipleMatchingKeys,
  verifyOptions: JWTVerifyOptions,
): Promise<JWTPayload> {
  for await (const key of candidates) {
    try {
      return (await jwtVerify(token, key, verifyOptions)).payload
    } catch (error) {
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error
    }
  }
  throw new errors.JWSSignatureVerificationFailed()
}

/** The `iss` a token claims, before anything about it is trusted; refuses what is not a JWT. */
function claimedIssuer(token: string): string {
  let alg: unknown
  let iss: unknown
  try {
    alg = decodeProtectedHeader(token).alg
    iss = decodeJwt(token).iss
  } catch {
    throw invalid('it is not a JWT')
  }
  // Refused before any key is looked at: `none` and HMAC ones (HS256 with the public key) above all.
  if (alg !== 'RS256')
    throw invalid(
      `it is signed with ${typeof alg === 'string' ? JSON.stringify(alg.slice(0, 16)) : 'no algorithm'}, and only RS256 is accepted`,
    )
  if (typeof iss !== 'string') throw invalid('it has no issuer (iss)')
  return iss
}

/** jose's verdict as a reason a person can act on; never the token or its claims' values. */
function explain(error: unknown, audience: string): unknown {
  if (error instanceof Refusal) return error
  if (error instanceof IssuerUnavailable)
    return new Refusal(
      503,
      'issuer_unavailable',
      `The broker cannot verify tokens now: ${error.message}. Try again later.`,
    )
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalid("its signature does not verify with the issuer's keys")
  if (error instanceof errors.JWKSNoMatchingKey) return invalid("its key id (kid) is not among the issuer's keys")
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid('only RS256 is accepted')
  if (error instanceof errors.JWTExpired)
    return invalid(
      error.claim === 'iat' ? `it was issued more than ${MAX_TOKEN_AGE} ago (iat)` : 'it has expired (exp)',
    )
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid(`it has no ${error.claim} claim`)
    if (error.claim === 'nbf') return invalid('it is not valid yet (nbf)')
    if (error.claim === 'iat') return invalid('it was issued in the future (iat)')
    if (error.claim === 'aud') return invalid(`its audience (aud) is not this broker's, ${audience}`)
    if (error.claim === 'iss') return invalid('its issuer (iss) is not the one whose keys signed it')
    return invalid(`its ${error.claim} claim is not acceptable`)
  }
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JWKInvalid)
    return new Refusal(503, 'issuer_unavailable', "The issuer's key set could not be used; try again later.")
  if (error instanceof errors.JOSEError) return invalid('it is not a well-formed signed JWT')
  return error
}
