// POST /v1/keys end to end: the bundled broker, the Deepgram emulator and the local issuer.
import { parseMarker } from '../../src/deepgram/marker.ts'
import { examplePolicy, PROJECT_ID, startWorld, type BrokerAnswer, type World } from '../helpers/broker.ts'

let world: World
const answers: BrokerAnswer[] = []

beforeAll(async () => {
  world = await startWorld({
    policy: (issuer) =>
      examplePolicy(issuer, {
        rules: [
          {
            name: 'main-only',
            match: { repository_id: '1001', ref: 'refs/heads/main' },
            scopes: ['usage:read'],
            tags: ['main'],
          },
          {
            name: 'prod-deploy',
            match: { repository_owner_id: '4321', environment: 'production', ref: 'refs/tags/v*' },
            scopes: ['usage:write'],
            'max-expiration': '10m',
            tags: ['deploy'],
          },
          {
            name: 'services',
            match: { repository: 'octo-org/*-service', event_name: 'push' },
            scopes: ['usage:read'],
            tags: ['svc'],
          },
          { name: 'keys-admin', match: { repository_id: 2002 }, scopes: ['keys:write'], 'allow-key-management': true },
        ],
      }),
  })
})
afterAll(() => world.close())

async function mint(
  claims: Record<string, unknown> = {},
  body?: Record<string, unknown> | string,
): Promise<BrokerAnswer> {
  const answer = await world.call('POST', '/v1/keys', {
    token: await world.sign(claims),
    ...(body === undefined ? {} : { body }),
  })
  answers.push(answer)
  return answer
}

const FEATURE = { ref: 'refs/heads/feature/x' }

describe('claims and rules', () => {
  test('a matching rule mints a key with its scopes, tags and a comment naming repository, run and rule', async () => {
    const { status, body } = await mint(FEATURE)
    expect(status).toBe(200)
    expect(body).toEqual({
      key: expect.any(String),
      key_id: expect.any(String),
      project_id: PROJECT_ID,
      created: expect.any(String),
      expires_at: expect.any(String),
      scopes: ['usage:write', 'usage:read'],
      tags: ['ci'],
      invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
    })
    const key = world.dg.keys.find((k) => k.apiKeyId === body.key_id)
    expect(key?.key).toBe(body.key)
    expect(key?.comment).toMatch(/^octo-org\/app run 4242\.1, rule app-tests \[dgkb:[0-9a-f]{16}:1001:[0-9a-f]{16}\]$/)
    expect(parseMarker(key?.comment ?? '')).toMatchObject({ kind: 'broker', repositoryId: '1001' })
    // One hour by default.
    expect(Date.parse(String(body.expires_at)) - Date.now()).toBeGreaterThan(3540_000)
    expect(Date.parse(String(body.expires_at)) - Date.now()).toBeLessThan(3660_000)
  })

  test('the first matching rule wins', async () => {
    expect((await mint({ ref: 'refs/heads/main' })).body).toMatchObject({ scopes: ['usage:read'], tags: ['main'] })
  })

  test('a glob spans slashes, and matches the whole value', async () => {
    expect((await mint({ ref: 'refs/heads/a/b/c' })).status).toBe(200)
    expect((await mint({ ref: 'refs/heads' })).status).toBe(403)
    expect((await mint({ ref: 'xrefs/heads/main' })).status).toBe(403)
  })

  test('values never match as substrings', async () => {
    const answer = await mint({ ...FEATURE, repository: 'octo-org/app-fork' })
    expect(answer.status).toBe(403)
    expect(answer.body).toEqual({
      error: 'no_rule',
      message: expect.stringContaining('repository octo-org/app-fork'),
      claims: expect.objectContaining({ repository: 'octo-org/app-fork' }),
    })
  })

  test('a rule on a claim only some tokens carry: environment', async () => {
    const tag = { ref: 'refs/tags/v1.2.3' }
    expect((await mint({ ...tag, environment: 'production' })).body).toMatchObject({
      scopes: ['usage:write'],
      tags: ['deploy'],
    })
    expect((await mint(tag)).body).toMatchObject({ error: 'no_rule' })
    expect((await mint({ ...tag, environment: 'staging' })).body).toMatchObject({ error: 'no_rule' })
  })

  test('a glob inside a value, together with the event', async () => {
    const service = { repository: 'octo-org/payments-service', repository_id: '3003' }
    expect((await mint(service)).body).toMatchObject({ scopes: ['usage:read'], tags: ['svc'] })
    expect((await mint({ ...service, event_name: 'pull_request' })).status).toBe(403)
    expect((await mint({ ...service, repository: 'other-org/payments-service' })).status).toBe(403)
  })

  test('a numeric id in the policy matches the string claim; management scopes where allowed', async () => {
    const answer = await mint({ repository: 'octo-org/tools', repository_id: '2002' })
    expect(answer.status).toBe(200)
    expect(answer.body.scopes).toEqual(['keys:write', 'keys:read'])
  })

  test('a token without the claims a rule needs matches none', async () => {
    expect((await mint({ ref: null })).status).toBe(403)
  })
})

