import { BrokerClient } from '../../src/action/sources/broker-client.ts'
import { ServiceError, UnusableAnswerError } from '../../src/shared/errors.ts'
import { mintWithoutOrphans } from '../../src/deepgram/mint.ts'
import { brokerKeySource, createBody } from '../../src/action/sources/broker.ts'
import { AnswerTooLargeError, TransportError, type HttpRequest, type HttpResponse } from '../../src/shared/http.ts'
import { MAIN_POLICY } from '../../src/shared/retry.ts'
import { fakeClock, scriptedNetwork } from '../helpers/fakes.ts'

const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJlLWZvci10ZXN0cw'
const KEY_ID = 'ad9c6799-d380-4db7-8c22-92c20a291229'
const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: JSON.stringify(body),
})
const created = json(200, {
  key: 'new-key-0123456789',
  key_id: KEY_ID,
  project_id: PROJECT,
  expires_at: '2026-11-28T13:00:00.000Z',
  scopes: ['usage:write'],
  tags: ['ci'],
})

function client(answers: (HttpResponse | Error)[]) {
  const broker = scriptedNetwork(answers)
  const clock = fakeClock()
  const brokerClient = new BrokerClient({
    baseUrl: 'https://broker.example.com/dg',
    idToken: ID_TOKEN,
    send: broker.send,
    clock,
    policy: MAIN_POLICY,
    userAgent: 'test',
    deadline: clock.now() + 25_000,
  })
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

const INVOCATION = '0123456789abcdef'
const BODY = { scopes: ['usage:write'], expiration: 1800, tags: ['ci'], invocation: INVOCATION }
const FIRST = { n: 1, remainingMs: 15_000 }

describe('BrokerClient.createOnce', () => {
  test('posts the body with the ID token as a bearer token, and reads the answer', async () => {
    const { broker, brokerClient } = client([created])
    const key = await brokerClient.createOnce(BODY, FIRST)
    expect(key).toEqual({
      key: 'new-key-0123456789',
      apiKeyId: KEY_ID,
      projectId: PROJECT,
      expirationDate: '2026-11-28T13:00:00.000Z',
      scopes: ['usage:write'],
      tags: ['ci'],
    })
    const [request] = broker.sent
    expect(request).toMatchObject({
      method: 'POST',
      url: 'https://broker.example.com/dg/v1/keys',
      headers: { authorization: `Bearer ${ID_TOKEN}`, 'content-type': 'application/json' },
    })
    expect(JSON.parse(request?.body ?? '')).toEqual(BODY)
  })

  test('the request names the invocation and the secret, and sends a date-time or seconds', () => {
    const date = new Date('2026-12-01T12:00:00Z')
    expect(
      createBody({
        scopes: ['usage:write'],
        tags: [],
        expiration: { kind: 'date', date },
        invocation: INVOCATION,
        secret: 'abcdef012345',
      }),
    ).toEqual({
      scopes: ['usage:write'],
      expiration: '2026-12-01T12:00:00.000Z',
      invocation: INVOCATION,
      secret: 'abcdef012345',
    })
    expect(
      createBody({
        scopes: ['usage:write'],
        tags: ['a'],
        comment: 'mine',
        expiration: { kind: 'ttl', seconds: 60 },
        invocation: INVOCATION,
      }),
    ).toEqual({
      scopes: ['usage:write'],
      expiration: 60,
      tags: ['a'],
      comment: 'mine',
      invocation: INVOCATION,
    })
  })

  test.each([
    ['not JSON', { status: 200, headers: {}, body: 'ok' }, 'the answer is not a JSON object'],
    ['no key', json(200, { key_id: KEY_ID, project_id: PROJECT }), 'the answer carries no key'],
    [
      'a key_id that is not a UUID',
      json(200, { key: 'k', key_id: '../x', project_id: PROJECT }),
      'its key_id is not a UUID',
    ],
    [
      'a project_id that is not a UUID',
      json(200, { key: 'k', key_id: KEY_ID, project_id: 'p/../x' }),
      'its project_id is not a UUID',
    ],
  ])('a 2xx with %s is an unusable answer: the key may exist', async (_, answer, problem) => {
    const { brokerClient } = client([answer])
    const error = await failure(brokerClient.createOnce(BODY, FIRST))
    expect(error).toBeInstanceOf(UnusableAnswerError)
    expect(error.message).toContain(problem)
  })

  test('a 2xx over the size read is an unusable answer that names the broker and broker-url', async () => {
    const { brokerClient } = client([new AnswerTooLargeError(200, {}, 1024 * 1024)])
    const error = await failure(brokerClient.createOnce(BODY, FIRST))
    expect(error).toBeInstanceOf(UnusableAnswerError)
    expect(error.message).toMatch(
      /^The broker answered HTTP 200 while creating the key, but the answer is over 1 MiB, the most this action reads, and was not read \(no request id\)\. Check that broker-url points at /,
    )
  })

  test.each([
    [400, 'bad_request', 'Check scopes, expiration, tags and comment'],
    [401, 'invalid_token', 'broker-audience must be the audience'],
    [403, 'no_rule', "ask the broker's operators for a rule"],
    [413, 'too_large', 'Shorten comment and tags'],
    [502, 'deepgram_failed', 'Deepgram failed behind the broker'],
  ])('a %i refusal names the status, code and message, and says what to do', async (status, code, hint) => {
    const { brokerClient } = client([json(status, { error: code, message: 'the reason' }, { 'x-request-id': 'req-7' })])
    const error = await failure(brokerClient.createOnce(BODY, FIRST))
    expect(error).toBeInstanceOf(ServiceError)
    expect(error.message).toContain(
      `The broker answered HTTP ${status} ${code} while creating the key: the reason (request id req-7).`,
    )
    expect(error.message).toContain(hint)
    expect(error.message).not.toContain(ID_TOKEN)
  })

  test('a refusal shows the claims the broker matched, so the policy can be fixed without guessing', async () => {
    const claims = {
      repository: 'octo-org/app',
      repository_id: '42',
      ref: 'refs/heads/dev',
      event_name: 'push',
      workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/dev',
      sub: 'not shown',
    }
    const { brokerClient } = client([
      json(403, { error: 'no_rule', message: 'No rule of the policy matches this token.', claims }),
    ])
    const error = await failure(brokerClient.createOnce(BODY, FIRST))
    expect(error.message).toContain(
      'No rule of the policy matches this token. Claims matched: repository octo-org/app, repository_id 42, ref refs/heads/dev, event_name push, workflow_ref octo-org/app/.github/workflows/ci.yml@refs/heads/dev (no request id).',
    )
    expect(error.message).not.toContain('not shown')
  })

  test("an answer that is not the broker's JSON (a proxy's page) is quoted as text", async () => {
    const { brokerClient } = client([{ status: 504, headers: {}, body: '<html>\n gateway timeout </html>' }])
    const error = await failure(brokerClient.createOnce(BODY, FIRST))
    expect(error.message).toContain('HTTP 504 while creating the key: <html> gateway timeout </html> (no request id).')
  })

  test('no connection names the broker and is not a stack trace', async () => {
    const { brokerClient } = client([new TransportError('connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)', false)])
    const error = await failure(brokerClient.createOnce(BODY, FIRST))
    expect(error.message).toMatch(
      /^The broker could not be reached while creating the key after 1 attempt: connect ECONNREFUSED 127\.0\.0\.1:9 \(ECONNREFUSED\)\. Check that the runner can reach [^ ]+ \(DNS, firewall\), then run the job again\.$/,
    )
  })
})

describe('minting through the broker, without orphans', () => {
  const request = {
    scopes: ['usage:write'],
    tags: [],
    expiration: { kind: 'ttl' as const, seconds: 1800 },
    invocation: INVOCATION,
  }
  function mint(answers: (HttpResponse | Error)[]) {
    const { broker, clock, brokerClient } = client(answers)
    const source = brokerKeySource(brokerClient, { url: 'https://broker.example.com/dg', audience: 'aud' })
    const minting = mintWithoutOrphans(
      {
        createOnce: (attempt) => source.createOnce(request, attempt),
        deleteInvocationKeys: () => source.deleteInvocationKeys(INVOCATION),
        byHand: 'by hand',
      },
      { clock, policy: MAIN_POLICY, log: () => undefined },
    )
    return { broker, clock, minting }
  }
  const routes = (sent: HttpRequest[]) =>
    sent.map((r) => `${r.method} ${new URL(r.url).pathname}${new URL(r.url).search}`)

  test('retries at once when the request certainly never reached the broker: refused connection, 429', async () => {
    const { broker, clock, minting } = mint([
      new TransportError('connect ECONNREFUSED (ECONNREFUSED)', false),
      json(429, { error: 'rate_limited', message: 'over 30 keys per minute' }, { 'retry-after': '2' }),
      created,
    ])
    await minting
    expect(routes(broker.sent)).toEqual(['POST /dg/v1/keys', 'POST /dg/v1/keys', 'POST /dg/v1/keys'])
    expect(clock.waits[1]).toBe(2000)
  })

  test.each([
    ['a reset once the request was out', new TransportError('socket hang up', true)],
    [
      'a 502 (Deepgram failed behind the broker)',
      json(502, { error: 'deepgram_failed', message: 'Deepgram answered 500 (request id r-1)' }),
    ],
  ])("after %s, this invocation's keys are deleted through the broker before the retry", async (_, answer) => {
    const { broker, minting } = mint([answer, json(200, { deleted: [KEY_ID] }), created])
    expect((await minting).apiKeyId).toBe(KEY_ID)
    expect(routes(broker.sent)).toEqual([
      'POST /dg/v1/keys',
      `DELETE /dg/v1/keys?invocation=${INVOCATION}`,
      'POST /dg/v1/keys',
    ])
  })

  test('an unusable answer is final: the invocation is cleaned up and the step fails once, clearly', async () => {
    const { broker, minting } = mint([
      json(200, { key: 'k', key_id: KEY_ID, project_id: 'nope' }),
      json(200, { deleted: [KEY_ID] }),
    ])
    const error = await failure(minting)
    expect(error.message).toContain(
      'its project_id is not a UUID (no request id). Any key it made was found by its marker and deleted; run the job again.',
    )
    expect(routes(broker.sent)).toEqual(['POST /dg/v1/keys', `DELETE /dg/v1/keys?invocation=${INVOCATION}`])
  })

  test('a clean-up that fails too says what to do', async () => {
    const { minting } = mint([json(200, 'not a key'), json(403, { error: 'no_rule', message: 'No rule matches.' })])
    const error = await failure(minting)
    expect(error.message).toMatch(
      /^Creating the key failed in a way that may have created it anyway, and deleting what it may have created failed too: The broker answered HTTP 403 no_rule .* by hand$/,
    )
  })
})

describe('BrokerClient deletions and listings', () => {
  test('deleteKey: 200 is deleted, 404 unknown to the broker, and transient failures are retried', async () => {
    const { broker, brokerClient } = client([
      json(200, { deleted: [KEY_ID] }),
      json(404, { error: 'not_found', message: 'no such key' }),
      new TransportError('reset', true),
      json(500, {}),
      json(200, { deleted: [KEY_ID] }),
    ])
    expect(await brokerClient.deleteKey(KEY_ID)).toBe('deleted')
    expect(await brokerClient.deleteKey(KEY_ID)).toBe('already-gone')
    expect(await brokerClient.deleteKey(KEY_ID)).toBe('deleted')
    expect(broker.sent.map((r) => `${r.method} ${r.url}`)).toEqual(
      Array(5).fill(`DELETE https://broker.example.com/dg/v1/keys/${KEY_ID}`),
    )
    expect(broker.sent.every((r) => r.headers.authorization === `Bearer ${ID_TOKEN}` && r.body === undefined)).toBe(
      true,
    )
  })

  test("deleteKey: another repository's key is a 403 that says the broker deletes only this repository's keys", async () => {
    const { broker, brokerClient } = client([
      json(403, { error: 'not_yours', message: 'key belongs to another repository' }),
    ])
    const error = await failure(brokerClient.deleteKey(KEY_ID))
    expect(broker.sent).toHaveLength(1)
    expect(error.message).toContain(
      `The broker answered HTTP 403 not_yours while deleting key ${KEY_ID}: key belongs to another repository (no request id). The broker deletes only keys it minted for this repository`,
    )
  })

  test('deleteTagged sends the tags in the query and returns the deleted ids, UUIDs only', async () => {
    const { broker, brokerClient } = client([json(200, { deleted: [KEY_ID, 'other-id'] })])
    expect(await brokerClient.deleteTagged(['pr-12', 'a b'])).toEqual([KEY_ID])
    expect(broker.sent[0]?.url).toBe('https://broker.example.com/dg/v1/keys?tags=pr-12,a%20b')
  })

  test('deleteInvocation names the invocation and returns the deleted ids', async () => {
    const { broker, brokerClient } = client([json(200, { deleted: [KEY_ID] })])
    expect(await brokerClient.deleteInvocation(INVOCATION)).toEqual([KEY_ID])
    expect(broker.sent[0]).toMatchObject({
      method: 'DELETE',
      url: `https://broker.example.com/dg/v1/keys?invocation=${INVOCATION}`,
    })
  })

  test("keysOfSecret lists the secret's keys, leaving out ids that are not UUIDs", async () => {
    const listed = {
      keys: [
        { key_id: KEY_ID, created: '2026-11-28T12:00:00.123456Z', expires_at: '2026-12-28T12:00:00Z' },
        { key_id: '../x', created: null },
      ],
    }
    const { broker, brokerClient } = client([json(200, listed)])
    expect(await brokerClient.keysOfSecret('abcdef012345')).toEqual([
      { apiKeyId: KEY_ID, created: '2026-11-28T12:00:00.123456Z', expirationDate: '2026-12-28T12:00:00Z' },
    ])
    expect(broker.sent[0]).toMatchObject({
      method: 'GET',
      url: 'https://broker.example.com/dg/v1/keys?secret=abcdef012345',
    })
  })

  test('no request outlives the deadline: an attempt gets only the time left', async () => {
    const { broker, clock, brokerClient } = client([json(200, { deleted: [] })])
    await clock.sleep(24_000)
    await brokerClient.deleteInvocation(INVOCATION)
    expect(broker.sent[0]?.timeoutMs).toBe(1_000)
  })
})
