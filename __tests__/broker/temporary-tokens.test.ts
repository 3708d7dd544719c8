// POST /v1/tokens end to end (issue 16): the bundled broker grants temporary tokens under the same
// authentication, rules and rate limit as keys, and never shows a token in its output.
import { waitFor } from '../helpers/wait.ts'
import { examplePolicy, startWorld, type BrokerAnswer, type World } from '../helpers/broker.ts'

let world: World
const FEATURE = { ref: 'refs/heads/feature/x' }

beforeAll(async () => {
  world = await startWorld({
    policy: (issuer) =>
      examplePolicy(issuer, {
        rules: [
          { name: 'read-only', match: { repository_id: '1001', ref: 'refs/heads/read-only' }, scopes: ['usage:read'] },
          {
            name: 'short',
            match: { repository_id: '1001', ref: 'refs/heads/short' },
            scopes: ['usage:write'],
            'max-expiration': '10m',
          },
        ],
      }),
  })
})
afterAll(async () => {
  const tokens = world.dg.tokens.map((t) => t.accessToken)
  const output = `${world.broker.stdout()}\n${world.broker.stderr()}`
  for (const token of tokens) expect(output).not.toContain(token)
  await world.close()
})

async function grant(
  claims: Record<string, unknown> = FEATURE,
  body?: Record<string, unknown> | string,
  on: World = world,
): Promise<BrokerAnswer> {
  return on.call('POST', '/v1/tokens', { token: await on.sign(claims), ...(body === undefined ? {} : { body }) })
}