describe('what a request may ask for', () => {
  test('fewer scopes, a shorter life, more tags and a comment', async () => {
    const { status, body } = await mint(FEATURE, {
      scopes: ['usage:read'],
      expiration: '30m',
      tags: ['pr-42'],
      comment: 'nightly run',
    })
    expect(status).toBe(200)
    expect(body).toMatchObject({ scopes: ['usage:read'], tags: ['ci', 'pr-42'] })
    expect(Math.abs(Date.parse(String(body.expires_at)) - Date.now() - 1800_000)).toBeLessThan(60_000)
    expect(world.dg.keys.find((k) => k.apiKeyId === body.key_id)?.comment).toMatch(
      /^nightly run \(octo-org\/app run 4242\.1, rule app-tests\) \[dgkb:/,
    )
  })

  test('an expiration in seconds, and a date-time', async () => {
    const seconds = await mint(FEATURE, { expiration: 600 })
    expect(Math.abs(Date.parse(String(seconds.body.expires_at)) - Date.now() - 600_000)).toBeLessThan(60_000)
    const at = new Date(Date.now() + 45 * 60_000)
    at.setMilliseconds(0)
    const dated = await mint(FEATURE, { expiration: at.toISOString() })
    expect(Date.parse(String(dated.body.expires_at))).toBe(at.getTime())
  })

  test('a scope the rule does not grant: 403 naming it, and no key', async () => {
    const before = world.dg.keys.length
    const answer = await mint(FEATURE, { scopes: ['usage:write', 'keys:write'] })
    expect(answer.status).toBe(403)
    expect(answer.body).toEqual({
      error: 'scope_not_allowed',
      message: expect.stringMatching(
        /^Rule app-tests does not grant keys:write; it grants at most usage:write, usage:read\. The token's claims: repository octo-org\/app, repository_id 1001, ref refs\/heads\/feature\/x, /,
      ),
      claims: {
        repository: 'octo-org/app',
        repository_id: '1001',
        ref: 'refs/heads/feature/x',
        event_name: 'push',
        workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/main',
      },
    })
    expect(world.dg.keys.length).toBe(before)
  })

  test('a lifetime over the rule: 403 naming the limit', async () => {
    const answer = await mint(FEATURE, { expiration: '3h' })
    expect(answer.status).toBe(403)
    expect(answer.body).toMatchObject({
      error: 'lifetime_not_allowed',
      message: expect.stringContaining('rule app-tests allows at most 7200 s'),
    })
    expect((await mint({ ref: 'refs/tags/v1', environment: 'production' }, { expiration: '11m' })).body).toMatchObject({
      error: 'lifetime_not_allowed',
    })
  })

  test.each<[string, string | Record<string, unknown>, RegExp]>([
    ['a body that is not JSON', '{"scopes":', /not JSON/],
    ['an unknown field', { scope: ['usage:write'] }, /unknown field "scope"/],
    ['an expiration it cannot read', { expiration: 'forever' }, /^expiration 'forever' is refused/],
    ['a tag with a comma', { tags: ['a,b'] }, /"a,b" is not one of tags/],
    ['a comment with a line break', { comment: 'a\nb' }, /comment holds a control character \(U\+000A\)/],
    [
      'a comment with a right-to-left override',
      { comment: 'held by \u202eppa/gro-otco' },
      /comment holds a bidirectional-text control \(U\+202E\) at position 9/,
    ],
  ])('%s: 400', async (_what, body, message) => {
    const answer = await mint(FEATURE, body)
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'bad_request', message: expect.stringMatching(message) })
  })

  test('a body over 16 KiB: 413', async () => {
    const answer = await mint(FEATURE, { comment: 'x'.repeat(17 * 1024) })
    expect(answer.status).toBe(413)
    expect(answer.body).toMatchObject({ error: 'body_too_large' })
  })
})

