import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import type { DeepgramEmulator, DeepgramEmulatorOptions } from '../../harness/deepgram-emulator.ts'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MICROSECOND_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
const KEYS_PATH = `/v1/projects/${DEFAULT_PROJECT.projectId}/keys`
const OTHER_PROJECT = { projectId: '550e8400-e29b-41d4-a716-446655440000', name: 'Other project' }

let emulator: DeepgramEmulator

async function restart(options: DeepgramEmulatorOptions): Promise<void> {
  await emulator.close()
  emulator = await startDeepgramEmulator(options)
}

beforeEach(async () => {
  emulator = await startDeepgramEmulator({})
})

afterEach(async () => {
  await emulator.close()
})

interface CallOptions {
  /** null sends no Authorization header. */
  apiKey?: string | null
  json?: unknown
  rawBody?: string
  contentType?: string
}

interface Answer {
  status: number
  headers: Headers
  text: string
  body: unknown
}

async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {}
  const apiKey = options.apiKey === undefined ? DEFAULT_ACCOUNT.apiKey : options.apiKey
  if (apiKey !== null) headers['authorization'] = `Token ${apiKey}`
  const body = options.rawBody ?? (options.json === undefined ? undefined : JSON.stringify(options.json))
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json'
  const response = await fetch(`${emulator.url}${path}`, { method, headers, body })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, body: parseOrText(text) }
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function create(json: unknown, apiKey?: string): Promise<Answer> {
  return call('POST', KEYS_PATH, { json, apiKey })
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined
}

