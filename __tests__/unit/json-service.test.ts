import { CancelledError, NetworkError, ServiceError, UnusableAnswerError } from '../../src/shared/errors.ts'
import { AnswerTooLargeError, TransportError, type HttpResponse } from '../../src/shared/http.ts'
import { JsonService, transientVerdict, type JsonServiceLink } from '../../src/shared/json-service.ts'
import { MAIN_POLICY } from '../../src/shared/retry.ts'
import { fakeClock, scriptedNetwork } from '../helpers/fakes.ts'

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: JSON.stringify(body),
})

/** A service as plain as can be: its refusals quote the body's message, its request id is a header. */
function service(answers: (HttpResponse | Error)[], link: Partial<JsonServiceLink> = {}) {
  const network = scriptedNetwork(answers)
  const clock = fakeClock()
  const core = new JsonService(
    {
      baseUrl: 'https://svc.example.com/base',
      send: network.send,
      clock,
      policy: MAIN_POLICY,
      userAgent: 'ua',
      ...link,
    },
    {
      service: 'The broker',
      urlInput: 'broker-url',
      authorization: 'Bearer the-credential',
      cancelledMessage: (action) => `Cancelled while ${action}.`,
      requestIdOf: (headers) => headers['x-request-id'],
      refusal: (response, action) =>
        new ServiceError({
          service: 'The broker',
          action,
          status: response.status,
          message: response.body,
          requestId: response.headers['x-request-id'],
          retryAfterSeconds: response.headers['retry-after'] === undefined ? undefined : 2,
        }),
    },
  )
  return { core, clock, sent: network.sent }
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof Error)) throw new Error('expected a failure')
  return error
}

const LIST = { method: 'GET', path: '/v1/things', action: 'listing the things' } as const

describe('JsonService: the request', () => {
  test('sends JSON with the credential, the user agent and accept, to the base URL and path', async () => {
    const { core, sent } = service([json(200, { ok: true })])
    const answer = await core.once(
      { method: 'POST', path: '/v1/x', action: 'making x', body: { a: 1 } },
      { n: 1, remainingMs: 5_000 },
    )
    expect(answer.body).toEqual({ ok: true })
    expect(sent[0]).toMatchObject({
      method: 'POST',
      url: 'https://svc.example.com/base/v1/x',
      body: '{"a":1}',
      timeoutMs: 5_000,
      headers: {
        authorization: 'Bearer the-credential',
        accept: 'application/json',
        'user-agent': 'ua',
        'content-type': 'application/json',
      },
    })
  })

  test('a request without a body has no content-type', async () => {
    const { core, sent } = service([json(200, { things: [] })])
    await core.retried(LIST, (answer) => answer.list('things'))
    expect(sent[0]?.body).toBeUndefined()
    expect(sent[0]?.headers['content-type']).toBeUndefined()
  })

  test('the answer carries its status, request id and when its attempt was sent', async () => {
    const { core, clock } = service([json(201, 'x', { 'x-request-id': 'req-1' })])
    const sentAt = clock.now()
    const answer = await core.once(LIST, { n: 1, remainingMs: 1_000 })
    expect([answer.status, answer.requestId, answer.sentAt]).toEqual([201, 'req-1', sentAt])
  })
})

describe('JsonService: retries', () => {
  test('retries no answer, 5xx and 429 (after the Retry-After the refusal carries), then reads the answer', async () => {
    const { core, sent, clock } = service([
      new TransportError('reset', true),
      json(503, 'down'),
      json(429, 'slow down', { 'retry-after': '2' }),
      json(200, { things: [1] }),
    ])
    expect(await core.retried(LIST, (answer) => answer.list('things'))).toEqual([1])
    expect(sent).toHaveLength(4)
    expect(clock.waits[2]).toBe(2_000)
  })

  test('a 4xx is a refusal at once, naming the status, the message and the request id', async () => {
    const { core, sent } = service([json(400, 'bad thing', { 'x-request-id': 'req-4' })])
    const error = await failure(core.retried(LIST, () => 'never'))
    expect(error).toBeInstanceOf(ServiceError)
    expect(error.message).toBe('The broker answered HTTP 400 while listing the things: "bad thing" (request id req-4).')
    expect(sent).toHaveLength(1)
  })

  test('a 404 is what on404 says when it is given, a refusal otherwise', async () => {
    const { core } = service([json(404, 'gone'), json(404, 'gone')])
    expect(
      await core.retried(
        LIST,
        () => 'found',
        () => 'already gone',
      ),
    ).toBe('already gone')
    expect(await failure(core.retried(LIST, () => 'found'))).toBeInstanceOf(ServiceError)
  })

  test('once is never retried', async () => {
    const { core, sent } = service([json(503, 'down')])
    await expect(core.once(LIST, { n: 1, remainingMs: 1_000 })).rejects.toThrow('HTTP 503')
    expect(sent).toHaveLength(1)
  })

  test.each([
    [new NetworkError('Deepgram', 'x', 'reset', true), { retry: true }],
    [new ServiceError({ service: 'Deepgram', action: 'x', status: 500, message: 'm' }), { retry: true }],
    [
      new ServiceError({ service: 'Deepgram', action: 'x', status: 429, message: 'm', retryAfterSeconds: 3 }),
      { retry: true, retryAfterMs: 3_000 },
    ],
    [new ServiceError({ service: 'Deepgram', action: 'x', status: 403, message: 'm' }), { retry: false }],
    [new Error('a bug'), { retry: false }],
  ])('transientVerdict(%p) is %p', (error, verdict) => {
    expect(transientVerdict(error)).toEqual(verdict)
  })
})

