// DELETE /v1/keys/{key_id} and DELETE /v1/keys?tags=… end to end, and the per-repository limit.
import { examplePolicy, startWorld, type World } from '../helpers/broker.ts'

const APP = { ref: 'refs/heads/feature/x' }
const OTHER = { repository: 'octo-org/other', repository_id: '2002' }
const withOtherRepo = (issuer: Parameters<typeof examplePolicy>[0]) =>
  examplePolicy(issuer, { rules: [{ name: 'other', match: { repository_id: '2002' }, scopes: ['usage:write'] }] })

async function mintFor(world: World, claims: Record<string, unknown>, tags: string[] = []): Promise<string> {
  const answer = await world.call('POST', '/v1/keys', { token: await world.sign(claims), body: { tags } })
  expect(answer.status).toBe(200)
  return String(answer.body.key_id)
}

function isLive(world: World, keyId: string): boolean {
  return world.dg.liveKeys().some((k) => k.apiKeyId === keyId)
}

describe('DELETE /v1/keys/{key_id}', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld({ policy: withOtherRepo })
  })
  afterAll(() => world.close())

  const remove = async (keyId: string, claims: Record<string, unknown> = APP) =>
    world.call('DELETE', `/v1/keys/${keyId}`, { token: await world.sign(claims) })

  test("deletes a key the broker minted for the caller's repository, with a fresh token; then 404", async () => {
    const keyId = await mintFor(world, APP)
    expect(await remove(keyId)).toMatchObject({ status: 200, body: { deleted: [keyId] } })
    expect(isLive(world, keyId)).toBe(false)
    expect(await remove(keyId)).toMatchObject({ status: 404, body: { error: 'not_found' } })
  })

  test('a token of the same repository that no rule matches may not delete, and Deepgram is not asked', async () => {
    const keyId = await mintFor(world, APP)
    const requests = world.dg.requests.length
    expect(await remove(keyId, { ref: 'refs/pull/7/merge' })).toMatchObject({
      status: 403,
      body: { error: 'no_rule', claims: { repository: 'octo-org/app', ref: 'refs/pull/7/merge' } },
    })
    expect(world.dg.requests.length).toBe(requests)
    expect(isLive(world, keyId)).toBe(true)
  })

  test("another repository's key: 403, and it stays", async () => {
    const keyId = await mintFor(world, OTHER)
    const answer = await remove(keyId)
    expect(answer).toMatchObject({
      status: 403,
      body: {
        error: 'not_yours',
        message: `Key ${keyId} was not minted by this broker for repository octo-org/app of issuer ${world.issuer.url}.`,
      },
    })
    expect(isLive(world, keyId)).toBe(true)
  })

  test('a key the broker did not mint, or whose marker it did not sign: 403', async () => {
    const manual = world.dg.addKey({ projectId: world.dg.keys[0]?.projectId ?? '', comment: 'made by hand' })
    const forged = world.dg.addKey({
      projectId: manual.projectId,
      comment: 'x [dgkb:0123456789abcdef:1001:0123456789abcdef]',
    })
    expect((await remove(manual.apiKeyId)).status).toBe(403)
    expect((await remove(forged.apiKeyId)).status).toBe(403)
    expect(isLive(world, manual.apiKeyId) && isLive(world, forged.apiKeyId)).toBe(true)
  })

  test('an unknown key: 404; not a key id: 400; no token: 401; a forged token: 401', async () => {
    expect((await remove('3f2504e0-4f89-11d3-9a0c-0305e82c3309')).status).toBe(404)
    expect((await remove('not-a-key')).body).toMatchObject({ error: 'bad_request' })
    const keyId = await mintFor(world, APP)
    expect((await world.call('DELETE', `/v1/keys/${keyId}`)).status).toBe(401)
    const forged = await world.issuer.forge('bad-signature', APP)
    world.tokens.push(forged)
    expect((await world.call('DELETE', `/v1/keys/${keyId}`, { token: forged })).status).toBe(401)
    expect(isLive(world, keyId)).toBe(true)
  })

  test('Deepgram failing to delete: 502 with its status', async () => {
    const keyId = await mintFor(world, APP)
    world.dg.fail({ route: 'delete', status: 403 })
    expect((await remove(keyId)).body).toMatchObject({ error: 'deepgram_failed', deepgram_status: 403 })
  })

  test.each([
    ['not JSON', '<html>Bad gateway</html>'],
    ['over 1 MiB', { api_keys: [{ padding: 'x'.repeat(1_100_000) }] }],
  ])('a listing Deepgram answers with 200 but %s: 502 deepgram_failed, JSON, never a 500', async (_what, body) => {
    world.dg.fail({ route: 'list', status: 200, body })
    const answer = await world.call('GET', '/v1/keys?invocation=0123456789abcdef', { token: await world.sign(APP) })
    expect(answer.status).toBe(502)
    expect(answer.body).toMatchObject({
      error: 'deepgram_failed',
      message: expect.stringMatching(/^Deepgram answered HTTP 200 while /),
    })
  })
})

