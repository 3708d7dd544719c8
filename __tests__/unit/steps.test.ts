import type { HttpRequest, HttpResponse } from '../../src/shared/http.ts'
import { runMain } from '../../src/action/main-step.ts'
import { runPost } from '../../src/action/post-step.ts'
import { fakeClock, RecordingIO } from '../helpers/fakes.ts'

const ADMIN_KEY = 'dg_admin_key_for_unit_tests'
const NEW_KEY = '0123456789abcdef0123456789abcdef01234567'
const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const KEY_ID = 'ad9c6799-d380-4db7-8c22-92c20a291229'

/** A Deepgram that answers from a table of `METHOD path` → responses, used up in order. */
function scriptedDeepgram(script: Record<string, HttpResponse[]>) {
  const sent: HttpRequest[] = []
  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    sent.push(request)
    const route = `${request.method} ${new URL(request.url).pathname}`
    const response = script[route]?.shift()
    if (!response) throw new Error(`unexpected ${route}`)
    return response
  }
  return { sent, send }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: JSON.stringify(body),
})

function created(clock: { now: () => number }): HttpResponse {
  const expiration = new Date(clock.now() + 3600_000).toISOString()
  return json(200, {
    api_key_id: KEY_ID,
    key: NEW_KEY,
    comment: 'c',
    scopes: ['usage:write'],
    expiration_date: expiration,
    created: new Date(clock.now()).toISOString(),
  })
}

const inputs = {
  'api-key': ADMIN_KEY,
  'project-id': PROJECT,
  scopes: 'usage:write',
  expiration: '1h',
  revoke: 'auto',
  'deepgram-api-url': 'https://api.deepgram.com',
}

describe('runMain without its credential, on-missing-credentials: skip', () => {
  const skipping = { ...inputs, 'on-missing-credentials': 'skip', 'secret-name': 'DEEPGRAM_API_KEY' }
  const runWith = async (given: Record<string, string>) => {
    const io = new RecordingIO(given)
    const deepgram = scriptedDeepgram({})
    await runMain({
      io,
      run: { repository: 'o/r' },
      send: deepgram.send,
      clock: fakeClock(),
      invocationId: () => '0123456789abcdef',
      userAgent: 'test',
    })
    return { io, sent: deepgram.sent }
  }

  test('is skipped when api-key is empty, though secret-name lacks its github-token too', async () => {
    const { io, sent } = await runWith({ ...skipping, 'api-key': '' })
    expect(io.failed).toBeUndefined()
    expect(io.outputs).toEqual({ skipped: 'true' })
    expect(io.log.find((line) => line.startsWith('notice '))).toContain('Skipped: api-key is empty')
    expect(sent).toEqual([])
  })

  test('still refuses a bad input while it may be skipped', async () => {
    const { io, sent } = await runWith({ ...skipping, 'api-key': '', scopes: 'usage write' })
    expect(io.failed).toContain('Input scopes:')
    expect(sent).toEqual([])
  })

  test('with api-key given, refuses an empty github-token for secret-name before any request', async () => {
    const { io, sent } = await runWith(skipping)
    expect(io.failed).toContain('Input github-token: is empty, and secret-name needs it')
    expect(io.outputs).toEqual({})
    expect(sent).toEqual([])
  })
})

