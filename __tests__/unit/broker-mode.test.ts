import { readBrokerTarget } from '../../src/action/inputs/source.ts'
import type { GetInput } from '../../src/shared/input-forms.ts'
import { runMain } from '../../src/action/main-step.ts'
import { runPost } from '../../src/action/post-step.ts'
import type { HttpRequest, HttpResponse } from '../../src/shared/http.ts'
import { fakeClock, RecordingIO } from '../helpers/fakes.ts'

const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2Jyb2tlciJ9.bWFpbi1zdGVwLXNpZ25hdHVyZQ'
const POST_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2Jyb2tlciJ9.cG9zdC1zdGVwLXNpZ25hdHVyZQ'
const NEW_KEY = '0123456789abcdef0123456789abcdef01234567'
const KEY_ID = 'ad9c6799-d380-4db7-8c22-92c20a291229'
const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const BROKER = 'https://deepgram-broker.example.com'

const inputsOf =
  (inputs: Record<string, string>): GetInput =>
  (name) =>
    inputs[name] ?? ''

/** An input error's message, or a failure of the test when there is none. */
function refusal(read: () => unknown): string {
  try {
    read()
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  throw new Error('expected the inputs to be refused')
}

describe('broker-mode inputs', () => {
  test('the audience defaults to the origin of broker-url; a path is kept in the URL', () => {
    expect(readBrokerTarget(inputsOf({ 'broker-url': `${BROKER}/dg/` }))).toEqual({
      url: `${BROKER}/dg`,
      audience: BROKER,
    })
    expect(
      readBrokerTarget(inputsOf({ 'broker-url': 'http://127.0.0.1:8080', 'broker-audience': 'deepgram-broker' })),
    ).toEqual({ url: 'http://127.0.0.1:8080', audience: 'deepgram-broker' })
  })

  test.each([
    [
      { 'broker-url': 'http://broker.example.com' },
      "Input broker-url: 'http://broker.example.com' is plain http to a host that is not this machine",
    ],
    [{ 'broker-url': 'not a url' }, "Input broker-url: 'not a url' is not a URL."],
    [{ 'broker-audience': BROKER }, 'Input broker-url: is empty, and broker-audience needs it.'],
    [
      { 'broker-url': BROKER, 'api-key': 'dg_secret_admin_key' },
      'Input api-key: must be empty with broker-url: the broker holds the Deepgram key',
    ],
    [{ 'broker-url': BROKER, 'project-id': PROJECT }, 'Input project-id: must be empty with broker-url'],
    [
      { 'broker-url': BROKER, 'deepgram-api-url': 'http://127.0.0.1:9999' },
      'Input deepgram-api-url: has no effect with broker-url',
    ],
    [{ 'broker-url': BROKER, 'broker-audience': 'two words' }, 'Input broker-audience: is not an audience.'],
  ])('refuses %j', (inputs, message) => {
    const text = refusal(() => readBrokerTarget(inputsOf(inputs)))
    expect(text).toContain(message)
    expect(text).not.toContain('dg_secret_admin_key')
  })

  test("deepgram-api-url at its default is no mistake: the runner passes action.yml's default", () => {
    expect(
      readBrokerTarget(inputsOf({ 'broker-url': BROKER, 'deepgram-api-url': 'https://api.deepgram.com/' })).url,
    ).toBe(BROKER)
  })
})

const json = (status: number, body: unknown): HttpResponse => ({ status, headers: {}, body: JSON.stringify(body) })

/** A broker that answers from a table of `METHOD path` → responses, used up in order. */
function scriptedBroker(script: Record<string, HttpResponse[]>) {
  const sent: HttpRequest[] = []
  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    sent.push(request)
    const url = new URL(request.url)
    const route = `${request.method} ${url.pathname}${url.search}`
    const response = script[route]?.shift()
    if (!response) throw new Error(`unexpected ${route}`)
    return response
  }
  return { sent, send }
}

