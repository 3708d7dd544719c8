import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { ServiceError, UnusableAnswerError } from '../../src/shared/errors.ts'
import {
  AnswerTooLargeError,
  fetchOver,
  oversizedAnswerError,
  proxyFromEnv,
  TransportError,
  undiciSend,
  type HttpRequest,
  type SendOptions,
} from '../../src/shared/http.ts'

describe('fetchOver', () => {
  test('passes method, headers and body through, and hands back status, headers and body', async () => {
    const sent: HttpRequest[] = []
    const fetch = fetchOver(async (request) => {
      sent.push(request)
      return { status: 201, headers: { 'content-type': 'application/json', 'x-github-request-id': 'abc' }, body: '{}' }
    })
    const response = await fetch('https://api.github.com/x', {
      method: 'put',
      headers: { Authorization: 'token t' },
      body: '{"a":1}',
    })
    expect(sent).toEqual([
      { method: 'PUT', url: 'https://api.github.com/x', headers: { authorization: 'token t' }, body: '{"a":1}' },
    ])
    expect(response.status).toBe(201)
    expect(response.headers.get('x-github-request-id')).toBe('abc')
    expect(await response.json()).toEqual({})
  })

  test('gives a 204 no body, as the fetch standard requires', async () => {
    const fetch = fetchOver(async () => ({ status: 204, headers: {}, body: '' }))
    const response = await fetch(new URL('https://api.github.com/y'))
    expect(response.status).toBe(204)
    expect(response.body).toBeNull()
  })
})

