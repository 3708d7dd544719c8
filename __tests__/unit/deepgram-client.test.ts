import { DeepgramClient } from '../../src/deepgram/client.ts'
import {
  ActionError,
  CancelledError,
  NetworkError,
  ServiceError,
  UnusableAnswerError,
} from '../../src/shared/errors.ts'
import {
  AnswerTooLargeError,
  TransportError,
  type HttpRequest,
  type HttpResponse,
  type HttpSend,
} from '../../src/shared/http.ts'
import { MAIN_POLICY } from '../../src/shared/retry.ts'
import { fakeClock } from '../helpers/fakes.ts'

const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const KEY_ID = 'ad9c6799-d380-4db7-8c22-92c20a291229'
const SECRET = '0123456789abcdef0123456789abcdef01234567'
const body = { comment: 'c [dgk:0123456789abcdef]', scopes: ['member'], time_to_live_in_seconds: 3600 }

function client(send: HttpSend, extra: { deadline?: number; cancelled?: AbortSignal } = {}) {
  const clock = fakeClock()
  const sent: HttpRequest[] = []
  const recording: HttpSend = async (request) => {
    sent.push(request)
    return send(request)
  }
  return {
    sent,
    clock,
    client: new DeepgramClient({
      baseUrl: 'https://api.deepgram.com',
      apiKey: 'admin',
      send: recording,
      clock,
      policy: MAIN_POLICY,
      userAgent: 't',
      ...extra,
    }),
  }
}

const answer = (status: number, text: string, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: text,
})

describe('createKeyOnce: a 2xx that is not a key is an UnusableAnswerError that never quotes the body', () => {
  test.each([
    ['not JSON', `<html>${SECRET}</html>`, 'the answer is not a JSON object'],
    ['no key', JSON.stringify({ api_key_id: KEY_ID }), 'the answer carries no key'],
    ['no api_key_id', JSON.stringify({ key: SECRET }), 'the answer carries no api_key_id'],
    [
      'an api_key_id that is no UUID',
      JSON.stringify({ key: SECRET, api_key_id: '../../x' }),
      'its api_key_id is not a UUID',
    ],
  ])('%s', async (_, text, problem) => {
    const { client: dg } = client(async () => answer(200, text, { 'x-request-id': 'req-x' }))
    const failure = dg.createKeyOnce(PROJECT, body)
    await expect(failure).rejects.toThrow(UnusableAnswerError)
    await expect(failure).rejects.toThrow(
      `Deepgram answered HTTP 200 while creating the key, but ${problem} (request id req-x).`,
    )
    await failure.catch((error: Error) => expect(error.message).not.toContain(SECRET))
  })

  test('a 2xx too large to read: unusable (the key may exist), naming the service, the status and what to do', async () => {
    const { client: dg } = client(async () => {
      throw new AnswerTooLargeError(200, { 'dg-request-id': 'req-big' }, 1024 * 1024)
    })
    const failure = dg.createKeyOnce(PROJECT, body)
    await expect(failure).rejects.toThrow(UnusableAnswerError)
    await expect(failure).rejects.toThrow(
      'Deepgram answered HTTP 200 while creating the key, but the answer is over 1 MiB, the most this action reads, and was not read (request id req-big). ' +
        "Check that deepgram-api-url points at Deepgram's API, and that no proxy answers in its place.",
    )
  })

  test('a refusal too large to read is a ServiceError of its status, with what to do; a 4xx is not retried', async () => {
    const statuses = [502, 413]
    const { client: dg, sent } = client(async () => {
      throw new AnswerTooLargeError(statuses.shift() ?? 0, {}, 1024 * 1024)
    })
    const failure = dg.createKeyOnce(PROJECT, body)
    await expect(failure).rejects.toThrow(ServiceError)
    await expect(failure).rejects.toThrow(
      'Deepgram answered HTTP 502 while creating the key: the answer is over 1 MiB, the most this action reads, and was not read (no request id).',
    )
    const listing = dg.listKeys(PROJECT)
    await expect(listing).rejects.toThrow(
      /^Deepgram answered HTTP 413 while listing the project keys: the answer is over 1 MiB.* Check that deepgram-api-url points at Deepgram's API/,
    )
    expect(sent).toHaveLength(2)
  })
})