describe('JsonService: answer checks', () => {
  test.each([
    ['not JSON', { status: 200, headers: {}, body: 'ok' }, 'the answer is not a JSON object'],
    ['null', json(200, null), 'the answer is not a JSON object'],
  ])('object() refuses an answer that is %s', async (_, answer, problem) => {
    const { core } = service([answer])
    const error = await failure(core.retried(LIST, (a) => a.object()))
    expect(error).toBeInstanceOf(UnusableAnswerError)
    expect(error.message).toBe(`The broker answered HTTP 200 while listing the things, but ${problem} (no request id).`)
  })

  test('list() refuses an answer without the list, never quoting the body', async () => {
    const { core } = service([json(200, { things: 'secret-text' }, { 'x-request-id': 'req-2' })])
    const error = await failure(core.retried(LIST, (a) => a.list('things')))
    expect(error.message).toBe(
      'The broker answered HTTP 200 while listing the things, but the answer has no things list (request id req-2).',
    )
  })

  test("refused() turns a 2xx the client's domain check reads as a refusal into its ServiceError, not retried", async () => {
    const { core, sent } = service([json(200, { error: 'no' })])
    const error = await failure(core.retried(LIST, (a) => Promise.reject(a.refused())))
    expect(error).toBeInstanceOf(ServiceError)
    expect(error.message).toContain('HTTP 200 while listing the things: {"error":"no"}')
    expect(sent).toHaveLength(1)
  })

  test('a 2xx too large to read is unusable, a refusal too large is a ServiceError of its status', async () => {
    const { core } = service([
      new AnswerTooLargeError(200, { 'x-request-id': 'big' }, 1024 * 1024),
      new AnswerTooLargeError(413, {}, 1024 * 1024),
    ])
    const unusable = await failure(core.once(LIST, { n: 1, remainingMs: 1_000 }))
    expect(unusable).toBeInstanceOf(UnusableAnswerError)
    expect(unusable.message).toMatch(
      /^The broker answered HTTP 200 while listing the things, but the answer is over 1 MiB.*\(request id big\)\. Check that broker-url points at the broker/,
    )
    const refused = await failure(core.once(LIST, { n: 1, remainingMs: 1_000 }))
    expect(refused).toBeInstanceOf(ServiceError)
    expect((refused as ServiceError).status).toBe(413)
  })
})

describe('JsonService: time and cancellation', () => {
  test('each attempt is given no more than what is left before the deadline', async () => {
    const clock = fakeClock()
    const free = service([json(200, { things: [] })])
    const bounded = service([json(200, { things: [] })], { deadline: clock.now() + 4_000 })
    await free.core.retried(LIST, (a) => a.list('things'))
    await bounded.core.retried(LIST, (a) => a.list('things'))
    expect([free.sent[0]?.timeoutMs, bounded.sent[0]?.timeoutMs]).toEqual([MAIN_POLICY.budgetMs, 4_000])
    expect([free.core.deadline, bounded.core.deadline]).toEqual([Infinity, clock.now() + 4_000])
  })

  test('no request is sent once the deadline has passed', async () => {
    const clock = fakeClock()
    const { core, sent } = service([json(200, { things: [] })], { deadline: clock.now() - 1 })
    await expect(core.retried(LIST, () => 'x')).rejects.toThrow("no time was left in the step's budget")
    expect(sent).toEqual([])
  })

  test('a cancelled job ends the request with the service’s cancellation message, not retried', async () => {
    const cancel = new AbortController()
    cancel.abort('SIGTERM')
    const { core, sent } = service([json(200, {})], { cancelled: cancel.signal })
    const error = await failure(core.retried(LIST, () => 'x'))
    expect(error).toBeInstanceOf(CancelledError)
    expect(error.message).toBe('Cancelled while listing the things.')
    expect(sent).toEqual([])
  })

  test('a network error never names the credential', async () => {
    const { core } = service([new TransportError('refused', false)], { policy: { ...MAIN_POLICY, maxAttempts: 1 } })
    const error = await failure(core.retried(LIST, () => 'x'))
    expect(error).toBeInstanceOf(NetworkError)
    expect(error.message).not.toContain('the-credential')
    expect(error.message).toContain('svc.example.com')
  })
})
