// Forged and foreign tokens against the bundled broker; how it treats its issuer's answers.
import { startOidcIssuer, type Forgery, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { examplePolicy, startWorld, type World } from '../helpers/broker.ts'

const FEATURE = { ref: 'refs/heads/feature/x' }

describe('forged tokens', () => {
  let world: World
  let stranger: OidcIssuer
  beforeAll(async () => {
    world = await startWorld()
    stranger = await startOidcIssuer('127.0.0.2')
  })
  afterAll(async () => {
    await world.close()
    await stranger.close()
  })

  async function refusalOf(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
    world.tokens.push(token)
    const before = world.dg.keys.length
    const answer = await world.call('POST', '/v1/keys', { token })
    expect(world.dg.keys.length).toBe(before)
    expect(JSON.stringify(answer.body)).not.toContain(token.split('.')[1] ?? token)
    return answer
  }

  test('a valid token gets a key', async () => {
    expect((await world.call('POST', '/v1/keys', { token: await world.sign(FEATURE) })).status).toBe(200)
  })

  test.each<[Forgery, RegExp]>([
    ['bad-signature', /its signature does not verify with the issuer's keys/],
    ['alg-none', /signed with "none", and only RS256 is accepted/],
    ['hs256-public-key', /signed with "HS256", and only RS256 is accepted/],
    ['unknown-kid', /its key id \(kid\) is not among the issuer's keys/],
    ['expired', /it has expired \(exp\)/],
    ['not-yet-valid', /it is not valid yet \(nbf\)/],
    ['issued-in-future', /it was issued in the future \(iat\)/],
    ['wrong-audience', /its audience \(aud\) is not this broker's, https:\/\/deepgram-broker.example.com/],
  ])('%s: 401 saying why', async (forgery, reason) => {
    const answer = await refusalOf(await world.issuer.forge(forgery, FEATURE))
    expect(answer.status).toBe(401)
    expect(answer.body).toEqual({ error: 'token_invalid', message: expect.stringMatching(reason) })
  })

  test("another issuer's valid token: 401, and that issuer is never contacted", async () => {
    const answer = await refusalOf(await stranger.sign(FEATURE))
    expect(answer.body).toEqual({
      error: 'token_invalid',
      message: "The token is not valid: its issuer (iss) is not one of the policy's issuers.",
    })
    expect(await stranger.requests()).toEqual([])
  })

  test("another issuer's key claiming to be ours: 401", async () => {
    const answer = await refusalOf(await stranger.sign({ ...FEATURE, iss: world.issuer.url }))
    expect(answer.status).toBe(401)
    expect(answer.body.message).toMatch(/kid|signature/)
  })

  test('what is not a JWT: 401', async () => {
    expect((await refusalOf('not-a-token')).body.message).toBe('The token is not valid: it is not a JWT.')
  })

  test('clock leeway of 60 s, no more', async () => {
    const now = Math.floor(Date.now() / 1000)
    expect(
      (await world.call('POST', '/v1/keys', { token: await world.sign({ ...FEATURE, exp: now - 30 }) })).status,
    ).toBe(200)
    expect(
      (await world.call('POST', '/v1/keys', { token: await world.sign({ ...FEATURE, nbf: now + 30 }) })).status,
    ).toBe(200)
    expect((await refusalOf(await world.sign({ ...FEATURE, exp: now - 90 }))).status).toBe(401)
    expect((await refusalOf(await world.sign({ ...FEATURE, iat: now - 7200 }))).body.message).toMatch(
      /issued more than 1h ago/,
    )
  })

  test('a token without exp: 401', async () => {
    expect((await refusalOf(await world.sign({ ...FEATURE, exp: null }))).body.message).toMatch(/it has no exp claim/)
  })

  test('unknown kids make the broker fetch the keys again at most once a minute', async () => {
    const before = (await world.issuer.requests()).filter((r) => r.path === '/.well-known/jwks').length
    await world.issuer.rotate()
    // Signed by a key the issuer now publishes, but the broker read the keys within the minute.
    expect((await refusalOf(await world.sign(FEATURE))).body.message).toMatch(/kid/)
    for (let i = 0; i < 5; i++) await refusalOf(await world.issuer.forge('unknown-kid', FEATURE))
    const after = (await world.issuer.requests()).filter((r) => r.path === '/.well-known/jwks').length
    expect(after - before).toBeLessThanOrEqual(1)
  })
})

describe("the issuer's answers", () => {
  test.each<[string, (issuer: OidcIssuer) => Promise<void>, RegExp]>([
    [
      'a discovery document naming another issuer',
      (issuer) => issuer.misbehave({ discovery: { issuer: 'https://token.actions.githubusercontent.com' } }),
      /names another issuer/,
    ],
    [
      'keys on another host',
      (issuer) =>
        issuer.misbehave({
          discovery: { jwks_uri: `${issuer.url.replace('127.0.0.1', '127.0.0.2')}/.well-known/jwks` },
        }),
      /on another host/,
    ],
    [
      'a discovery document over 100 KiB',
      (issuer) => issuer.misbehave({ padBytes: 200 * 1024 }),
      /longer than the 102400 bytes read at most/,
    ],
    ['a failing discovery', (issuer) => issuer.misbehave({ discoveryStatus: 500 }), /answered HTTP 500/],
  ])('%s: 503, then keys again once the issuer is right', async (_what, misbehave, message) => {
    const world = await startWorld({ beforeBroker: misbehave })
    try {
      const refused = await world.call('POST', '/v1/keys', { token: await world.sign(FEATURE) })
      expect(refused.status).toBe(503)
      expect(refused.body).toEqual({ error: 'issuer_unavailable', message: expect.stringMatching(message) })
      await world.issuer.misbehave({})
      expect((await world.call('POST', '/v1/keys', { token: await world.sign(FEATURE) })).status).toBe(200)
    } finally {
      await world.close()
    }
  })

  test('two issuers in the policy: each token is checked against its own', async () => {
    const other = await startOidcIssuer('127.0.0.2')
    const world = await startWorld({
      policy: (issuer) =>
        examplePolicy(issuer, { issuers: [issuer.url, other.url], ruleIssuers: [issuer.url, other.url] }),
    })
    try {
      const token = await other.sign(FEATURE)
      world.tokens.push(token)
      expect((await world.call('POST', '/v1/keys', { token })).status).toBe(200)
      expect((await world.call('POST', '/v1/keys', { token: await world.sign(FEATURE) })).status).toBe(200)
    } finally {
      await world.close()
      await other.close()
    }
  })
})
