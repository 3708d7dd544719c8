// Finding an issuer's keys the OIDC way, with nothing taken from a token: the issuer URL comes
// from the policy, its discovery document must name that same issuer, and the keys must live on
// its own origin, so no token and no answer can point the broker at another server.
import type { HttpSend } from '../../shared/http.ts'
import { AnswerTooLargeError, TransportError } from '../../shared/http.ts'

/** The issuer's answers could not be had or cannot be trusted; nobody can be verified meanwhile. */
export class IssuerUnavailable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'IssuerUnavailable'
  }
}

/** Size and time limits of every answer read from an issuer (octo-sts caps discovery at 100 KiB). */
export const ISSUER_LIMITS = { maxAnswerBytes: 100 * 1024, timeoutMs: 5_000 }

/** Reads a JSON answer from an issuer: 200, JSON, within ISSUER_LIMITS (the send enforces them). */
export async function fetchIssuerJson(send: HttpSend, url: string): Promise<unknown> {
  let response
  try {
    response = await send({
      method: 'GET',
      url,
      headers: { accept: 'application/json', 'user-agent': 'deepgram-key-broker/0.1' },
    })
  } catch (error) {
    if (error instanceof TransportError || error instanceof AnswerTooLargeError)
      throw new IssuerUnavailable(`${url} could not be read: ${error.message}`)
    throw error
  }
  if (response.status !== 200) throw new IssuerUnavailable(`${url} answered HTTP ${response.status}`)
  try {
    return JSON.parse(response.body)
  } catch {
    throw new IssuerUnavailable(`${url} did not answer JSON`)
  }
}

/** The issuer's JSON Web Key Set, found through its discovery document. */
export async function discoverKeySet(issuer: string, fetchJson: (url: string) => Promise<unknown>): Promise<unknown> {
  const discoveryUrl = `${issuer}/.well-known/openid-configuration`
  const document = await fetchJson(discoveryUrl)
  const fields = typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {}
  if (fields.issuer !== issuer) throw new IssuerUnavailable(`${discoveryUrl} names another issuer than ${issuer}`)
  const jwksUri = fields.jwks_uri
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri))
    throw new IssuerUnavailable(`${discoveryUrl} has no jwks_uri URL`)
  if (new URL(jwksUri).origin !== new URL(issuer).origin)
    throw new IssuerUnavailable(`${discoveryUrl} puts its keys on another host than ${issuer}`)
  const keySet = await fetchJson(jwksUri)
  const keys = typeof keySet === 'object' && keySet !== null ? (keySet as Record<string, unknown>).keys : undefined
  if (!Array.isArray(keys)) throw new IssuerUnavailable(`${jwksUri} is not a JSON Web Key Set`)
  return keySet
}