describe('POST /v1/tokens', () => {
  test('grants a token for the lifetime asked, with its expiry, and creates no key', async () => {
    const before = Date.now()
    const answer = await grant(FEATURE, { expiration: '15m' })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('cache-control')).toBe('no-store')
    expect(answer.body).toEqual({
      access_token: world.dg.tokens.at(-1)?.accessToken,
      expires_at: expect.any(String),
      expires_in: 900,
    })
    const expiresAt = Date.parse(String(answer.body.expires_at))
    expect(expiresAt - before).toBeGreaterThan(899_000 - 1000)
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(900_000)
    expect(world.dg.tokens.at(-1)).toMatchObject({ asked: 900, expiresIn: 900 })
    expect(world.dg.keys).toEqual([])
  })

  test('gives an hour when no body asks a lifetime, or the rule max-expiration when shorter', async () => {
    expect((await grant(FEATURE)).body).toMatchObject({ expires_in: 3600 })
    expect((await grant({ ref: 'refs/heads/short' })).body).toMatchObject({ expires_in: 600 })
  })

  test('refuses a rule without usage:write (403 scope_not_allowed) and a lifetime over the rule (403 lifetime_not_allowed)', async () => {
    const scope = await grant({ ref: 'refs/heads/read-only' }, { expiration: '5m' })
    expect(scope.status).toBe(403)
    expect(scope.body).toEqual({
      error: 'scope_not_allowed',
      message: expect.stringMatching(
        /^Rule read-only does not grant usage:write, which a token carries; it grants at most usage:read\. The token's claims: repository octo-org\/app, /,
      ),
      claims: expect.objectContaining({ repository: 'octo-org/app', ref: 'refs/heads/read-only' }),
    })
    const lifetime = await grant({ ref: 'refs/heads/short' }, { expiration: '20m' })
    expect(lifetime.status).toBe(403)
    expect(lifetime.body).toEqual({
      error: 'lifetime_not_allowed',
      message: expect.stringMatching(
        /^The token would live 1200 s; rule short allows at most 600 s \(max-expiration\)\. The token's claims: /,
      ),
      claims: expect.objectContaining({ ref: 'refs/heads/short' }),
    })
  })

  test('refuses over one hour, bad bodies and unknown fields with 400, before asking Deepgram', async () => {
    const asked = world.dg.tokens.length
    const cases: (Record<string, unknown> | string)[] = [
      { expiration: '2h' },
      { expiration: 7200 },
      { expiration: 'soon' },
      { expiration: -1 },
      { scopes: ['usage:write'] },
      'not json',
      '[]',
    ]
    for (const body of cases) {
      const answer = await grant(FEATURE, body)
      expect([answer.status, answer.body.error]).toEqual([400, 'bad_request'])
    }
    expect((await grant(FEATURE, { expiration: '2h' })).body.message).toBe(
      'A token lives at most one hour (3600 s); 7200 s were asked. Ask a key (POST /v1/keys) for longer.',
    )
    expect(world.dg.tokens.length).toBe(asked)
  })

  test('refuses a missing token with 401 and other methods with 405', async () => {
    expect((await world.call('POST', '/v1/tokens')).status).toBe(401)
    const get = await world.call('GET', '/v1/tokens', { token: await world.sign(FEATURE) })
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST'])
  })

  test("passes Deepgram's refusal on as 502 with its status and request id", async () => {
    world.dg.fail({
      route: 'grant',
      status: 403,
      body: { err_code: 'FORBIDDEN', err_msg: 'Insufficient permissions.', request_id: 'req-403' },
      times: 1,
    })
    const answer = await grant(FEATURE, { expiration: '5m' })
    expect(answer.status).toBe(502)
    expect(answer.body).toMatchObject({
      error: 'deepgram_failed',
      deepgram_status: 403,
      deepgram_request_id: 'req-403',
    })
  })

  test('refuses a token Deepgram made longer than asked (502), naming when it expires, without the token', async () => {
    world.dg.grantLongerTokens(60)
    const answer = await grant(FEATURE, { expiration: '5m' })
    expect(answer.status).toBe(502)
    expect(answer.body.message).toMatch(
      /^Deepgram answered HTTP 200 while granting a temporary token \(request id [0-9a-f-]{36}\), but the token lives 360 s, longer than the 300 s asked; a token cannot be revoked, so it stays valid until \d{4}-\d\d-\d\dT[\d:.]+Z\.$/,
    )
    expect(JSON.stringify(answer.body)).not.toContain(world.dg.tokens.at(-1)?.accessToken ?? 'none')
  })

  test('audits each grant with credential token, its rule and expiry, never the token', async () => {
    const answer = await grant(FEATURE, { expiration: '5m' })
    // Each line is written just after its answer: wait for this one.
    const ours = (l: Record<string, unknown>): boolean =>
      l.request === 'POST /v1/tokens' && l.expires_at === answer.body.expires_at && l.rule === 'app-tests'
    await waitFor(() => world.broker.auditLines().some(ours), "the grant's audit line")
    const lines = world.broker.auditLines()
    expect(lines.filter(ours)).toEqual([
      expect.objectContaining({
        credential: 'token',
        outcome: 'granted',
        scopes: ['usage:write'],
        status: 200,
        repository: 'octo-org/app',
      }),
    ])
    expect(JSON.stringify(lines)).not.toContain(String(answer.body.access_token))
  })
})

describe('POST /v1/tokens and POST /v1/keys', () => {
  let limited: World
  beforeAll(async () => {
    limited = await startWorld({ policy: (issuer) => examplePolicy(issuer, { 'keys-per-minute': 3 }) })
  })
  afterAll(() => limited.close())

  test('share one rate limit per repository, answered with 429 and Retry-After', async () => {
    expect((await grant(FEATURE, { expiration: '1m' }, limited)).status).toBe(200)
    expect((await limited.call('POST', '/v1/keys', { token: await limited.sign(FEATURE) })).status).toBe(200)
    expect((await grant(FEATURE, { expiration: '1m' }, limited)).status).toBe(200)
    const answer = await grant(FEATURE, { expiration: '1m' }, limited)
    expect(answer.status).toBe(429)
    expect(answer.body.message).toMatch(
      /^Repository octo-org\/app has had 3 keys and tokens in the last minute \(keys-per-minute\); try again in \d+ s\.$/,
    )
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await limited.call('POST', '/v1/keys', { token: await limited.sign(FEATURE) })).status).toBe(429)
    expect(limited.dg.tokens.length).toBe(2)
    const refused = (await limited.broker.waitForAuditLines(5)).filter((line) => line.status === 429)
    expect(refused[0]).toMatchObject({ credential: 'token', error: 'rate_limited', outcome: 'refused' })
  })
})