describe('the token', () => {
  test.each([
    ['no Authorization header', {}],
    ['another scheme', { authorization: 'Token abc' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('%s: 401 token_missing', async (_what, headers) => {
    const answer = await world.call('POST', '/v1/keys', { headers })
    answers.push(answer)
    expect(answer.status).toBe(401)
    expect(answer.body).toEqual({
      error: 'token_missing',
      message: expect.stringContaining('Authorization: Bearer <token>'),
    })
  })

  test('a token without repository_id: 401', async () => {
    const answer = await mint({ repository_id: null })
    expect(answer.status).toBe(401)
    expect(answer.body.message).toMatch(/repository_id/)
  })
})

describe('Deepgram failing', () => {
  test("a refusal is 502 with Deepgram's status, message and request id, and leaves no key", async () => {
    const live = world.dg.liveKeys().length
    world.dg.fail({ route: 'create', status: 403 })
    const answer = await mint(FEATURE)
    expect(answer.status).toBe(502)
    expect(answer.body).toMatchObject({
      error: 'deepgram_failed',
      deepgram_status: 403,
      deepgram_request_id: expect.any(String),
      message: expect.stringMatching(
        /^Deepgram answered HTTP 403 while creating the key: .+ \(request id [0-9a-f-]+\)/,
      ),
    })
    expect(answer.body.message).toContain(String(answer.body.deepgram_request_id))
    expect(world.dg.liveKeys().length).toBe(live)
  })

  test('a create that committed and then failed is retried without leaving an orphan', async () => {
    const live = world.dg.liveKeys().length
    world.dg.commitThenFail(500)
    const answer = await mint(FEATURE)
    expect(answer.status).toBe(200)
    expect(world.dg.liveKeys().length).toBe(live + 1)
    expect(world.dg.liveKeys().some((k) => k.apiKeyId === answer.body.key_id)).toBe(true)
  })

  test('a key without the asked expiry is deleted and reported', async () => {
    const live = world.dg.liveKeys().length
    world.dg.ignoreExpiry(true)
    const answer = await mint(FEATURE)
    world.dg.ignoreExpiry(false)
    expect(answer.status).toBe(502)
    expect(answer.body.message).toMatch(
      /but the answer carries no expiration_date: the key would never expire; it was deleted/,
    )
    expect(world.dg.keys.filter((k) => !k.deleted).length).toBe(live)
  })
})

describe('the HTTP surface', () => {
  test('GET /healthz answers 200 once the policy is loaded', async () => {
    const answer = await world.call('GET', '/healthz')
    answers.push(answer)
    expect(answer).toMatchObject({ status: 200, body: { status: 'ok' } })
  })

  test('unknown paths are 404 and other methods 405, as JSON', async () => {
    const missing = await world.call('GET', '/v1/nothing')
    const method = await world.call('PUT', '/v1/keys', { token: 'x' })
    answers.push(missing, method)
    expect(missing).toMatchObject({ status: 404, body: { error: 'not_found' } })
    expect(method).toMatchObject({ status: 405, body: { error: 'method_not_allowed' } })
    expect(method.headers.get('allow')).toBe('POST, GET, DELETE')
  })

  test('every answer carries Cache-Control: no-store and is JSON', () => {
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200, 400, 401, 403, 404, 405, 413, 502]))
    for (const answer of answers) {
      expect(answer.headers.get('cache-control')).toBe('no-store')
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/)
    }
  })

  test('one audit line per request, with who, which rule, which key, and never a secret', async () => {
    // Every request but the health checks, which probes make every few seconds.
    const audited = answers.filter((a) => a.body.status !== 'ok').length
    const lines = await world.broker.waitForAuditLines(audited)
    expect(lines.length).toBe(audited)
    const granted = lines.find((line) => line.outcome === 'granted' && line.rule === 'app-tests')
    expect(granted).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      outcome: 'granted',
      status: 200,
      request: 'POST /v1/keys',
      duration_ms: expect.any(Number),
      rule: 'app-tests',
      repository: 'octo-org/app',
      repository_id: '1001',
      run_id: '4242',
      run_attempt: '1',
      workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/main',
      event_name: 'push',
      ref: 'refs/heads/feature/x',
      jti: expect.any(String),
      issuer: world.issuer.url,
      invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
      key_id: expect.any(String),
      scopes: ['usage:write', 'usage:read'],
      expires_at: expect.any(String),
    })
    const refused = lines.find((line) => line.error === 'scope_not_allowed')
    expect(refused).toMatchObject({
      outcome: 'refused',
      status: 403,
      rule: 'app-tests',
      repository: 'octo-org/app',
      reason: expect.stringContaining('keys:write'),
    })
    expect(lines.find((line) => line.error === 'token_missing')).toMatchObject({ outcome: 'refused', status: 401 })
    expect(lines.find((line) => line.status === 502)).toMatchObject({ outcome: 'failed', error: 'deepgram_failed' })
  })
})