describe('runMain', () => {
  test('masks the admin key first and the new key before any output, then outputs, then state', async () => {
    const clock = fakeClock()
    const io = new RecordingIO(inputs)
    const deepgram = scriptedDeepgram({ [`POST /v1/projects/${PROJECT}/keys`]: [created(clock)] })
    await runMain({
      io,
      run: { repository: 'o/r' },
      send: deepgram.send,
      clock,
      invocationId: () => '0123456789abcdef',
      userAgent: 'test',
    })

    expect(io.failed).toBeUndefined()
    expect(io.masked).toEqual([ADMIN_KEY, NEW_KEY])
    expect(io.log[0]).toBe('mask')
    const newKeyMask = io.log.lastIndexOf('mask')
    expect(io.log.findIndex((entry) => entry === 'output key')).toBeGreaterThan(newKeyMask)
    // What post needs to find the key if the answer never comes is saved before the create is sent.
    expect(io.log.indexOf('state invocation')).toBeLessThan(io.log.indexOf('mask', 1))
    expect(io.log.indexOf('state key-id')).toBeGreaterThan(io.log.indexOf('output expires-at'))
    expect(io.saved).toEqual({
      source: 'deepgram',
      'project-id': PROJECT,
      invocation: '0123456789abcdef',
      'key-id': KEY_ID,
      'expires-at': '2026-11-28T13:00:00.000Z',
      revoke: 'true',
      'kept-because': '',
      'key-created': '2026-11-28T12:00:00.000Z',
      'key-tags': '',
    })
    expect(JSON.stringify([io.log, io.saved, io.summary])).not.toContain(NEW_KEY)
    expect(deepgram.sent[0]?.headers.authorization).toBe(`Token ${ADMIN_KEY}`)
  })

  test('redacts the admin key from a failure message that quotes it', async () => {
    const clock = fakeClock()
    const io = new RecordingIO(inputs)
    const deepgram = scriptedDeepgram({
      [`POST /v1/projects/${PROJECT}/keys`]: [json(400, { err_code: 'Bad Request', err_msg: `bad key ${ADMIN_KEY}` })],
    })
    await runMain({
      io,
      run: {},
      send: deepgram.send,
      clock,
      invocationId: () => '0123456789abcdef',
      userAgent: 'test',
    })
    expect(io.failed).toBe(
      'Deepgram answered HTTP 400 Bad Request while creating the key: bad key *** (no request id).',
    )
  })

  test('sends nothing and fails on the first bad input', async () => {
    const io = new RecordingIO({ ...inputs, revoke: 'sometimes' })
    const deepgram = scriptedDeepgram({})
    await runMain({
      io,
      run: {},
      send: deepgram.send,
      clock: fakeClock(),
      invocationId: () => '0123456789abcdef',
      userAgent: 'test',
    })
    expect(io.failed).toBe("Input revoke: 'sometimes' is not one of auto, true or false.")
    expect(deepgram.sent).toEqual([])
  })
})

