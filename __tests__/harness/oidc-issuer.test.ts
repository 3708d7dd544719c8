import { createPublicKey, verify, type JsonWebKey } from 'node:crypto'
import { DEFAULT_AUDIENCE, DEFAULT_CLAIMS, startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'

interface Decoded {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: string
  signature: Buffer
}

function decode(token: string): Decoded {
  const [header = '', payload = '', signature = ''] = token.split('.')
  const json = (part: string): Record<string, unknown> =>
    JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
  return {
    header: json(header),
    payload: json(payload),
    signingInput: `${header}.${payload}`,
    signature: Buffer.from(signature, 'base64url'),
  }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url)
  return (await response.json()) as Record<string, unknown>
}

/** Whether one of the published keys with the token's kid verifies its RS256 signature. */
async function verifiesAgainstJwks(issuer: OidcIssuer, token: string): Promise<boolean> {
  const { header, signingInput, signature } = decode(token)
  const jwks = (await getJson(`${issuer.url}/.well-known/jwks`)) as { keys: (JsonWebKey & { kid: string })[] }
  const jwk = jwks.keys.find((k) => k.kid === header.kid)
  if (!jwk) return false
  return verify('RSA-SHA256', Buffer.from(signingInput), createPublicKey({ key: jwk, format: 'jwk' }), signature)
}

let issuer: OidcIssuer

beforeAll(async () => {
  issuer = await startOidcIssuer()
})
afterAll(() => issuer.close())

test('publishes discovery and a JWKS on its own host', async () => {
  expect(issuer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  const doc = await getJson(`${issuer.url}/.well-known/openid-configuration`)
  expect(doc.issuer).toBe(issuer.url)
  expect(doc.jwks_uri).toBe(`${issuer.url}/.well-known/jwks`)
  const jwks = (await getJson(`${issuer.url}/.well-known/jwks`)) as { keys: Record<string, unknown>[] }
  expect(jwks.keys).toHaveLength(1)
  expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' })
  expect(jwks.keys[0]).not.toHaveProperty('d')
})

test('signs RS256 tokens with GitHub-like claims, overridable and removable', async () => {
  const token = await issuer.sign({ ref: 'refs/heads/dev', environment: 'production', nbf: null })
  const { header, payload } = decode(token)
  expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' })
  expect(payload).toMatchObject({
    ...DEFAULT_CLAIMS,
    iss: issuer.url,
    aud: DEFAULT_AUDIENCE,
    ref: 'refs/heads/dev',
    environment: 'production',
  })
  expect(payload).not.toHaveProperty('nbf')
  expect(Number(payload.exp) - Number(payload.iat)).toBe(300)
  expect(await verifiesAgainstJwks(issuer, token)).toBe(true)
})

test('forges tokens that the published keys do not verify', async () => {
  expect(decode(await issuer.forge('alg-none')).header.alg).toBe('none')
  expect(decode(await issuer.forge('hs256-public-key')).header.alg).toBe('HS256')
  expect(await verifiesAgainstJwks(issuer, await issuer.forge('bad-signature'))).toBe(false)
  const unknownKid = await issuer.forge('unknown-kid')
  expect(await verifiesAgainstJwks(issuer, unknownKid)).toBe(false)
})

test('forges validly signed tokens with bad times or audience', async () => {
  const now = Date.now() / 1000
  const expired = await issuer.forge('expired')
  expect(await verifiesAgainstJwks(issuer, expired)).toBe(true)
  expect(Number(decode(expired).payload.exp)).toBeLessThan(now - 60)
  expect(Number(decode(await issuer.forge('not-yet-valid')).payload.nbf)).toBeGreaterThan(now + 60)
  expect(decode(await issuer.forge('wrong-audience')).payload.aud).not.toBe(DEFAULT_AUDIENCE)
})

test('rotates to a new kid and keeps the old key published', async () => {
  const before = decode(await issuer.sign()).header.kid
  const kid = await issuer.rotate()
  const token = await issuer.sign()
  expect(decode(token).header.kid).toBe(kid)
  expect(kid).not.toBe(before)
  expect(await verifiesAgainstJwks(issuer, token)).toBe(true)
  const jwks = (await getJson(`${issuer.url}/.well-known/jwks`)) as { keys: { kid: string }[] }
  expect(jwks.keys.map((k) => k.kid)).toEqual([before, kid])
})

test('answers the runner ID-token request as @actions/core makes it', async () => {
  await issuer.setRunnerClaims({ repository: 'octo-org/other' })
  const url = `${issuer.idTokenRequest.url}&audience=${encodeURIComponent('https://broker.example')}`
  expect((await fetch(url)).status).toBe(401)
  const response = await fetch(url, { headers: { authorization: `Bearer ${issuer.idTokenRequest.token}` } })
  const { value } = (await response.json()) as { value: string }
  expect(decode(value).payload).toMatchObject({ aud: 'https://broker.example', repository: 'octo-org/other' })
  expect(await verifiesAgainstJwks(issuer, value)).toBe(true)
})

test('misbehaves on demand and records what it served', async () => {
  await issuer.misbehave({ discovery: { issuer: 'https://elsewhere.example' }, padBytes: 1000 })
  const doc = await getJson(`${issuer.url}/.well-known/openid-configuration`)
  expect(doc.issuer).toBe('https://elsewhere.example')
  expect(String(doc.padding)).toHaveLength(1000)
  await issuer.misbehave({})
  const requests = await issuer.requests()
  expect(requests.filter((r) => r.path === '/.well-known/openid-configuration').length).toBeGreaterThanOrEqual(2)
  expect(requests.every((r) => !r.path.startsWith('/_harness/'))).toBe(true)
})
