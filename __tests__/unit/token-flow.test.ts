// The main step with credential: token, through runMain with injected network, clock and runner:
// the order of masking and outputs, retries within the budget, the broker's request, and skips.
import type { HttpResponse } from '../../src/shared/http.ts'
import { TransportError } from '../../src/shared/http.ts'
import { runMain } from '../../src/action/main-step.ts'
import { runPost } from '../../src/action/post-step.ts'
import { fakeClock, RecordingIO, scriptedNetwork } from '../helpers/fakes.ts'

const ADMIN_KEY = 'dg_admin_key_for_unit_tests'
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3OTY0Nzk2MDB9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg'
const ID_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJyZXBvc2l0b3J5Ijoib2N0by1vcmcvYXBwIn0.aWQtdG9rZW4tc2lnbmF0dXJl'
const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: JSON.stringify(body),
})

const network = (...answers: (HttpResponse | Error)[]) => scriptedNetwork(answers)

const direct = {
  'api-key': ADMIN_KEY,
  credential: 'token',
  expiration: '30m',
  'deepgram-api-url': 'https://api.deepgram.com',
}

async function main(io: RecordingIO, net: ReturnType<typeof network>, clock = fakeClock()): Promise<void> {
  await runMain({
    io,
    run: { repository: 'octo-org/app' },
    send: net.send,
    clock,
    invocationId: () => '0123456789abcdef',
    userAgent: 'test',
  })
}

