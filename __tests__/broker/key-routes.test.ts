// The routes the action's key sources use (docs/broker.md, HTTP API): a mint that names its
// invocation and its secret, and finding or deleting keys by them, for the caller's repository
// of the caller's issuer only.
import { createHmac } from 'node:crypto'
import { adminKeyMarkerSecret } from '../../src/broker/ownership.ts'
import { startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { ADMIN_KEY, auditLineWhere, examplePolicy, PROJECT_ID, startWorld, type World } from '../helpers/broker.ts'

const APP = { ref: 'refs/heads/feature/x' }
const OTHER = { repository: 'octo-org/other', repository_id: '2002' }
const INVOCATION = '0123456789abcdef'
const SECRET = 'abcdef012345'

async function mint(
  world: World,
  body: Record<string, unknown>,
  claims: Record<string, unknown> = APP,
): Promise<Record<string, unknown>> {
  const answer = await world.call('POST', '/v1/keys', { token: await world.sign(claims), body })
  expect(answer.status).toBe(200)
  return answer.body
}

describe('keys found and deleted by invocation and by secret', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld({
      policy: (issuer) =>
        examplePolicy(issuer, {
          rules: [{ name: 'other', match: { repository_id: '2002' }, scopes: ['usage:write'] }],
        }),
    })
  })
  afterAll(() => world.close())

  test('a mint that names its invocation and secret: both in the marker, the invocation and created in the answer', async () => {
    const body = await mint(world, { invocation: '1111111111111111', secret: SECRET })
    expect(body).toMatchObject({
      invocation: '1111111111111111',
      created: expect.stringMatching(/^\d{4}-/),
      key_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      project_id: PROJECT_ID,
    })
    const key = world.dg.keys.find((k) => k.apiKeyId === body.key_id)
    expect(key?.comment).toMatch(/ \[dgkb:1111111111111111:abcdef012345:1001:[0-9a-f]{16}\]$/)
  })

  test("GET ?invocation and ?secret list the caller's live keys with that marker, and nobody else's", async () => {
    const first = await mint(world, { invocation: INVOCATION, secret: SECRET })
    const second = await mint(world, { invocation: INVOCATION })
    await mint(world, { invocation: INVOCATION, secret: SECRET }, OTHER)
    const byInvocation = await world.call('GET', `/v1/keys?invocation=${INVOCATION}`, { token: await world.sign(APP) })
    expect(byInvocation.status).toBe(200)
    expect(new Set((byInvocation.body.keys as { key_id: string }[]).map((k) => k.key_id))).toEqual(
      new Set([first.key_id, second.key_id]),
    )
    expect(byInvocation.body.keys).toContainEqual({
      key_id: first.key_id,
      created: expect.any(String),
      expires_at: first.expires_at,
    })
    const bySecret = await world.call('GET', `/v1/keys?secret=${SECRET}`, { token: await world.sign(APP) })
    expect((bySecret.body.keys as { key_id: string }[]).map((k) => k.key_id)).toEqual(
      expect.arrayContaining([first.key_id]),
    )
    expect((bySecret.body.keys as { key_id: string }[]).map((k) => k.key_id)).not.toContain(second.key_id)
    expect(
      await auditLineWhere(world.broker, (line) => line.request === `GET /v1/keys?secret=${SECRET}`),
    ).toMatchObject({ outcome: 'listed', status: 200, rule: 'app-tests' })
  })

  test("DELETE ?invocation deletes the caller's keys of that invocation only; another repository's stay", async () => {
    const invocation = '2222222222222222'
    const mine = await mint(world, { invocation })
    const theirs = await mint(world, { invocation }, OTHER)
    const answer = await world.call('DELETE', `/v1/keys?invocation=${invocation}`, { token: await world.sign(APP) })
    expect(answer).toMatchObject({ status: 200, body: { deleted: [mine.key_id] } })
    expect(world.dg.liveKeys().map((k) => k.apiKeyId)).toContain(theirs.key_id)
    expect(
      await world.call('DELETE', `/v1/keys?invocation=${invocation}`, { token: await world.sign(APP) }),
    ).toMatchObject({ status: 200, body: { deleted: [] } })
  })

  test.each([
    ['no parameter', 'GET', '/v1/keys', /exactly one of \?invocation=/],
    ['both parameters', 'GET', `/v1/keys?invocation=${INVOCATION}&secret=${SECRET}`, /exactly one of/],
    ['an invocation twice', 'GET', `/v1/keys?invocation=${INVOCATION}&invocation=${INVOCATION}`, /exactly one of/],
    ['an unknown parameter', 'GET', '/v1/keys?tags=ci', /exactly one of/],
    ['a short invocation', 'GET', '/v1/keys?invocation=0123', /invocation must be exactly 16 lower-case hex digits/],
    ['an upper-case secret', 'GET', '/v1/keys?secret=ABCDEF012345', /secret must be exactly 12 lower-case hex digits/],
    ['both on DELETE', 'DELETE', `/v1/keys?tags=ci&invocation=${INVOCATION}`, /exactly one of \?tags=a,b/],
    ['a bad invocation on DELETE', 'DELETE', '/v1/keys?invocation=xyz', /invocation must be exactly 16/],
  ] as const)('%s: 400 before any Deepgram request', async (_what, method, path, message) => {
    const requests = world.dg.requests.length
    const answer = await world.call(method, path, { token: await world.sign(APP) })
    expect(answer).toMatchObject({
      status: 400,
      body: { error: 'bad_request', message: expect.stringMatching(message) },
    })
    expect(world.dg.requests.length).toBe(requests)
  })

  test('a token no rule matches: 403 no_rule with its claims on every route, and no Deepgram request', async () => {
    const stranger = { repository: 'evil/app', repository_id: '6666', ref: 'refs/heads/main', environment: 'prod' }
    const requests = world.dg.requests.length
    for (const [method, path] of [
      ['GET', `/v1/keys?invocation=${INVOCATION}`],
      ['GET', `/v1/keys?secret=${SECRET}`],
      ['DELETE', `/v1/keys?invocation=${INVOCATION}`],
      ['DELETE', '/v1/keys?tags=ci'],
      ['DELETE', '/v1/keys/3f2504e0-4f89-11d3-9a0c-0305e82c3399'],
      ['POST', '/v1/keys'],
    ] as const) {
      const answer = await world.call(method, path, { token: await world.sign(stranger) })
      expect(answer).toMatchObject({
        status: 403,
        body: {
          error: 'no_rule',
          message: expect.stringContaining(
            'repository evil/app, repository_id 6666, ref refs/heads/main, environment prod',
          ),
          claims: {
            repository: 'evil/app',
            repository_id: '6666',
            ref: 'refs/heads/main',
            environment: 'prod',
            event_name: 'push',
          },
        },
      })
    }
    expect(world.dg.requests.length).toBe(requests)
  })

  test('a key minted before markers covered the issuer can still be deleted while the policy has one issuer', async () => {
    const oldMac = createHmac('sha256', adminKeyMarkerSecret(ADMIN_KEY))
      .update(`3333333333333333:1001`)
      .digest('hex')
      .slice(0, 16)
    const old = world.dg.addKey({
      projectId: PROJECT_ID,
      comment: `octo-org/app run 1.1, rule app-tests [dgkb:3333333333333333:1001:${oldMac}]`,
    })
    expect(await world.call('DELETE', `/v1/keys/${old.apiKeyId}`, { token: await world.sign(APP) })).toMatchObject({
      status: 200,
      body: { deleted: [old.apiKeyId] },
    })
  })
})

