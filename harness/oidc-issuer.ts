// A local GitHub-like OIDC issuer for tests, the demo and the bench: discovery at
// /.well-known/openid-configuration, the JWKS at /.well-known/jwks, tokens with GitHub's claims,
// forgeries on demand, key rotation, and the runner's ID-token endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN).
//
// The issuer runs in its own process (harness/oidc-issuer-server.ts): it signs with jose, which is
// ESM-only, and the tests run as CommonJS. This module only starts it and talks to it over HTTP,
// so it loads anywhere.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { resolve } from 'node:path'

/** Claims to set on a token; null removes a default one (e.g. `{ nbf: null }`). */
export type Claims = Record<string, unknown>

/**
 * Bad tokens: signed by a key of the same kid that the JWKS does not hold, unsigned, HMAC-signed
 * with the issuer's public key (PEM), signed by a key whose kid the JWKS does not know, expired
 * (2 minutes ago), not valid before 2 minutes from now, issued 2 minutes in the future, or for
 * another audience. Every other claim is as a valid token's.
 */
export type Forgery =
  | 'bad-signature'
  | 'alg-none'
  | 'hs256-public-key'
  | 'unknown-kid'
  | 'expired'
  | 'not-yet-valid'
  | 'issued-in-future'
  | 'wrong-audience'

export interface IssuerRequest {
  method: string
  path: string
}

/** How the issuer's discovery and key answers go wrong, until the next call replaces it. */
export interface Misbehaviour {
  /** Fields merged into the discovery document, e.g. another `issuer` or `jwks_uri`. */
  discovery?: Record<string, unknown>
  /** Pads the discovery document with this many bytes. */
  padBytes?: number
  /** Answers the discovery request with this status. */
  discoveryStatus?: number
  /** Waits this long before answering discovery and JWKS requests. */
  delayMs?: number
}

/** The audience tokens get unless told otherwise: the example broker's. */
export const DEFAULT_AUDIENCE = 'https://deepgram-broker.example.com'

/** The defaults every token carries (a push to main of octo-org/app, run 4242 attempt 1), as in harness/runner.ts's RUN_ENV. */
export const DEFAULT_CLAIMS = {
  repository: 'octo-org/app',
  repository_id: '1001',
  repository_owner: 'octo-org',
  repository_owner_id: '4321',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  run_id: '4242',
  run_attempt: '1',
  workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/main',
  event_name: 'push',
} as const

export interface OidcIssuer {
  /** The issuer URL, `http://HOST:PORT`, as in the tokens' `iss`. */
  url: string
  /** What the runner gives a job with `id-token: write`; tokens from it carry the runner claims. */
  idTokenRequest: { url: string; token: string }
  /** A token signed by the current key: GitHub-like defaults, then `claims`. */
  sign(claims?: Claims): Promise<string>
  /** A bad token of the given kind; `claims` as for sign. */
  forge(forgery: Forgery, claims?: Claims): Promise<string>
  /** Publishes a new key, which signs from now on; the old ones stay published. Returns its kid. */
  rotate(): Promise<string>
  /** Publishes another key under the signing key's kid, before it in the key set; the signing key still signs. */
  duplicateKid(): Promise<void>
  /** Claims the ID-token endpoint adds to its tokens (the audience comes from the request). */
  setRunnerClaims(claims: Claims): Promise<void>
  misbehave(misbehaviour: Misbehaviour): Promise<void>
  /** Discovery, JWKS and ID-token requests so far (not the harness's own). */
  requests(): Promise<IssuerRequest[]>
  close(): Promise<void>
}

/** Starts an issuer on `host` (127.0.0.1, or 127.0.0.2 for a second host) on an ephemeral port. */
export async function startOidcIssuer(host = '127.0.0.1'): Promise<OidcIssuer> {
  const child = spawn(process.execPath, [resolve('harness/oidc-issuer-server.ts'), host], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const ready = await new Promise<{ url: string; runnerRequestToken: string }>((done, fail) => {
    const lines = createInterface({ input: child.stdout })
    lines.once('line', (line) => done(JSON.parse(line) as { url: string; runnerRequestToken: string }))
    child.once('exit', (code) => fail(new Error(`the OIDC issuer exited with ${code}:\n${stderr}`)))
  })
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  const { url } = ready

  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (!response.ok)
      throw new Error(`the OIDC issuer answered ${response.status} to ${method} ${path}: ${await response.text()}`)
    return (await response.json()) as T
  }

  return {
    url,
    idTokenRequest: { url: `${url}/_apis/id-token?api-version=2.0`, token: ready.runnerRequestToken },
    sign: async (claims = {}) => (await call<{ token: string }>('POST', '/_harness/sign', { claims })).token,
    forge: async (forgery, claims = {}) =>
      (await call<{ token: string }>('POST', '/_harness/sign', { claims, forgery })).token,
    rotate: async () => (await call<{ kid: string }>('POST', '/_harness/rotate')).kid,
    duplicateKid: async () => {
      await call('POST', '/_harness/duplicate-kid')
    },
    setRunnerClaims: async (claims) => {
      await call('POST', '/_harness/runner-claims', { claims })
    },
    misbehave: async (misbehaviour) => {
      await call('POST', '/_harness/misbehave', misbehaviour)
    },
    requests: () => call<IssuerRequest[]>('GET', '/_harness/requests'),
    close: async () => {
      child.stdin.end()
      await exited
    },
  }
}
