import { IdTokenError, requestIdToken } from '../../src/github/id-token.ts'
import { TransportError, type HttpRequest, type HttpResponse } from '../../src/shared/http.ts'

const SERVICE = {
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://runner.example/_apis/id-token?api-version=2.0',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token',
}

function runner(answer: HttpResponse | Error) {
  const sent: HttpRequest[] = []
  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    sent.push(request)
    if (answer instanceof Error) throw answer
    return answer
  }
  return { sent, send }
}

describe("the job's ID token from the runner's token service", () => {
  test('asks for the audience with the request token, within the deadline given, and returns the token', async () => {
    const service = runner({ status: 200, headers: {}, body: JSON.stringify({ value: 'eyJ.header.token' }) })
    expect(await requestIdToken(service.send, SERVICE, 'https://broker.example/x y', 4_000, 'test')).toBe(
      'eyJ.header.token',
    )
    expect(service.sent).toEqual([
      {
        method: 'GET',
        url: 'https://runner.example/_apis/id-token?api-version=2.0&audience=https%3A%2F%2Fbroker.example%2Fx%20y',
        headers: { authorization: 'Bearer runner-request-token', accept: 'application/json', 'user-agent': 'test' },
        timeoutMs: 4_000,
      },
    ])
  })

  test('sends nothing when the job may have no token (no id-token: write)', async () => {
    const service = runner(new Error('never sent'))
    expect(await requestIdToken(service.send, {}, 'aud', 4_000, 'test')).toBeUndefined()
    expect(service.sent).toEqual([])
  })

  test.each<[string, HttpResponse | Error, string]>([
    [
      'a refusal',
      { status: 401, headers: {}, body: '{"message":"bad request token"}' },
      "the runner's token service answered HTTP 401",
    ],
    [
      'an answer without a token',
      { status: 200, headers: {}, body: '{"value":""}' },
      "the runner's token service answered without a token",
    ],
    [
      'no answer at its deadline',
      new TransportError('no answer within 4000 ms', true),
      "the runner's token service did not answer: no answer within 4000 ms",
    ],
  ])('%s is an error that says so, never quoting the request token', async (_, answer, message) => {
    const error = await requestIdToken(runner(answer).send, SERVICE, 'aud', 4_000, 'test').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IdTokenError)
    expect((error as Error).message).toBe(message)
    expect((error as Error).message).not.toContain('runner-request-token')
  })
})
