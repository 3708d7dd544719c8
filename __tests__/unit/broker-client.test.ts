import { BrokerClient } from '../../src/action/sources/broker-client.ts'
import { ServiceError } from '../../src/shared/errors.ts'
import { TransportError, type HttpRequest, type HttpResponse } from '../../src/shared/http.ts'
import { MAIN_POLICY } from '../../src/shared/retry.ts'
import { fakeClock } from '../helpers/fakes.ts'

const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJlLWZvci10ZXN0cw'
const KEY_ID = 'ad9c6799-d380-4db7-8c22-92c20a291229'
const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({ status, headers, body: JSON.stringify(body) })
const created = json(200, { key: 'new-key-0123456789', key_id: KEY_ID, project_id: PROJECT, expires_at: '2026-11-28T13:00:00.000Z', scopes: ['usage:write'], tags: ['ci'] })

/** A broker that gives the answers in order (an Error is thrown instead of answered). */
function scripted(answers: (HttpResponse | Error)[]) {
  const sent: HttpRequest[] = []
  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    sent.push(request)
    const answer = answers.shift()
    if (answer === undefined) throw new Error(`unexpected ${request.method} ${request.url}`)
    if (answer instanceof Error) throw answer
    return answer
  }
  return { sent, send }
}

function client(answers: (HttpResponse | Error)[]) {
  const broker = scripted(answers)
  const clock = fakeClock()
  const brokerClient = new BrokerClient({ baseUrl: 'https://broker.example.com/dg', idToken: ID_TOKEN, send: broker.send, clock, policy: MAIN_POLICY, userAgent: 'test' })
  return { broker, clock, brokerClient }
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof Error)) throw new Error('expected a failure')
  return error
}

describe('BrokerClient.createKey', () => {
  test('posts the body with the ID token as a bearer token, and reads the answer', async () => {
    const { broker, brokerClient } = client([created])
    const key = await brokerClient.createKey({ scopes: ['usage:write'], expiration: '30m', tags: ['ci'] })
    expect(key).toEqual({ key: 'new-key-0123456789', keyId: KEY_ID, projectId: PROJECT, expiresAt: '2026-11-28T13:00:00.000Z', scopes: ['usage:write'], tags: ['ci'] })
    const [request] = broker.sent
    expect(request).toMatchObject({ method: 'POST', url: 'https://broker.example.com/dg/v1/keys', headers: { authorization: `Bearer ${ID_TOKEN}`, 'content-type': 'application/json' } })
    expect(JSON.parse(request?.body ?? '')).toEqual({ scopes: ['usage:write'], expiration: '30m', tags: ['ci'] })
  })

  test('retries when the request certainly never reached the broker: refused connection, 429, 503', async () => {
    const { broker, clock, brokerClient } = client([
      new TransportError('connect ECONNREFUSED (ECONNREFUSED)', false),
      json(429, { error: 'rate_limited', message: 'over 30 keys per minute' }, { 'retry-after': '2' }),
      json(503, { error: 'unavailable', message: 'no instance' }),
      created,
    ])
    await brokerClient.createKey({})
    expect(broker.sent).toHaveLength(4)
    expect(clock.waits[1]).toBe(2000)
  })

  test.each([
    ['a reset once the request was out', new TransportError('socket hang up', true)],
    ['a 500', json(500, { error: 'internal', message: 'oops' })],
    ['a 502 (Deepgram failed)', json(502, { error: 'deepgram_failed', message: 'Deepgram answered 500 (request id r-1)' })],
  ])('never retries after %s: the broker may have minted the key', async (_, answer) => {
    const { broker, brokerClient } = client([answer, created])
    await failure(brokerClient.createKey({}))
    expect(broker.sent).toHaveLength(1)
  })

  test('a 429 whose Retry-After is beyond the budget fails at once, with the status and message', async () => {
    const { broker, brokerClient } = client([json(429, { error: 'rate_limited', message: 'over 30 keys per minute for octo-org/app' }, { 'retry-after': '60' })])
    const error = await failure(brokerClient.createKey({}))
    expect(broker.sent).toHaveLength(1)
    expect(error.message).toBe(
      'The broker answered HTTP 429 rate_limited while creating the key: over 30 keys per minute for octo-org/app (no request id). The broker limits keys per repository and minute; run the job again in a minute.',
    )
  })

  test.each([
    [400, 'bad_request', 'Check scopes, expiration, tags and comment'],
    [401, 'invalid_token', 'broker-audience must be the audience'],
    [403, 'no_rule', 'ask the broker\'s operators for a rule'],
    [413, 'too_large', 'Shorten comment and tags'],
    [502, 'deepgram_failed', 'Deepgram failed behind the broker'],
  ])('a %i refusal names the status, code and message, and says what to do', async (status, code, hint) => {
    const { brokerClient } = client([json(status, { error: code, message: 'the reason' }, { 'x-request-id': 'req-7' })])
    const error = await failure(brokerClient.createKey({}))
    expect(error).toBeInstanceOf(ServiceError)
    expect(error.message).toContain(`The broker answered HTTP ${status} ${code} while creating the key: the reason (request id req-7).`)
    expect(error.message).toContain(hint)
    expect(error.message).not.toContain(ID_TOKEN)
  })

  test('an answer that is not the broker\'s JSON (a proxy\'s page) is quoted as text', async () => {
    const { brokerClient } = client([{ status: 504, headers: {}, body: '<html>\n gateway timeout </html>' }])
    const error = await failure(brokerClient.createKey({}))
    expect(error.message).toContain('HTTP 504 while creating the key: <html> gateway timeout </html> (no request id).')
  })

  test('no connection at all names the broker and is not a stack trace', async () => {
    const { brokerClient } = client([new TransportError('connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)', false), new TransportError('x', false), new TransportError('x', false), new TransportError('connect ECONNREFUSED', false)])
    const error = await failure(brokerClient.createKey({}))
    expect(error.message).toMatch(/^The broker could not be reached while creating the key: connect ECONNREFUSED\. Check that the runner can reach [^ ]+ \(DNS, firewall\), then run the job again\.$/)
  })
})

