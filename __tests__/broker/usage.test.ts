// GET /v1/keys/{key_id}/usage and GET /v1/usage?tags=… of dist/broker: only the caller's keys,
// under deletes-per-minute, audited, JSON.
import { silentWav } from '../../harness/deepgram-usage.ts'
import { auditLineWhere, examplePolicy, startWorld, type World } from '../helpers/broker.ts'

const APP = { ref: 'refs/heads/main' }
const OTHER = { repository: 'octo-org/other', repository_id: '2002' }
const withOtherRepo = (issuer: Parameters<typeof examplePolicy>[0]) =>
  examplePolicy(issuer, {
    'deletes-per-minute': 6,
    rules: [{ name: 'other', match: { repository_id: '2002' }, scopes: ['usage:write'] }],
  })

/** Mints a key for `claims` and transcribes `seconds` of audio with it. */
async function usedKey(world: World, claims: Record<string, unknown>, seconds: number, tags: string[] = []) {
  const minted = await world.call('POST', '/v1/keys', { token: await world.sign(claims), body: { tags } })
  expect(minted.status).toBe(200)
  const listen = await fetch(`${world.dg.url}/v1/listen`, {
    method: 'POST',
    headers: { authorization: `Token ${String(minted.body.key)}` },
    body: silentWav(seconds),
  })
  expect(listen.status).toBe(200)
  return String(minted.body.key_id)
}

const usageRequests = (world: World) =>
  world.dg.requests.filter((r) => /\/(usage\/breakdown|billing\/breakdown|requests)$/.test(r.path)).length

describe('usage through the broker', () => {
  let world: World
  beforeEach(async () => {
    world = await startWorld({ policy: withOtherRepo })
  })
  afterEach(() => world.close())

  const ask = async (path: string, claims: Record<string, unknown> = APP) =>
    world.call('GET', path, { token: await world.sign(claims) })

  test("a key of the caller's: its figures, in JSON, audited with the ids reported", async () => {
    const keyId = await usedKey(world, APP, 3)
    const answer = await ask(`/v1/keys/${keyId}/usage`)
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(answer.body).toEqual({
      keys: [
        expect.objectContaining({
          key_id: keyId,
          requests: 1,
          hours: 3 / 3600,
          usd: null,
          logged_requests: 1,
          logged_seconds: 3,
          denied: ['billing:read'],
        }),
      ],
    })
    expect(await auditLineWhere(world.broker, (line) => String(line.request).endsWith(`${keyId}/usage`))).toMatchObject(
      { outcome: 'listed', status: 200, key_id: keyId, reported: [keyId], rule: 'app-tests' },
    )
  })

  test("another repository's key is 403 and an unknown one 404, before Deepgram is asked about usage", async () => {
    const theirs = await usedKey(world, OTHER, 5)
    const before = usageRequests(world)
    expect(await ask(`/v1/keys/${theirs}/usage`)).toMatchObject({ status: 403, body: { error: 'not_yours' } })
    expect(await ask('/v1/keys/ad9c6799-d380-4db7-8c22-92c20a291229/usage')).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    })
    expect(usageRequests(world)).toBe(before)
    const noRule = await ask(`/v1/keys/${theirs}/usage`, { ref: 'refs/pull/7/merge', repository_id: '3003' })
    expect(noRule).toMatchObject({ status: 403, body: { error: 'no_rule' } })
  })

  test('by tags: every key of the caller with all the tags, and none of another repository', async () => {
    const first = await usedKey(world, APP, 2, ['pr-7'])
    const second = await usedKey(world, APP, 4, ['pr-7', 'e2e'])
    await usedKey(world, APP, 8, ['pr-8'])
    await usedKey(world, OTHER, 16, ['pr-7'])
    const answer = await ask('/v1/usage?tags=pr-7')
    expect(answer.status).toBe(200)
    const keys = answer.body.keys as Record<string, unknown>[]
    expect(keys.map((k) => [k.key_id, k.requests, k.hours]).sort()).toEqual(
      [
        [first, 1, 2 / 3600],
        [second, 1, 4 / 3600],
      ].sort(),
    )
    const audit = await auditLineWhere(world.broker, (line) => String(line.request).startsWith('GET /v1/usage'))
    expect((audit?.reported as string[]).sort()).toEqual([first, second].sort())
  })

  test('bad queries and methods are refused in JSON before any Deepgram request', async () => {
    const before = world.dg.requests.length
    const keyId = 'ad9c6799-d380-4db7-8c22-92c20a291229'
    for (const path of [
      `/v1/keys/${keyId}/usage?since=yesterday`,
      `/v1/keys/${keyId}/usage?since=2999-01-01T00:00:00.000Z`,
      `/v1/keys/${keyId}/usage?tags=a`,
      '/v1/usage',
      '/v1/usage?tags=a&tags=b',
      '/v1/usage?tags=a b',
      '/v1/keys/not-a-uuid/usage',
    ])
      expect([path, (await ask(path)).body.error]).toEqual([path, 'bad_request'])
    const post = await world.call('POST', '/v1/usage?tags=a', { token: await world.sign(APP) })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET')
    expect(world.dg.requests.slice(before).filter((r) => !r.path.endsWith('/keys'))).toEqual([])
  })

  test('counted under deletes-per-minute, with deletions and listings', async () => {
    const keyId = await usedKey(world, APP, 1)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await ask(`/v1/keys/${keyId}/usage`)).status)
    const limited = await ask(`/v1/keys/${keyId}/usage`)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200])
    expect(limited).toMatchObject({ status: 429, body: { error: 'rate_limited' } })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    const deleted = await world.call('DELETE', `/v1/keys/${keyId}`, { token: await world.sign(APP) })
    expect(deleted.status).toBe(429)
  })
})