describe.each([
  ['tags in the listing', false],
  ['a listing without tags', true],
])('DELETE /v1/keys?tags=… (%s)', (_what, listOmitsTags) => {
  let world: World
  beforeAll(async () => {
    world = await startWorld({ policy: withOtherRepo, emulator: { listOmitsTags } })
  })
  afterAll(() => world.close())

  test("deletes every key of the caller's repository that carries all the tags, and no other", async () => {
    const pr7 = await mintFor(world, APP, ['pr-7'])
    const pr7extra = await mintFor(world, APP, ['pr-7', 'extra'])
    const pr8 = await mintFor(world, APP, ['pr-8'])
    const otherPr7 = await mintFor(world, OTHER, ['pr-7'])
    const manual = world.dg.addKey({
      projectId: world.dg.keys[0]?.projectId ?? '',
      comment: 'by hand',
      tags: ['ci', 'pr-7'],
    })
    const both = await world.call('DELETE', '/v1/keys?tags=pr-7,extra', { token: await world.sign(APP) })
    expect(both).toMatchObject({ status: 200, body: { deleted: [pr7extra] } })
    const all = await world.call('DELETE', '/v1/keys?tags=pr-7', { token: await world.sign(APP) })
    expect(all).toMatchObject({ status: 200, body: { deleted: [pr7] } })
    expect([pr8, otherPr7, manual.apiKeyId].every((id) => isLive(world, id))).toBe(true)
    expect((await world.call('DELETE', '/v1/keys?tags=pr-7', { token: await world.sign(APP) })).body).toEqual({
      deleted: [],
    })
  })

  test('no tags, or bad ones: 400', async () => {
    const token = await world.sign(APP)
    expect((await world.call('DELETE', '/v1/keys', { token })).status).toBe(400)
    expect((await world.call('DELETE', '/v1/keys?tags=', { token })).status).toBe(400)
    expect((await world.call('DELETE', '/v1/keys?tags=a%20b', { token })).status).toBe(400)
  })
})

describe('keys-per-minute', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld({ policy: (issuer) => ({ ...withOtherRepo(issuer), 'keys-per-minute': 3 }) })
  })
  afterAll(() => world.close())

  test('counts each repository on its own, answers 429 with Retry-After, and never limits deletes', async () => {
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await mintFor(world, APP))
    const keysBefore = world.dg.keys.length
    const limited = await world.call('POST', '/v1/keys', { token: await world.sign(APP) })
    expect(limited.status).toBe(429)
    expect(limited.body).toEqual({
      error: 'rate_limited',
      message: expect.stringMatching(
        /^Repository octo-org\/app has had 3 keys in the last minute \(keys-per-minute\); try again in \d+ s\.$/,
      ),
    })
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(world.dg.keys.length).toBe(keysBefore)
    expect((await world.call('POST', '/v1/keys', { token: await world.sign(OTHER) })).status).toBe(200)
    for (const id of ids)
      expect((await world.call('DELETE', `/v1/keys/${id}`, { token: await world.sign(APP) })).status).toBe(200)
    expect(world.broker.auditLines().filter((line) => line.status === 429)).toEqual([
      expect.objectContaining({ outcome: 'refused', error: 'rate_limited', repository: 'octo-org/app' }),
    ])
  })
})