describe('runMain with credential: token', () => {
  test('masks the token before any output or message about it, sets access-token and expires-at, saves no state', async () => {
    const clock = fakeClock()
    const io = new RecordingIO(direct)
    const net = network(json(200, { access_token: TOKEN, expires_in: 1800 }))
    await main(io, net, clock)
    expect(io.failed).toBeUndefined()
    expect(io.masked).toEqual([ADMIN_KEY, TOKEN])
    const log = io.log.map((line) => line.replace(/^(info|warning) .*/, '$1'))
    expect(log).toEqual(['mask', 'output skipped', 'info', 'mask', 'output access-token', 'output expires-at', 'info'])
    expect(io.outputs).toEqual({
      skipped: 'false',
      'access-token': TOKEN,
      'expires-at': new Date(clock.now() + 1800_000).toISOString(),
    })
    expect(io.saved).toEqual({})
    expect(net.sent).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: 'https://api.deepgram.com/v1/auth/grant',
        body: '{"ttl_seconds":1800}',
      }),
    ])
    expect(net.sent[0]?.headers.authorization).toBe(`Token ${ADMIN_KEY}`)
    expect(io.summary).toContain('nothing to clean up')
    expect(`${io.log.join('\n')}\n${io.summary}`).not.toContain(TOKEN)
  })

  test('retries a grant that got no answer or a 5xx, waiting between attempts', async () => {
    const clock = fakeClock()
    const io = new RecordingIO(direct)
    const net = network(
      new TransportError('socket hang up', true),
      json(503, { err_msg: 'busy' }),
      json(200, { access_token: TOKEN, expires_in: 1800 }),
    )
    await main(io, net, clock)
    expect(io.failed).toBeUndefined()
    expect(net.sent).toHaveLength(3)
    expect(clock.waits).toHaveLength(2)
    expect(io.outputs['access-token']).toBe(TOKEN)
  })

  test('a 401 is not retried, and the error says what Deepgram said', async () => {
    const io = new RecordingIO(direct)
    const net = network(json(401, { err_code: 'INVALID_AUTH', err_msg: 'Invalid credentials.', request_id: 'r-1' }))
    await main(io, net)
    expect(net.sent).toHaveLength(1)
    expect(io.failed).toBe(
      'Deepgram answered HTTP 401 INVALID_AUTH while granting a temporary token: Invalid credentials. (request id r-1). Check the api-key input: Deepgram does not accept it.',
    )
  })

  test('a token shorter than asked is handed on with a warning after the mask; one longer than asked is not handed on', async () => {
    const shorter = new RecordingIO(direct)
    await main(shorter, network(json(200, { access_token: TOKEN, expires_in: 30 })))
    expect(shorter.log.indexOf('mask', 1)).toBeLessThan(
      shorter.log.findIndex((line) => line.startsWith('warning The token lives 30 s, shorter than the 1800 s asked')),
    )
    expect(shorter.outputs['access-token']).toBe(TOKEN)
    const longer = new RecordingIO(direct)
    await main(longer, network(json(200, { access_token: TOKEN, expires_in: 3600 })))
    expect(longer.failed).toMatch(/the token lives 3600 s, longer than the 1800 s asked/)
    expect(longer.masked).toContain(TOKEN)
    expect(longer.outputs['access-token']).toBeUndefined()
    expect(longer.failed).not.toContain(TOKEN)
  })

  test('through the broker: one ID token for its audience, sent as Bearer with the expiration as written', async () => {
    const io = new RecordingIO({ credential: 'token', 'broker-url': 'https://broker.example.com', expiration: '30m' })
    io.idTokenFor = () => ID_TOKEN
    const net = network(json(200, { access_token: TOKEN, expires_at: '2026-11-28T12:30:00Z', expires_in: 1800 }))
    await main(io, net)
    expect(io.failed).toBeUndefined()
    expect(io.log.filter((line) => line.startsWith('id-token'))).toEqual(['id-token https://broker.example.com'])
    expect(net.sent).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: 'https://broker.example.com/v1/tokens',
        body: '{"expiration":"30m"}',
      }),
    ])
    expect(net.sent[0]?.headers.authorization).toBe(`Bearer ${ID_TOKEN}`)
    expect(io.masked).toEqual([ID_TOKEN, TOKEN])
    expect(io.outputs['access-token']).toBe(TOKEN)
  })

  test("through the broker, a 403 names the broker's code and what to do, and is not retried", async () => {
    const io = new RecordingIO({ credential: 'token', 'broker-url': 'https://broker.example.com' })
    io.idTokenFor = () => ID_TOKEN
    const net = network(
      json(403, {
        error: 'lifetime_not_allowed',
        message: 'The token would live 3600 s; rule r allows at most 600 s (max-expiration).',
      }),
    )
    await main(io, net)
    expect(net.sent).toHaveLength(1)
    expect(io.failed).toMatch(
      /^The broker answered HTTP 403 lifetime_not_allowed while granting a temporary token: .* Give a shorter expiration/,
    )
    expect(io.failed).not.toContain(ID_TOKEN)
  })

  test('skips without an api-key or an ID token when on-missing-credentials is skip, after checking the other inputs', async () => {
    const noKey = new RecordingIO({ ...direct, 'api-key': '', 'on-missing-credentials': 'skip' })
    await main(noKey, network())
    expect(noKey.outputs).toEqual({ skipped: 'true' })
    const noIdToken = new RecordingIO({
      credential: 'token',
      'broker-url': 'https://broker.example.com',
      'on-missing-credentials': 'skip',
    })
    await main(noIdToken, network())
    expect(noIdToken.outputs).toEqual({ skipped: 'true' })
    const badInput = new RecordingIO({ ...direct, 'api-key': '', 'on-missing-credentials': 'skip', comment: 'x' })
    await main(badInput, network())
    expect(badInput.failed).toMatch(/^Input comment: /)
  })
})

describe('runPost after a token', () => {
  test('sends nothing and says there is nothing to do', async () => {
    const io = new RecordingIO(direct)
    const net = network()
    await runPost({ io, send: net.send, clock: fakeClock(), userAgent: 'test' })
    expect(net.sent).toEqual([])
    expect(io.failed).toBeUndefined()
    expect(io.log).toContain('info A temporary token cannot be revoked and leaves nothing behind: nothing to do.')
  })
})