describe('the Deepgram emulator', () => {
  test('lists the projects of the calling key and tags the answer with a request id', async () => {
    const answer = await call('GET', '/v1/projects')

    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ projects: [{ project_id: DEFAULT_PROJECT.projectId, name: DEFAULT_PROJECT.name }] })
    expect(answer.headers.get('dg-request-id')).toMatch(UUID_V4)
  })

  test('refuses a missing or unknown key with 401 INVALID_AUTH whose request_id matches the header', async () => {
    for (const apiKey of [null, 'dg_unknown']) {
      const answer = await call('GET', '/v1/projects', { apiKey })

      expect(answer.status).toBe(401)
      expect(answer.body).toEqual({
        err_code: 'INVALID_AUTH',
        err_msg: 'Invalid credentials.',
        request_id: answer.headers.get('dg-request-id'),
      })
    }
  })

  test('creates a key with expanded scopes, tags, and an expiry in microseconds', async () => {
    const before = Date.now()
    const answer = await create({
      comment: 'ci run 42',
      scopes: ['usage:write', 'keys:write'],
      tags: ['ci'],
      time_to_live_in_seconds: 3600,
    })

    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      api_key_id: expect.stringMatching(UUID_V4),
      key: expect.stringMatching(/^[0-9a-f]{40}$/),
      comment: 'ci run 42',
      scopes: ['usage:write', 'keys:write', 'keys:read'],
      tags: ['ci'],
      expiration_date: expect.stringMatching(MICROSECOND_TIMESTAMP),
      created: expect.stringMatching(MICROSECOND_TIMESTAMP),
    })
    const expiresAt = Date.parse(String(field(answer.body, 'expiration_date')))
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000)
    expect(emulator.liveKeys()).toEqual([
      expect.objectContaining({
        projectId: DEFAULT_PROJECT.projectId,
        apiKeyId: field(answer.body, 'api_key_id'),
        key: field(answer.body, 'key'),
      }),
    ])
  })

  test('omits tags and expiration_date from the created key when none were asked for', async () => {
    const answer = await create({ comment: 'forever', scopes: ['member'] })

    expect(answer.status).toBe(200)
    expect(Object.keys(answer.body as object).sort()).toEqual(['api_key_id', 'comment', 'created', 'key', 'scopes'])
    expect(emulator.keys[0]?.expirationDate).toBeNull()
  })

  test('echoes an explicit expiration_date in UTC with microseconds', async () => {
    const answer = await create({
      comment: 'dated',
      scopes: ['usage:write'],
      expiration_date: '2099-01-01T02:00:00+02:00',
    })

    expect(answer.status).toBe(200)
    expect(field(answer.body, 'expiration_date')).toBe('2099-01-01T00:00:00.000000Z')
  })

  test('ignores unknown fields, so a misspelt ttl creates a key that never expires', async () => {
    const answer = await create({ comment: 'typo', scopes: ['usage:write'], time_to_live: 60 })

    expect(answer.status).toBe(200)
    expect(answer.body).not.toHaveProperty('expiration_date')
    expect(emulator.liveKeys()).toHaveLength(1)
  })

  test('reports a missing field with serde wording and the position of the closing brace', async () => {
    const answer = await create({ comment: 'x' })

    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({
      category: 'INVALID_JSON',
      message: 'Invalid JSON submitted.',
      details: 'Json deserialize error: missing field `scopes` at line 1 column 15',
      request_id: answer.headers.get('dg-request-id'),
    })
    expect(emulator.keys).toHaveLength(0)
  })

  test('rejects a bare date as expiration_date, pointing just past the value', async () => {
    const raw = '{"comment":"x","scopes":["member"],\n"expiration_date":"2026-01-01"}'
    const answer = await call('POST', KEYS_PATH, { rawBody: raw })

    expect(answer.status).toBe(400)
    expect(field(answer.body, 'category')).toBe('INVALID_JSON')
    expect(field(answer.body, 'details')).toBe(
      'Json deserialize error: input is not enough for unique date and time at line 2 column 30',
    )
  })

  test('rejects wrongly typed fields with serde wording', async () => {
    const scopes = await create({ comment: 'x', scopes: 'member' })
    const ttl = await create({ comment: 'x', scopes: ['member'], time_to_live_in_seconds: 1.5 })

    expect(field(scopes.body, 'details')).toBe(
      'Json deserialize error: invalid type: string "member", expected a sequence at line 1 column 32',
    )
    expect(field(ttl.body, 'details')).toBe(
      'Json deserialize error: invalid type: floating point `1.5`, expected u64 at line 1 column 64',
    )
  })

  test('rejects an empty scope list and a request with both expiry fields', async () => {
    const empty = await create({ comment: 'x', scopes: [] })
    const both = await create({
      comment: 'x',
      scopes: ['member'],
      expiration_date: '2099-01-01T00:00:00Z',
      time_to_live_in_seconds: 60,
    })

    expect(empty.status).toBe(400)
    expect(both.status).toBe(400)
    expect(both.body).toEqual(
      expect.objectContaining({ category: 'BAD_REQUEST', message: expect.stringMatching(/only one/i) }),
    )
    expect(emulator.keys).toHaveLength(0)
  })

  test('answers malformed JSON with the legacy Bad Request body', async () => {
    const answer = await call('POST', KEYS_PATH, { rawBody: '{"comment":' })

    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({
      err_code: 'Bad Request',
      err_msg: 'Content-type was application/json, but we could not process the JSON payload.',
      request_id: answer.headers.get('dg-request-id'),
    })
  })

  test('refuses a body that is not declared as JSON', async () => {
    const answer = await call('POST', KEYS_PATH, {
      rawBody: '{"comment":"x","scopes":["member"]}',
      contentType: 'text/plain',
    })

    expect(answer.status).toBe(415)
    expect(emulator.keys).toHaveLength(0)
  })

  test('answers a malformed project id with a plain-text UUID parsing error naming the offending character', async () => {
    const prefixed = await call('GET', '/v1/projects/project-1/keys')
    const late = await call('GET', '/v1/projects/3f2504e0-4f89-11d3-9a0c-0305e82c33zz/keys')

    expect(prefixed.status).toBe(404)
    expect(prefixed.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(prefixed.text).toBe(
      'UUID parsing failed: invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-zA-Z], found `p` at 1',
    )
    expect(late.text).toMatch(/found `z` at 35$/)
  })

  test('answers 404 NOT_FOUND for a project the key does not belong to', async () => {
    const answer = await call('GET', `/v1/projects/${OTHER_PROJECT.projectId}/keys`)

    expect(answer.status).toBe(404)
    expect(answer.body).toEqual({
      category: 'NOT_FOUND',
      message: 'A project with the submitted ID cannot be found.',
      details: 'Check that you have submitted the intended project ID and that the project has not been deleted.',
      request_id: answer.headers.get('dg-request-id'),
    })
  })

  test('needs keys:write to create and keys:read to list', async () => {
    const readOnly = { apiKey: 'dg_reader', projectIds: [DEFAULT_PROJECT.projectId], scopes: ['keys:read'] }
    const usageOnly = { apiKey: 'dg_usage', projectIds: [DEFAULT_PROJECT.projectId], scopes: ['usage:write'] }
    await restart({ accounts: [readOnly, usageOnly] })

    const created = await create({ comment: 'x', scopes: ['member'] }, readOnly.apiKey)
    const listedByReader = await call('GET', KEYS_PATH, { apiKey: readOnly.apiKey })
    const listedByUsage = await call('GET', KEYS_PATH, { apiKey: usageOnly.apiKey })

    expect(created.status).toBe(403)
    expect(created.body).toEqual({
      err_code: 'INSUFFICIENT_PERMISSIONS',
      err_msg: 'User does not have sufficient permissions.',
      request_id: created.headers.get('dg-request-id'),
    })
    expect(listedByReader.status).toBe(200)
    expect(listedByUsage.status).toBe(403)
    expect(emulator.keys).toHaveLength(0)
  })

  test('lists the keys of the project and filters them by status', async () => {
    const live = await create({ comment: 'live', scopes: ['usage:write'], tags: ['ci'], time_to_live_in_seconds: 600 })
    emulator.addKey({
      projectId: DEFAULT_PROJECT.projectId,
      comment: 'old',
      expirationDate: '2020-01-01T00:00:00.000000Z',
    })

    const all = await call('GET', KEYS_PATH)
    const active = await call('GET', `${KEYS_PATH}?status=active`)
    const expired = await call('GET', `${KEYS_PATH}?status=expired`)

    expect(all.status).toBe(200)
    expect(field(all.body, 'api_keys')).toEqual([
      {
        member: { member_id: expect.stringMatching(UUID), email: expect.any(String) },
        api_key: {
          api_key_id: field(live.body, 'api_key_id'),
          comment: 'live',
          scopes: ['usage:write'],
          tags: ['ci'],
          expiration_date: field(live.body, 'expiration_date'),
          created: field(live.body, 'created'),
        },
      },
      expect.objectContaining({ api_key: expect.objectContaining({ comment: 'old' }) }),
    ])
    const comments = (answer: Answer): unknown[] =>
      (field(answer.body, 'api_keys') as unknown[]).map((item) => field(field(item, 'api_key'), 'comment'))
    expect(comments(active)).toEqual(['live'])
    expect(comments(expired)).toEqual(['old'])
  })

  test('leaves tags out of list items when listOmitsTags is set', async () => {
    await restart({ listOmitsTags: true })
    await create({ comment: 'tagged', scopes: ['usage:write'], tags: ['ci'] })

    const answer = await call('GET', KEYS_PATH)

    expect(field(field((field(answer.body, 'api_keys') as unknown[])[0], 'api_key'), 'tags')).toBeUndefined()
    expect(emulator.keys[0]?.tags).toEqual(['ci'])
  })

  test('shows members only their own keys while owners see every key', async () => {
    const other = { apiKey: 'dg_other_member', projectIds: [DEFAULT_PROJECT.projectId], scopes: ['member'] }
    const owner = { apiKey: 'dg_owner', projectIds: [DEFAULT_PROJECT.projectId], scopes: ['owner'] }
    await restart({ accounts: [DEFAULT_ACCOUNT, other, owner] })
    const mine = await create({ comment: 'mine', scopes: ['usage:write'] })
    const keyPath = `${KEYS_PATH}/${String(field(mine.body, 'api_key_id'))}`

    const seenByOther = await call('GET', KEYS_PATH, { apiKey: other.apiKey })
    const seenByOwner = await call('GET', KEYS_PATH, { apiKey: owner.apiKey })
    const deletedByOther = await call('DELETE', keyPath, { apiKey: other.apiKey })

    expect(seenByOther.body).toEqual({ api_keys: [] })
    expect(field(seenByOwner.body, 'api_keys')).toHaveLength(1)
    expect(deletedByOther.status).toBe(404)
    expect(emulator.liveKeys()).toHaveLength(1)
  })

  test('a minted key authenticates with its own scopes, as the member who created it, until deleted or expired', async () => {
    const manager = await create({ comment: 'manager', scopes: ['member'] })
    const narrow = await create({ comment: 'narrow', scopes: ['usage:write'] })
    const lapsed = await create({
      comment: 'lapsed',
      scopes: ['member'],
      expiration_date: new Date(Date.now() - 1000).toISOString(),
    })
    const managerKey = String(field(manager.body, 'key'))

    const projects = await call('GET', '/v1/projects', { apiKey: managerKey })
    const listed = await call('GET', KEYS_PATH, { apiKey: managerKey })
    const successor = await create({ comment: 'successor', scopes: ['member'] }, managerKey)
    const deniedList = await call('GET', KEYS_PATH, { apiKey: String(field(narrow.body, 'key')) })
    const deletedPredecessor = await call('DELETE', `${KEYS_PATH}/${String(field(manager.body, 'api_key_id'))}`, {
      apiKey: String(field(successor.body, 'key')),
    })
    const afterDeletion = await call('GET', KEYS_PATH, { apiKey: managerKey })
    const expired = await call('GET', KEYS_PATH, { apiKey: String(field(lapsed.body, 'key')) })

    expect(projects.body).toEqual({ projects: [{ project_id: DEFAULT_PROJECT.projectId, name: DEFAULT_PROJECT.name }] })
    expect(field(listed.body, 'api_keys')).toHaveLength(3) // lapsed included: the listing shows expired keys too
    expect(successor.status).toBe(200)
    expect(emulator.keys.map((k) => k.memberId)).toEqual(Array(4).fill(emulator.keys[0]?.memberId))
    expect(deniedList.status).toBe(403)
    expect(deletedPredecessor.status).toBe(200)
    expect(afterDeletion.status).toBe(401)
    expect(expired.status).toBe(401)
  })

  test('gets one key in the flat shape by default and in the item shape on request', async () => {
    const created = await create({ comment: 'one', scopes: ['usage:write'], tags: ['ci'], time_to_live_in_seconds: 60 })
    const keyPath = `${KEYS_PATH}/${String(field(created.body, 'api_key_id'))}`
    const apiKey = {
      api_key_id: field(created.body, 'api_key_id'),
      comment: 'one',
      scopes: ['usage:write'],
      tags: ['ci'],
      expiration_date: field(created.body, 'expiration_date'),
      created: field(created.body, 'created'),
    }
    const member = { member_id: expect.stringMatching(UUID), email: expect.any(String) }

    const flat = await call('GET', keyPath)
    await restart({ getShape: 'item' })
    const seeded = emulator.addKey({ projectId: DEFAULT_PROJECT.projectId, comment: 'seeded', tags: ['ci'] })
    const item = await call('GET', `${KEYS_PATH}/${seeded.apiKeyId}`)

    expect(flat.status).toBe(200)
    expect(flat.body).toEqual({ member, api_key: apiKey })
    expect(item.body).toEqual({
      item: {
        member: {
          ...member,
          api_key: {
            api_key_id: seeded.apiKeyId,
            comment: 'seeded',
            scopes: ['member'],
            tags: ['ci'],
            created: seeded.created,
          },
        },
      },
    })
  })

  test('deletes a key once and answers 404 NOT_FOUND afterwards', async () => {
    const seeded = emulator.addKey({ projectId: DEFAULT_PROJECT.projectId, comment: 'to revoke' })
    const keyPath = `${KEYS_PATH}/${seeded.apiKeyId}`

    const first = await call('DELETE', keyPath)
    const second = await call('DELETE', keyPath)
    const read = await call('GET', keyPath)

    expect(first.status).toBe(200)
    expect(first.body).toEqual({ message: 'Successfully deleted the API key!' })
    expect(second.status).toBe(404)
    expect(second.body).toEqual(
      expect.objectContaining({
        category: 'NOT_FOUND',
        message: 'API key not found.',
        request_id: second.headers.get('dg-request-id'),
      }),
    )
    expect(read.status).toBe(404)
    expect(emulator.keys[0]?.deleted).toBe(true)
    expect(emulator.liveKeys()).toEqual([])
  })

  test('answers an unknown route with a JSON 404', async () => {
    const answer = await call('GET', '/v1/nothing-here')

    expect(answer.status).toBe(404)
    expect(answer.body).toEqual(
      expect.objectContaining({ category: 'NOT_FOUND', request_id: answer.headers.get('dg-request-id') }),
    )
  })

  test('fails the next requests of a route before authenticating, without creating anything', async () => {
    emulator.fail({ route: 'create', status: 429, times: 2, headers: { 'retry-after': '1' } })

    const first = await create({ comment: 'x', scopes: ['member'] }, 'dg_unknown')
    const second = await create({ comment: 'x', scopes: ['member'] })
    const listed = await call('GET', KEYS_PATH)
    const third = await create({ comment: 'x', scopes: ['member'] })

    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('1')
    expect(first.body).toEqual({
      err_code: 'TOO_MANY_REQUESTS',
      err_msg: 'Too many requests. Please try again later',
      request_id: first.headers.get('dg-request-id'),
    })
    expect(second.status).toBe(429)
    expect(listed.status).toBe(200)
    expect(third.status).toBe(200)
    expect(emulator.keys).toHaveLength(1)
  })

  test('uses Deepgram-like default bodies for 503 and 500, and a custom body when given', async () => {
    emulator.fail({ route: 'projects', status: 503 })
    emulator.fail({ route: 'projects', status: 500 })
    emulator.fail({ route: 'delete', status: 502, body: 'upstream went away' })

    const unavailable = await call('GET', '/v1/projects')
    const internal = await call('GET', '/v1/projects')
    const custom = await call('DELETE', `${KEYS_PATH}/${DEFAULT_PROJECT.projectId}`)

    expect(unavailable.body).toEqual({
      error_code: 'Service Unavailable',
      err_msg: 'Please try again later',
      request_id: unavailable.headers.get('dg-request-id'),
    })
    expect(internal.status).toBe(500)
    expect(internal.body).toEqual(
      expect.objectContaining({ category: 'INTERNAL_SERVER_ERROR', request_id: internal.headers.get('dg-request-id') }),
    )
    expect(custom.status).toBe(502)
    expect(custom.text).toBe('upstream went away')
  })

  test('commitThenFail creates the key but answers the error instead of it', async () => {
    emulator.commitThenFail(503)

    const failed = await create({ comment: 'dup?', scopes: ['usage:write'] })
    const retried = await create({ comment: 'dup?', scopes: ['usage:write'] })

    expect(failed.status).toBe(503)
    expect(field(failed.body, 'error_code')).toBe('Service Unavailable')
    expect(retried.status).toBe(200)
    expect(emulator.liveKeys().map((k) => k.comment)).toEqual(['dup?', 'dup?'])
  })

  test('commitThenReset creates the key and then drops the connection', async () => {
    emulator.commitThenReset()

    await expect(create({ comment: 'lost', scopes: ['usage:write'] })).rejects.toThrow()
    expect(emulator.liveKeys()).toHaveLength(1)
    expect(emulator.requests.at(-1)?.status).toBe(0)
  })

  test('ignoreExpiry creates keys that never expire and says nothing about expiry', async () => {
    emulator.ignoreExpiry()

    const answer = await create({ comment: 'ttl ignored', scopes: ['usage:write'], time_to_live_in_seconds: 60 })

    expect(answer.status).toBe(200)
    expect(answer.body).not.toHaveProperty('expiration_date')
    expect(emulator.keys[0]?.expirationDate).toBeNull()
  })

  test('delays every answer, faults included, by the configured latency', async () => {
    emulator.setLatency(150)
    emulator.fail({ route: 'projects', status: 429 })

    const started = Date.now()
    const answer = await call('GET', '/v1/projects')

    expect(answer.status).toBe(429)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  test('records every request with its query, lower-cased headers, parsed body and status', async () => {
    await call('GET', `${KEYS_PATH}?status=active`)
    await create({ comment: 'recorded', scopes: ['usage:write'] })
    await call('POST', KEYS_PATH, { rawBody: 'not json' })

    expect(emulator.requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: KEYS_PATH,
        query: { status: 'active' },
        body: undefined,
        status: 200,
      }),
      expect.objectContaining({
        method: 'POST',
        path: KEYS_PATH,
        query: {},
        headers: expect.objectContaining({
          authorization: `Token ${DEFAULT_ACCOUNT.apiKey}`,
          'content-type': 'application/json',
        }),
        body: { comment: 'recorded', scopes: ['usage:write'] },
        status: 200,
      }),
      expect.objectContaining({ method: 'POST', body: 'not json', status: 400 }),
    ])
  })

  test('close() returns promptly even while a keep-alive connection is open', async () => {
    await call('GET', '/v1/projects')

    const started = Date.now()
    await emulator.close()

    expect(Date.now() - started).toBeLessThan(1000)
    await expect(fetch(`${emulator.url}/v1/projects`)).rejects.toThrow()
  })
})