function minted(clock: { now: () => number }, extra: Record<string, unknown> = {}): HttpResponse {
  const expiresAt = new Date(clock.now() + 3600_000).toISOString()
  return json(200, {
    key: NEW_KEY,
    key_id: KEY_ID,
    project_id: PROJECT,
    expires_at: expiresAt,
    scopes: ['usage:write'],
    tags: ['ci'],
    ...extra,
  })
}

const brokerInputs = {
  'broker-url': BROKER,
  scopes: 'usage:write',
  expiration: '1h',
  revoke: 'auto',
  'deepgram-api-url': 'https://api.deepgram.com',
  'on-missing-credentials': 'fail',
}

/** `idToken` null: a job without id-token: write. */
function main(
  inputs: Record<string, string>,
  script: Record<string, HttpResponse[]>,
  idToken: string | null = ID_TOKEN,
) {
  const clock = fakeClock()
  const io = new RecordingIO(inputs)
  io.idTokenFor = () => idToken ?? undefined
  const broker = scriptedBroker(script)
  const done = runMain({
    io,
    run: { repository: 'octo-org/app' },
    send: broker.send,
    clock,
    invocationId: () => '0123456789abcdef',
    userAgent: 'test',
  })
  return { io, broker, clock, done }
}

describe('runMain in broker mode', () => {
  test.each([
    [{ scopes: 'member' }, 'Input scopes:'],
    [{ expiration: '91d' }, 'Input expiration:'],
    [{ 'key-id': KEY_ID }, 'Input key-id: applies to mode: revoke and mode: report only'],
    [{ revoke: 'maybe' }, 'Input revoke:'],
    [{ 'keep-previous': 'one' }, 'Input keep-previous:'],
    [
      { mode: 'revoke', scopes: '', expiration: '', revoke: '', tags: 'pr-7', 'secret-name': 'X' },
      'Input secret-name: applies to mode: create only',
    ],
    [{ mode: 'revoke', scopes: '', expiration: '', revoke: '' }, 'Input key-id: and tags are both empty'],
  ])('the direct-mode rules hold for %j, before any request', async (inputs, message) => {
    const { io, broker, done } = main({ ...brokerInputs, ...inputs }, {})
    await done
    expect(io.failed).toContain(message)
    expect(broker.sent).toEqual([])
  })

  test('asks for a token of the audience, masks it and the key first, outputs the key, and saves no token', async () => {
    const clock = fakeClock()
    const io = new RecordingIO(brokerInputs)
    io.idTokenFor = () => ID_TOKEN
    const broker = scriptedBroker({ 'POST /v1/keys': [minted(clock)] })
    await runMain({
      io,
      run: { repository: 'octo-org/app' },
      send: broker.send,
      clock,
      invocationId: () => '0123456789abcdef',
      userAgent: 'test',
    })

    expect(io.failed).toBeUndefined()
    expect(io.log[0]).toBe(`id-token ${BROKER}`)
    expect(io.masked).toEqual([ID_TOKEN, NEW_KEY])
    expect(io.log.indexOf('output key')).toBeGreaterThan(io.log.lastIndexOf('mask'))
    expect(broker.sent[0]?.headers.authorization).toBe(`Bearer ${ID_TOKEN}`)
    expect(JSON.parse(broker.sent[0]?.body ?? '')).toEqual({
      scopes: ['usage:write'],
      expiration: 3600,
      invocation: '0123456789abcdef',
    })
    expect(io.outputs).toEqual({
      skipped: 'false',
      key: NEW_KEY,
      'key-id': KEY_ID,
      'project-id': PROJECT,
      'expires-at': '2026-11-28T13:00:00.000Z',
    })
    // The invocation, and where to ask about it, are saved before the create is sent.
    expect(io.log.indexOf('state invocation')).toBeLessThan(io.log.lastIndexOf('mask'))
    expect(io.saved).toEqual({
      source: 'broker',
      'broker-url': BROKER,
      'broker-audience': BROKER,
      invocation: '0123456789abcdef',
      'key-id': KEY_ID,
      'expires-at': '2026-11-28T13:00:00.000Z',
      revoke: 'true',
      'kept-because': '',
      'key-created': '',
      'key-tags': 'ci',
    })
    expect(io.summary).toContain('revoked when the job ends')
    expect(JSON.stringify([io.log, io.saved, io.summary])).not.toContain(ID_TOKEN)
    expect(JSON.stringify([io.log, io.saved, io.summary])).not.toContain(NEW_KEY)
  })

  test('without an ID token it fails before any request, naming the permission', async () => {
    const { io, broker, done } = main(brokerInputs, {}, null)
    await done
    expect(io.failed).toContain(
      'ACTIONS_ID_TOKEN_REQUEST_URL is not set, because the job lacks the permission id-token: write.',
    )
    expect(io.failed).toContain('set on-missing-credentials: skip')
    expect(broker.sent).toEqual([])
  })

  test('without an ID token and with on-missing-credentials: skip, it is skipped, secret inputs and all', async () => {
    const { io, broker, done } = main(
      { ...brokerInputs, 'on-missing-credentials': 'skip', 'secret-name': 'DEEPGRAM_API_KEY' },
      {},
      null,
    )
    await done
    expect(io.failed).toBeUndefined()
    expect(io.outputs).toEqual({ skipped: 'true' })
    expect(io.log.find((line) => line.startsWith('notice '))).toContain('Skipped: This job has no GitHub ID token')
    expect(broker.sent).toEqual([])
  })

  test('a skipped run still refuses a bad input', async () => {
    const { io, done } = main({ ...brokerInputs, 'on-missing-credentials': 'skip', expiration: 'soon' }, {}, null)
    await done
    expect(io.failed).toContain('Input expiration:')
  })

  test('with skip but a token, an empty github-token for secret-name is refused before any broker request', async () => {
    const { io, broker, done } = main(
      { ...brokerInputs, 'on-missing-credentials': 'skip', 'secret-name': 'DEEPGRAM_API_KEY' },
      {},
    )
    await done
    expect(io.failed).toContain('Input github-token: is empty')
    expect(broker.sent).toEqual([])
  })

  test('a refusal is one failure with its status and message, the token redacted if the broker echoes it', async () => {
    const { io, done } = main(brokerInputs, {
      'POST /v1/keys': [json(403, { error: 'no_rule', message: `no rule matches the token ${ID_TOKEN}` })],
    })
    await done
    expect(io.failed).toMatch(
      /^The broker answered HTTP 403 no_rule while creating the key: no rule matches the token \*\*\* \(no request id\)\. /,
    )
    expect(io.log.filter((line) => line.startsWith('error '))).toHaveLength(1)
  })

  test('a key that lives longer than asked is deleted through the broker, and the step fails', async () => {
    const clock = fakeClock()
    const io = new RecordingIO(brokerInputs)
    io.idTokenFor = () => ID_TOKEN
    const broker = scriptedBroker({
      'POST /v1/keys': [minted(clock, { expires_at: '2027-01-01T00:00:00.000Z' })],
      [`DELETE /v1/keys/${KEY_ID}`]: [json(200, { deleted: [KEY_ID] })],
    })
    await runMain({ io, run: {}, send: broker.send, clock, invocationId: () => '0123456789abcdef', userAgent: 'test' })
    expect(io.failed).toBe(
      `The broker created key ${KEY_ID}, but it expires at 2027-01-01T00:00:00.000Z, not at 2026-11-28T13:00:00.000Z as asked. The key was deleted.`,
    )
    expect(io.outputs.key).toBeUndefined()
    expect(io.saved['key-id']).toBeUndefined()
  })

  test('revoke mode by key ids and by tags', async () => {
    const other = 'b5b3e4a0-0000-4000-8000-000000000001'
    const byId = main(
      { ...brokerInputs, mode: 'revoke', scopes: '', expiration: '', revoke: '', 'key-id': `${KEY_ID}, ${other}` },
      {
        [`DELETE /v1/keys/${KEY_ID}`]: [json(200, { deleted: [KEY_ID] })],
        [`DELETE /v1/keys/${other}`]: [json(404, { error: 'not_found', message: 'gone' })],
      },
    )
    await byId.done
    expect(byId.io.failed).toBeUndefined()
    expect(byId.io.outputs).toEqual({ skipped: 'false', 'revoked-count': '1', 'revoked-key-ids': KEY_ID })
    expect(byId.io.log).toContain(
      `warning Key ${other} was not found through the broker at ${BROKER}: it was deleted already, or it belongs to another project. Nothing was deleted; check the id.`,
    )

    const byTags = main(
      { ...brokerInputs, mode: 'revoke', scopes: '', expiration: '', revoke: '', tags: 'pr-7,ci' },
      { 'DELETE /v1/keys?tags=pr-7,ci': [json(200, { deleted: [KEY_ID, other] })] },
    )
    await byTags.done
    expect(byTags.io.outputs['revoked-key-ids']).toBe(`${KEY_ID},${other}`)
    expect(byTags.io.summary).toContain(`Revoking keys tagged pr-7, ci through the broker at ${BROKER}: 2 revoked`)
  })
})

