// The local OIDC issuer itself, run as its own process by harness/oidc-issuer.ts (jose is
// ESM-only and the tests run as CommonJS, so the signing lives here). Serves discovery and the
// JWKS as GitHub's issuer does, signs tokens with GitHub-like claims on request, forges bad ones,
// rotates keys, and answers the runner's ID-token request as @actions/core makes it.
//
// Start: `node harness/oidc-issuer-server.ts [host]`; it prints `{"url": ...}` once it listens
// and exits when its stdin closes, so it never outlives the process that started it.
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose'
import {
  DEFAULT_AUDIENCE,
  DEFAULT_CLAIMS,
  type Claims,
  type Forgery,
  type IssuerRequest,
  type Misbehaviour,
} from './oidc-issuer.ts'

interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: JWK
  publicPem: string
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const kid = randomUUID()
  return {
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    publicPem: await exportSPKI(publicKey),
  }
}

const host = process.argv[2] ?? '127.0.0.1'
const runnerRequestToken = `runner-${randomUUID()}`
/** Published keys; the last one signs. */
const published: SigningKey[] = [await newKey()]
/** A key nobody publishes: it signs the forgeries. */
const stranger = await newKey()
const requests: IssuerRequest[] = []
let runnerClaims: Claims = {}
let misbehaviour: Misbehaviour = {}
let issuer = ''

function current(): SigningKey {
  return published[published.length - 1] as SigningKey
}

function discovery(): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks`,
    subject_types_supported: ['public', 'pairwise'],
    response_types_supported: ['id_token'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: [
      'sub',
      'aud',
      'exp',
      'iat',
      'iss',
      'jti',
      'nbf',
      'ref',
      'repository',
      'repository_id',
      'repository_owner',
      'repository_owner_id',
      'run_id',
      'run_attempt',
      'workflow_ref',
      'event_name',
      'environment',
    ],
    scopes_supported: ['openid'],
    ...misbehaviour.discovery,
  }
}

/** The claims of a token: GitHub-like defaults for a push to main of octo-org/app, then `claims`; null removes one. */
function tokenClaims(claims: Claims): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  const all: Claims = {
    iss: issuer,
    aud: DEFAULT_AUDIENCE,
    sub: `repo:${DEFAULT_CLAIMS.repository}:ref:${DEFAULT_CLAIMS.ref}`,
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 300,
    ...DEFAULT_CLAIMS,
    repository_visibility: 'private',
    sha: '0123456789abcdef0123456789abcdef01234567',
    actor: 'octocat',
    actor_id: '583231',
    workflow: 'CI',
    run_number: '7',
    runner_environment: 'github-hosted',
    ...claims,
  }
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== null))
}

const FORGERY_CLAIMS: Record<Forgery, (now: number) => Claims> = {
  'bad-signature': () => ({}),
  'alg-none': () => ({}),
  'hs256-public-key': () => ({}),
  'unknown-kid': () => ({}),
  expired: (now) => ({ iat: now - 900, nbf: now - 900, exp: now - 120 }),
  'not-yet-valid': (now) => ({ iat: now, nbf: now + 120, exp: now + 420 }),
  'issued-in-future': (now) => ({ iat: now + 120, nbf: now - 10, exp: now + 420 }),
  'wrong-audience': () => ({ aud: 'https://someone-else.example.com' }),
}

async function sign(claims: Claims, forgery?: Forgery): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload = tokenClaims({ ...(forgery ? FORGERY_CLAIMS[forgery](now) : {}), ...claims })
  const key = current()
  switch (forgery) {
    case 'alg-none':
      return new UnsecuredJWT(payload).encode()
    case 'hs256-public-key':
      // The classic confusion: the issuer's public key, which anyone can fetch, as an HMAC secret.
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid })
        .sign(new TextEncoder().encode(key.publicPem))
    case 'bad-signature':
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
        .sign(stranger.privateKey)
    case 'unknown-kid':
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: stranger.kid })
        .sign(stranger.privateKey)
    default:
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey)
  }
}

async function route(req: IncomingMessage, url: URL, body: string): Promise<{ status: number; body: unknown }> {
  const path = url.pathname
  if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
    if (misbehaviour.discoveryStatus) return { status: misbehaviour.discoveryStatus, body: { message: 'unavailable' } }
    const doc = discovery()
    return { status: 200, body: misbehaviour.padBytes ? { ...doc, padding: 'x'.repeat(misbehaviour.padBytes) } : doc }
  }
  if (req.method === 'GET' && path === '/.well-known/jwks')
    return { status: 200, body: { keys: published.map((k) => k.publicJwk) } }
  if (req.method === 'GET' && path === '/_apis/id-token') {
    if (req.headers.authorization !== `Bearer ${runnerRequestToken}`)
      return { status: 401, body: { message: 'bad request token' } }
    const audience = url.searchParams.get('audience')
    return { status: 200, body: { value: await sign({ ...runnerClaims, ...(audience ? { aud: audience } : {}) }) } }
  }
  const command = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>)
  if (req.method === 'POST' && path === '/_harness/sign')
    return {
      status: 200,
      body: { token: await sign((command.claims ?? {}) as Claims, command.forgery as Forgery | undefined) },
    }
  if (req.method === 'POST' && path === '/_harness/rotate') {
    published.push(await newKey())
    return { status: 200, body: { kid: current().kid } }
  }
  if (req.method === 'POST' && path === '/_harness/duplicate-kid') {
    // Another key under the signing key's kid, listed first: a verifier must try both.
    const twin = await newKey()
    published.splice(published.length - 1, 0, {
      ...twin,
      kid: current().kid,
      publicJwk: { ...twin.publicJwk, kid: current().kid },
    })
    return { status: 200, body: {} }
  }
  if (req.method === 'POST' && path === '/_harness/runner-claims') {
    runnerClaims = (command.claims ?? {}) as Claims
    return { status: 200, body: {} }
  }
  if (req.method === 'POST' && path === '/_harness/misbehave') {
    misbehaviour = command
    return { status: 200, body: {} }
  }
  if (req.method === 'GET' && path === '/_harness/requests')
    return { status: 200, body: requests.filter((r) => !r.path.startsWith('/_harness/')) }
  return { status: 404, body: { message: `no route ${req.method} ${path}` } }
}

const server = createServer((req, res: ServerResponse) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const url = new URL(req.url ?? '/', issuer)
    requests.push({ method: req.method ?? 'GET', path: url.pathname })
    const answer = async (): Promise<void> => {
      const { status, body } = await route(req, url, Buffer.concat(chunks).toString('utf8'))
      if (misbehaviour.delayMs && !url.pathname.startsWith('/_harness/'))
        await new Promise((done) => setTimeout(done, misbehaviour.delayMs))
      if (res.destroyed) return
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    answer().catch((error: unknown) =>
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(error) })),
    )
  })
})
server.listen(0, host, () => {
  issuer = `http://${host}:${(server.address() as AddressInfo).port}`
  process.stdout.write(`${JSON.stringify({ url: issuer, runnerRequestToken })}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