describe('the Deepgram emulator, temporary tokens', () => {
  const GRANT = '/v1/auth/grant'

  function payloadOf(token: string): Record<string, unknown> {
    const [, payload = ''] = token.split('.')
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
  }

  test('grants a JWT for the TTL asked, whose payload carries its expiry', async () => {
    const before = Math.floor(Date.now() / 1000)
    const answer = await call('POST', GRANT, { json: { ttl_seconds: 600 } })
    expect(answer.status).toBe(200)
    const body = answer.body as { access_token: string; expires_in: number }
    expect(body.expires_in).toBe(600)
    expect(body.access_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    const after = Math.ceil(Date.now() / 1000)
    const exp = Number(payloadOf(body.access_token).exp)
    expect(exp - before).toBeGreaterThanOrEqual(600)
    expect(exp - after).toBeLessThanOrEqual(600)
    expect(emulator.tokens).toEqual([
      { accessToken: body.access_token, expiresIn: 600, asked: 600, apiKey: DEFAULT_ACCOUNT.apiKey },
    ])
    expect(emulator.keys).toEqual([])
  })

  test('gives 30 s when the body asks no TTL, or there is no body', async () => {
    const empty = await call('POST', GRANT, { json: {} })
    const none = await call('POST', GRANT)
    expect([empty.status, none.status]).toEqual([200, 200])
    expect([
      (empty.body as { expires_in: number }).expires_in,
      (none.body as { expires_in: number }).expires_in,
    ]).toEqual([30, 30])
  })

  test('answers 400 for a TTL outside 1 to 3600 seconds', async () => {
    for (const ttl of [0, 3601, -5, '60']) {
      const answer = await call('POST', GRANT, { json: { ttl_seconds: ttl } })
      expect(answer.status).toBe(400)
      expect(answer.body).toMatchObject({ err_code: 'Bad Request' })
    }
    expect(emulator.tokens).toEqual([])
  })

  test('answers 403 FORBIDDEN to a key below the Member role, such as a minted usage:write key', async () => {
    const minted = (await create({ comment: 'ci', scopes: ['usage:write'] })).body as { key: string }
    const answer = await call('POST', GRANT, { apiKey: minted.key, json: { ttl_seconds: 60 } })
    expect(answer.status).toBe(403)
    expect(answer.body).toMatchObject({ err_code: 'FORBIDDEN', err_msg: 'Insufficient permissions.' })
    expect((await call('POST', GRANT, { apiKey: null })).status).toBe(401)
  })

  test('ignores the TTL on demand, as older deployments did, and grants longer tokens on demand', async () => {
    emulator.ignoreTokenTtl()
    expect((await call('POST', GRANT, { json: { ttl_seconds: 900 } })).body).toMatchObject({ expires_in: 30 })
    emulator.ignoreTokenTtl(false)
    emulator.grantLongerTokens(60)
    expect((await call('POST', GRANT, { json: { ttl_seconds: 900 } })).body).toMatchObject({ expires_in: 960 })
    expect((await call('POST', GRANT, { json: { ttl_seconds: 900 } })).body).toMatchObject({ expires_in: 900 })
  })

  test('fails grants on demand, and leaves a grant unanswered on demand', async () => {
    emulator.fail({ route: 'grant', status: 503 })
    const failed = await call('POST', GRANT, { json: { ttl_seconds: 60 } })
    expect(failed.status).toBe(503)
    expect((await call('POST', GRANT, { json: { ttl_seconds: 60 } })).status).toBe(200)
    emulator.neverAnswer('grant')
    const hung = await fetch(`${emulator.url}${GRANT}`, {
      method: 'POST',
      headers: { authorization: `Token ${DEFAULT_ACCOUNT.apiKey}` },
      signal: AbortSignal.timeout(300),
    }).catch((error: unknown) => error)
    expect(hung).toMatchObject({ name: 'TimeoutError' })
    expect(emulator.requests.map((r) => r.status)).toEqual([503, 200, 0])
  })

  test('serves the grant for POST only', async () => {
    expect((await call('GET', GRANT)).status).toBe(404)
  })
})