describe('runPost in broker mode', () => {
  const state = {
    source: 'broker',
    'broker-url': BROKER,
    'broker-audience': 'aud-x',
    'key-id': KEY_ID,
    'expires-at': '2026-11-28T13:00:00.000Z',
    revoke: 'true',
  }

  function post(states: Record<string, string>, answers: HttpResponse[], idToken: string | null = POST_TOKEN) {
    const io = new RecordingIO({}, states)
    io.idTokenFor = () => idToken ?? undefined
    const broker = scriptedBroker({ [`DELETE /v1/keys/${KEY_ID}`]: answers })
    return { io, broker, done: runPost({ io, send: broker.send, clock: fakeClock(), userAgent: 'test' }) }
  }

  test('revokes through the broker with a fresh token for the saved audience', async () => {
    const { io, broker, done } = post(state, [json(200, { deleted: [KEY_ID] })])
    await done
    expect(io.log).toContain('id-token aud-x')
    expect(io.masked).toEqual([POST_TOKEN])
    expect(broker.sent[0]?.headers.authorization).toBe(`Bearer ${POST_TOKEN}`)
    expect(io.log).toContain(`info Revoked key ${KEY_ID}.`)
  })

  test('a refusal or a missing token is a warning, never a failure', async () => {
    const refused = post(state, [json(403, { error: 'forbidden', message: `not yours ${POST_TOKEN}` })])
    await refused.done
    expect(refused.io.failed).toBeUndefined()
    const [warning] = refused.io.log.filter((line) => line.startsWith('warning '))
    expect(warning).toContain(`Could not revoke key ${KEY_ID}: The broker answered HTTP 403 forbidden`)
    expect(warning).not.toContain(POST_TOKEN)
    expect(warning).toContain('It expires on its own at 2026-11-28T13:00:00.000Z.')

    const tokenless = post(state, [], null)
    await tokenless.done
    expect(tokenless.io.failed).toBeUndefined()
    expect(tokenless.io.log.filter((line) => line.startsWith('warning '))).toEqual([
      `warning Could not revoke key ${KEY_ID}: the post step got no GitHub ID token to show the broker (ACTIONS_ID_TOKEN_REQUEST_URL is not set). It expires on its own at 2026-11-28T13:00:00.000Z.`,
    ])
  })

  test("after a cancel during the create, deletes this invocation's keys through the broker", async () => {
    const io = new RecordingIO(
      {},
      { source: 'broker', 'broker-url': BROKER, 'broker-audience': 'aud-x', invocation: '0123456789abcdef' },
    )
    io.idTokenFor = () => POST_TOKEN
    const broker = scriptedBroker({ 'DELETE /v1/keys?invocation=0123456789abcdef': [json(200, { deleted: [KEY_ID] })] })
    await runPost({ io, send: broker.send, clock: fakeClock(), userAgent: 'test' })
    expect(io.log).toContain(`info Revoked key ${KEY_ID}, created by this run although main never saw the answer.`)
    expect(broker.sent).toHaveLength(1)
  })

  test('asks no token when there is nothing to revoke', async () => {
    const { io, broker, done } = post({ ...state, revoke: 'false' }, [])
    await done
    expect(io.log.some((line) => line.startsWith('id-token'))).toBe(false)
    expect(broker.sent).toEqual([])
  })
})