describe('deleteKey', () => {
  test('is done only when Deepgram says so: a 200 with an error body is a refusal, not retried', async () => {
    const { client: dg, sent } = client(async () =>
      answer(200, JSON.stringify({ err_code: 'INTERNAL', err_msg: 'Could not delete.' })),
    )
    await expect(dg.deleteKey(PROJECT, KEY_ID)).rejects.toThrow(ServiceError)
    expect(sent).toHaveLength(1)
  })

  test.each([
    ['{"message":"Successfully deleted the API key!"}', 'deleted'],
    ['', 'deleted'],
  ])('a 200 with %p is a deletion', async (text, outcome) => {
    const { client: dg } = client(async () => answer(200, text))
    expect(await dg.deleteKey(PROJECT, KEY_ID)).toBe(outcome)
  })

  test('a 404 is already gone', async () => {
    const { client: dg } = client(async () => answer(404, '{"category":"NOT_FOUND"}'))
    expect(await dg.deleteKey(PROJECT, KEY_ID)).toBe('already-gone')
  })

  test.each([
    [PROJECT, '../../../v1/projects'],
    ['not-a-project', KEY_ID],
  ])('sends nothing for ids that are not UUIDs (%s, %s)', async (projectId, keyId) => {
    const { client: dg, sent } = client(async () => answer(200, ''))
    await expect(dg.deleteKey(projectId, keyId)).rejects.toThrow(ActionError)
    await expect(dg.deleteKey(projectId, keyId)).rejects.toThrow(/not a UUID .*no request was made/)
    expect(sent).toEqual([])
  })
})

describe('listKeys', () => {
  test('a listing without api_keys is unusable, not an empty project', async () => {
    const { client: dg } = client(async () => answer(200, '{"keys": []}'))
    await expect(dg.listKeys(PROJECT)).rejects.toThrow('but the answer has no api_keys list')
  })
})

describe('cancellation', () => {
  test('a cancelled job turns a lost answer into a CancelledError, which is not retried', async () => {
    const cancel = new AbortController()
    const { client: dg, sent } = client(
      async () => {
        cancel.abort('SIGINT')
        throw new TransportError('cancelled: SIGINT', true)
      },
      { cancelled: cancel.signal },
    )
    await expect(dg.createKeyOnce(PROJECT, body)).rejects.toThrow(CancelledError)
    await expect(dg.listKeys(PROJECT)).rejects.toThrow('The job was cancelled while listing the project keys.')
    expect(sent).toHaveLength(1)
  })
})

describe('messages (issue 11)', () => {
  test('a network error says how many attempts were made, what to check, and the proxy without its credentials', async () => {
    const { client: dg } = client(async () => {
      throw new TransportError('connect ECONNREFUSED (ECONNREFUSED)', false, 'http://proxy.corp:3128')
    })
    const failure = dg.listKeys(PROJECT)
    await expect(failure).rejects.toThrow(NetworkError)
    await expect(failure).rejects.toThrow(
      'Deepgram could not be reached while listing the project keys after 4 attempts through the proxy http://proxy.corp:3128 (HTTPS_PROXY/HTTP_PROXY; NO_PROXY lists hosts that go direct): connect ECONNREFUSED (ECONNREFUSED). Check that the proxy is up and lets the runner reach api.deepgram.com, then run the job again.',
    )
  })

  test('without a proxy it names the host to check', async () => {
    const { client: dg } = client(async () => {
      throw new TransportError('getaddrinfo ENOTFOUND api.deepgram.com (ENOTFOUND)', false)
    })
    await expect(dg.listKeys(PROJECT)).rejects.toThrow(
      /after 4 attempts: .*Check that the runner can reach api\.deepgram\.com \(DNS, firewall\), then run the job again\.$/,
    )
  })

  test.each([
    [{ 'dg-request-id': 'dg-1', 'x-request-id': 'x-1' }, 'dg-1'],
    [{ 'x-request-id': 'x-1' }, 'x-1'],
  ])('reads the request id from %p', async (headers, id) => {
    const { client: dg } = client(async () => answer(400, 'bad', headers))
    await expect(dg.listKeys(PROJECT)).rejects.toThrow(`(request id ${id})`)
  })
})