describe('deletions and listings have their own per-repository budget', () => {
  test('over deletes-per-minute: 429 with Retry-After, no Deepgram request, and minting is not affected', async () => {
    const world = await startWorld({ policy: (issuer) => examplePolicy(issuer, { 'deletes-per-minute': 2 }) })
    try {
      const token = await world.sign(APP)
      expect((await world.call('DELETE', '/v1/keys?tags=ci', { token })).status).toBe(200)
      expect((await world.call('GET', `/v1/keys?invocation=${INVOCATION}`, { token })).status).toBe(200)
      const requests = world.dg.requests.length
      const refused = await world.call('DELETE', `/v1/keys?invocation=${INVOCATION}`, { token })
      expect(refused).toMatchObject({
        status: 429,
        body: { error: 'rate_limited', message: expect.stringContaining('deletes-per-minute') },
      })
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(world.dg.requests.length).toBe(requests)
      expect((await world.call('POST', '/v1/keys', { token })).status).toBe(200)
    } finally {
      await world.close()
    }
  })
})

describe('two issuers: repositories of one GitHub instance never reach another instance’s keys', () => {
  let world: World
  let enterprise: OidcIssuer
  beforeAll(async () => {
    enterprise = await startOidcIssuer('127.0.0.2')
    world = await startWorld({
      policy: (issuer) => ({
        ...examplePolicy(issuer, { issuers: [issuer.url, enterprise.url], ruleIssuers: [issuer.url] }),
        rules: [
          { name: 'dotcom-app', issuers: [issuer.url], match: { repository_id: '1001' }, scopes: ['usage:write'] },
          { name: 'ghes-app', issuers: [enterprise.url], match: { repository_id: '1001' }, scopes: ['usage:read'] },
        ],
      }),
    })
  })
  afterAll(async () => {
    await world.close()
    await enterprise.close()
  })

  const enterpriseToken = async (claims: Record<string, unknown> = {}): Promise<string> => {
    const token = await enterprise.sign(claims)
    world.tokens.push(token)
    return token
  }

  test("each token gets its own issuer's rule", async () => {
    const dotcom = await world.call('POST', '/v1/keys', { token: await world.sign() })
    const ghes = await world.call('POST', '/v1/keys', { token: await enterpriseToken() })
    expect(dotcom.body.scopes).toEqual(['usage:write'])
    expect(ghes.body.scopes).toEqual(['usage:read'])
    expect(await auditLineWhere(world.broker, (line) => line.key_id === dotcom.body.key_id)).toMatchObject({
      rule: 'dotcom-app',
      issuer: world.issuer.url,
    })
    expect(await auditLineWhere(world.broker, (line) => line.key_id === ghes.body.key_id)).toMatchObject({
      rule: 'ghes-app',
      issuer: enterprise.url,
    })
  })

  test('the same repository id on the other instance can neither see nor delete the key', async () => {
    const invocation = '4444444444444444'
    const minted = await world.call('POST', '/v1/keys', { token: await world.sign(), body: { invocation } })
    const keyId = String(minted.body.key_id)
    expect(await world.call('DELETE', `/v1/keys/${keyId}`, { token: await enterpriseToken() })).toMatchObject({
      status: 403,
      body: { error: 'not_yours' },
    })
    expect(
      await world.call('GET', `/v1/keys?invocation=${invocation}`, { token: await enterpriseToken() }),
    ).toMatchObject({ status: 200, body: { keys: [] } })
    expect(
      await world.call('DELETE', `/v1/keys?invocation=${invocation}`, { token: await enterpriseToken() }),
    ).toMatchObject({ status: 200, body: { deleted: [] } })
    expect(world.dg.liveKeys().map((k) => k.apiKeyId)).toContain(keyId)
  })

  test('with several issuers, a key of the old marker form belongs to nobody', async () => {
    const oldMac = createHmac('sha256', adminKeyMarkerSecret(ADMIN_KEY))
      .update(`5555555555555555:1001`)
      .digest('hex')
      .slice(0, 16)
    const old = world.dg.addKey({ projectId: PROJECT_ID, comment: `c [dgkb:5555555555555555:1001:${oldMac}]` })
    expect(await world.call('DELETE', `/v1/keys/${old.apiKeyId}`, { token: await world.sign() })).toMatchObject({
      status: 403,
      body: { error: 'not_yours' },
    })
  })
})