describe('runPost', () => {
  // The usage report before the delete has tests of its own (usage-report.test.ts).
  const postInputs = { ...inputs, 'usage-report': 'false' }
  const state = { 'project-id': PROJECT, 'key-id': KEY_ID, 'expires-at': '2026-11-28T13:00:00.000Z', revoke: 'true' }
  const post = async (io: RecordingIO, script: Record<string, HttpResponse[]>) => {
    const deepgram = scriptedDeepgram(script)
    await runPost({ io, send: deepgram.send, clock: fakeClock(), userAgent: 'test' })
    return deepgram.sent
  }

  test.each([
    ['main created no key', {}],
    ['revoke is off', { ...state, revoke: 'false' }],
    ['main knew no key of its own was left', { 'project-id': PROJECT, invocation: '' }],
  ])('sends nothing when %s', async (_, saved) => {
    const io = new RecordingIO(postInputs, saved)
    expect(await post(io, {})).toEqual([])
    expect(io.failed).toBeUndefined()
  })

  test.each([
    ['key id', { ...state, 'key-id': '../../v1/projects' }],
    ['project id', { ...state, 'project-id': 'abc?x=1' }],
    ['marker', { 'project-id': PROJECT, invocation: '::set-output name=x::' }],
  ])('sends nothing, and warns without quoting it, when the saved %s is malformed', async (what, saved) => {
    const io = new RecordingIO(postInputs, saved)
    expect(await post(io, {})).toEqual([])
    expect(io.log.filter((entry) => entry.startsWith('warning'))).toEqual([
      `warning The main step's saved ${what} is not one this action saves, so no request was made. Check the project's keys in the Deepgram console.`,
    ])
  })

  test("revokes a key the runner's clock says has expired: only Deepgram knows", async () => {
    const io = new RecordingIO(postInputs, { ...state, 'expires-at': '2026-11-28T11:59:59.000Z' })
    const sent = await post(io, {
      [`DELETE /v1/projects/${PROJECT}/keys/${KEY_ID}`]: [
        json(404, { category: 'NOT_FOUND', message: 'API key not found.' }),
      ],
    })
    expect(sent).toHaveLength(1)
    expect(io.log).toContain(`info Key ${KEY_ID} was already deleted.`)
  })

  test("finds the key by this run's marker when main never saw the create's answer, and leaves look-alikes", async () => {
    const io = new RecordingIO(postInputs, { 'project-id': PROJECT, invocation: '0123456789abcdef' })
    const other = 'be0c3c1f-1a5e-4f8b-9d3c-2e7a6b5c4d3e'
    const listing = json(200, {
      api_keys: [
        { api_key: { api_key_id: KEY_ID, comment: 'shared [dgk:0123456789abcdef]', scopes: [] } },
        { api_key: { api_key_id: other, comment: 'shared [dgk:0123456789abcdee]', scopes: [] } },
        { api_key: { api_key_id: other, comment: 'shared [dgk:0123456789abcdef] copy', scopes: [] } },
      ],
    })
    const sent = await post(io, {
      [`GET /v1/projects/${PROJECT}/keys`]: [listing],
      [`DELETE /v1/projects/${PROJECT}/keys/${KEY_ID}`]: [json(200, { message: 'Successfully deleted the API key!' })],
    })
    expect(sent.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      `GET /v1/projects/${PROJECT}/keys`,
      `DELETE /v1/projects/${PROJECT}/keys/${KEY_ID}`,
    ])
    expect(io.log).toContain(`info Revoked key ${KEY_ID}, created by this run although main never saw the answer.`)
  })

  test('a DELETE answered 200 with an error body is not a revocation', async () => {
    const io = new RecordingIO(postInputs, state)
    const failure = json(200, { err_code: 'INTERNAL', err_msg: 'Could not delete the key.', request_id: 'req-2' })
    await post(io, { [`DELETE /v1/projects/${PROJECT}/keys/${KEY_ID}`]: [failure] })
    expect(io.log.filter((entry) => entry.startsWith('warning'))).toEqual([
      `warning Could not revoke key ${KEY_ID}: Deepgram answered HTTP 200 INTERNAL while deleting key ${KEY_ID}: Could not delete the key. (request id req-2). Deepgram did not confirm the deletion, so the key may still exist: check it in the Deepgram console. It expires on its own at 2026-11-28T13:00:00.000Z.`,
    ])
  })

  test('deletes the key with the api-key it reads again', async () => {
    const io = new RecordingIO(postInputs, state)
    const sent = await post(io, {
      [`DELETE /v1/projects/${PROJECT}/keys/${KEY_ID}`]: [json(200, { message: 'Successfully deleted the API key!' })],
    })
    expect(sent.map((r) => r.headers.authorization)).toEqual([`Token ${ADMIN_KEY}`])
    expect(io.log).toContain(`info Revoked key ${KEY_ID}.`)
  })

  test('turns a revocation that keeps failing into a warning with status, message and request id', async () => {
    const io = new RecordingIO(postInputs, state)
    const failure = json(503, {
      error_code: 'Service Unavailable',
      err_msg: 'Please try again later',
      request_id: 'req-9',
    })
    await post(io, { [`DELETE /v1/projects/${PROJECT}/keys/${KEY_ID}`]: [failure, failure, failure] })
    expect(io.failed).toBeUndefined()
    expect(io.log.filter((entry) => entry.startsWith('warning'))).toEqual([
      `warning Could not revoke key ${KEY_ID}: Deepgram answered HTTP 503 Service Unavailable while deleting key ${KEY_ID}: Please try again later (request id req-9). Deepgram had a problem; run the job again later. It expires on its own at 2026-11-28T13:00:00.000Z.`,
    ])
  })
})