describe('BrokerClient deletions', () => {
  test('deleteKey: 200 is deleted, 404 already gone, and transient failures are retried', async () => {
    const { broker, brokerClient } = client([json(200, { deleted: [KEY_ID] }), json(404, { error: 'not_found', message: 'no such key' }), new TransportError('reset', true), json(500, {}), json(200, { deleted: [KEY_ID] })])
    expect(await brokerClient.deleteKey(KEY_ID)).toBe('deleted')
    expect(await brokerClient.deleteKey(KEY_ID)).toBe('already-gone')
    expect(await brokerClient.deleteKey(KEY_ID)).toBe('deleted')
    expect(broker.sent.map((r) => `${r.method} ${r.url}`)).toEqual(Array(5).fill(`DELETE https://broker.example.com/dg/v1/keys/${KEY_ID}`))
    expect(broker.sent.every((r) => r.headers.authorization === `Bearer ${ID_TOKEN}` && r.body === undefined)).toBe(true)
  })

  test("deleteKey: another repository's key is a 403 that says the broker deletes only this repository's keys", async () => {
    const { broker, brokerClient } = client([json(403, { error: 'forbidden', message: 'key belongs to another repository' })])
    const error = await failure(brokerClient.deleteKey(KEY_ID))
    expect(broker.sent).toHaveLength(1)
    expect(error.message).toBe(
      `The broker answered HTTP 403 forbidden while deleting key ${KEY_ID}: key belongs to another repository (no request id). The broker deletes only keys it minted for this repository.`,
    )
  })

  test('deleteTagged sends the tags in the query and returns the deleted ids', async () => {
    const { broker, brokerClient } = client([json(200, { deleted: [KEY_ID, 'other-id'] })])
    expect(await brokerClient.deleteTagged(['pr-12', 'a b'])).toEqual([KEY_ID, 'other-id'])
    expect(broker.sent[0]?.url).toBe('https://broker.example.com/dg/v1/keys?tags=pr-12,a%20b')
  })
})