describe('undiciSend', () => {
  let server: Server
  let url: string
  let handle: (req: IncomingMessage, res: ServerResponse) => void
  const agent = new Agent()
  beforeEach(async () => {
    server = createServer((req, res) => handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterEach(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  afterAll(() => agent.close())

  const send = (options: Partial<SendOptions> = {}) =>
    undiciSend(agent, { timeoutMs: 2_000, maxAnswerBytes: 1024, ...options })

  test('reads a whole answer', async () => {
    handle = (_, res) => res.writeHead(200, { 'x-request-id': 'r1' }).end('{"ok":true}')
    expect(await send()({ method: 'GET', url, headers: {} })).toEqual({
      status: 200,
      headers: expect.objectContaining({ 'x-request-id': 'r1' }),
      body: '{"ok":true}',
    })
  })

  test('gives up on an answer whose headers never come, at the deadline', async () => {
    handle = () => undefined
    const started = Date.now()
    const failure = send({ timeoutMs: 300 })({ method: 'POST', url, headers: {}, body: '{}' })
    await expect(failure).rejects.toThrow(new TransportError('no complete answer within 300 ms', true))
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  test('gives up on a body that trickles, although bytes keep coming', async () => {
    handle = (_, res) => {
      res.writeHead(200, { 'content-length': '1000' })
      const timer = setInterval(() => res.write('x'), 20)
      res.on('close', () => clearInterval(timer))
    }
    await expect(send({ timeoutMs: 300 })({ method: 'GET', url, headers: {} })).rejects.toThrow(
      'no complete answer within 300 ms',
    )
  })

  test('takes the shorter of its own deadline and the one the request asks', async () => {
    handle = () => undefined
    await expect(send({ timeoutMs: 5_000 })({ method: 'GET', url, headers: {}, timeoutMs: 200 })).rejects.toThrow(
      'no complete answer within 200 ms',
    )
  })

  test('stops reading past the byte cap, and says what the status was', async () => {
    handle = (_, res) => res.writeHead(200).end('x'.repeat(5000))
    const failure = send()({ method: 'GET', url, headers: {} })
    await expect(failure).rejects.toThrow(AnswerTooLargeError)
    await expect(failure).rejects.toThrow('the answer (HTTP 200) is longer than the 1024 bytes read at most')
  })

  test('stops at once when the request is aborted, as when the job is cancelled', async () => {
    handle = () => undefined
    const cancel = new AbortController()
    setTimeout(() => cancel.abort('SIGINT'), 100)
    await expect(send()({ method: 'POST', url, headers: {}, signal: cancel.signal })).rejects.toThrow(
      'cancelled: SIGINT',
    )
  })

  test('never follows a redirect: the credentials stay on the configured host', async () => {
    const hits: string[] = []
    handle = (req, res) => {
      hits.push(req.url ?? '')
      res.writeHead(307, { location: `${url}/elsewhere` }).end()
    }
    const response = await send()({ method: 'GET', url: `${url}/start`, headers: { authorization: 'Token secret' } })
    expect(response.status).toBe(307)
    expect(hits).toEqual(['/start'])
  })

  test('names the proxy the request went through when it got no answer', async () => {
    handle = (req) => req.socket.destroy()
    const failure = send({ proxyFor: () => 'http://proxy.corp:3128' })({ method: 'GET', url, headers: {} })
    await expect(failure).rejects.toThrow(TransportError)
    await expect(failure).rejects.toMatchObject({ sent: true, proxy: 'http://proxy.corp:3128' })
  })
})

describe('proxyFromEnv', () => {
  test.each([
    [{ HTTPS_PROXY: 'http://user:pass@proxy.corp:3128' }, 'https://api.deepgram.com/v1', 'http://proxy.corp:3128'],
    [{ https_proxy: 'http://proxy.corp:3128' }, 'https://api.deepgram.com/v1', 'http://proxy.corp:3128'],
    [{ HTTP_PROXY: 'http://proxy.corp:8080' }, 'https://api.deepgram.com/v1', 'http://proxy.corp:8080'],
    [{ HTTPS_PROXY: 'http://proxy.corp:3128' }, 'http://127.0.0.1:9/v1', undefined],
    [{ HTTP_PROXY: 'http://proxy.corp:8080', NO_PROXY: 'deepgram.com' }, 'https://api.deepgram.com/v1', undefined],
    [{ HTTP_PROXY: 'http://proxy.corp:8080', NO_PROXY: '.deepgram.com' }, 'https://api.deepgram.com/v1', undefined],
    [{ HTTP_PROXY: 'http://proxy.corp:8080', NO_PROXY: '*' }, 'https://api.deepgram.com/v1', undefined],
    [
      { HTTP_PROXY: 'http://proxy.corp:8080', NO_PROXY: 'github.com' },
      'https://api.deepgram.com/v1',
      'http://proxy.corp:8080',
    ],
    [{}, 'https://api.deepgram.com/v1', undefined],
  ])('%p for %s: %p, never its credentials', (env, target, proxy) => {
    expect(proxyFromEnv(env, target)).toBe(proxy)
  })
})

describe('oversizedAnswerError: one description of an answer too large to read, for every service', () => {
  const MiB = 1024 * 1024

  test.each([
    ['Deepgram', 'creating the key', 'deepgram-api-url', "Deepgram's API"],
    ['GitHub', 'reading the public key of repository o/a', 'github-api-url', "GitHub's API"],
    ['The broker', 'minting a key', 'broker-url', 'the broker'],
  ] as const)(
    'a 2xx from %s is an unusable answer (what was asked may be done), naming the service, the status, the action and what to do',
    (service, action, urlInput, api) => {
      const error = oversizedAnswerError(new AnswerTooLargeError(201, {}, MiB), {
        service,
        action,
        requestId: 'req-1',
        urlInput,
      })
      expect(error).toBeInstanceOf(UnusableAnswerError)
      expect(error.message).toBe(
        `${service} answered HTTP 201 while ${action}, but the answer is over 1 MiB, the most this action reads, and was not read (request id req-1). ` +
          `Check that ${urlInput} points at ${api}, and that no proxy answers in its place.`,
      )
    },
  )

  test('any other status is a refusal of that status, so that retries treat it as its status says', () => {
    const error = oversizedAnswerError(new AnswerTooLargeError(503, {}, 2048), {
      service: 'GitHub',
      action: 'writing secret KEY',
      requestId: undefined,
      urlInput: 'github-api-url',
    })
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).status).toBe(503)
    expect(error.message).toBe(
      'GitHub answered HTTP 503 while writing secret KEY: the answer is over 2048 bytes, the most this action reads, and was not read (no request id). ' +
        "Check that github-api-url points at GitHub's API, and that no proxy answers in its place.",
    )
  })
})
