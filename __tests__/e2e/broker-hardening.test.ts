// The broker as an attacker and a careless client meet it (issue 15, part A), end to end against
// the bundled dist/broker: odd request targets, broken and slow clients, callers who leave,
// SIGTERM during a mint, a key set with two keys under one kid, and line separators in claims.
import { connect, type Socket } from 'node:net'
import { auditLineWhere, examplePolicy, mintReached, startWorld, type World } from '../helpers/broker.ts'
import { waitFor } from '../helpers/wait.ts'

const APP = { ref: 'refs/heads/feature/x' }

interface RawAnswer {
  status: number
  headers: string
  body: Record<string, unknown>
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url)
  return new Promise((done, fail) => {
    const socket = connect(Number(port), hostname, () => done(socket))
    socket.once('error', fail)
  })
}

/** Everything the server writes until it closes the connection. */
function received(socket: Socket): Promise<string> {
  return new Promise((done) => {
    let text = ''
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
    socket.on('error', () => undefined)
    socket.on('close', () => done(text))
  })
}

function parse(raw: string): RawAnswer {
  const split = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, split)
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
    headers: head.toLowerCase(),
    body: JSON.parse(raw.slice(split + 4)) as Record<string, unknown>,
  }
}

/** Sends `text` as is on a fresh connection and reads the one answer. */
async function exchange(url: string, text: string): Promise<RawAnswer> {
  const socket = await open(url)
  const answer = received(socket)
  socket.write(text)
  return parse(await answer)
}

function post(target: string, token: string, body = ''): string {
  return `POST ${target} HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

describe('request targets, broken requests and parser refusals', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld()
  })
  afterAll(() => world.close())

  test.each([
    '//evil.example/v1/keys',
    '/v1\\keys',
    '/v1/x/../keys',
    '/v1/./keys',
    '/v1/%2e%2e/v1/keys',
    '/v1/keys/%2e%2e',
    '/v1/%6beys',
    '/v1//keys',
    '/v1/keys/',
    'http://broker/v1/keys',
  ])(
    '%s is not served: 404 or 400 as JSON, no Deepgram request, and the audit line shows it as received',
    async (target) => {
      const requests = world.dg.requests.length
      const answer = await exchange(world.broker.url, post(target, await world.sign(APP)))
      expect([400, 404]).toContain(answer.status)
      expect(answer.headers).toContain('content-type: application/json')
      expect(answer.body).toMatchObject({ error: expect.any(String), message: expect.any(String) })
      expect(world.dg.requests.length).toBe(requests)
      if (answer.status === 404)
        expect(await auditLineWhere(world.broker, (line) => line.request === `POST ${target}`)).toMatchObject({
          outcome: 'refused',
          status: 404,
          error: 'not_found',
        })
    },
  )

  test('a body nested thousands deep is a 400, never a 500', async () => {
    const body = `{"tags": ${'['.repeat(7_000)}${']'.repeat(7_000)}}`
    const answer = await world.call('POST', '/v1/keys', { token: await world.sign(APP), body })
    expect(answer).toMatchObject({
      status: 400,
      body: { error: 'bad_request', message: expect.stringContaining('nests deeper') },
    })
    expect(world.broker.stderr()).toBe('')
  })

  test('a mint whose body is cut off: request_aborted, refused, and no key', async () => {
    const socket = await open(world.broker.url)
    const closed = received(socket)
    const keys = world.dg.keys.length
    const before = world.broker.auditLines().length
    socket.write(
      `POST /v1/keys HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer ${await world.sign(APP)}\r\ncontent-length: 100\r\n\r\n{"scopes":`,
    )
    await sleep(200)
    socket.destroy()
    await closed
    // Found by what it says, not by its place: an earlier test's line may still be on its way.
    const line = await auditLineWhere(world.broker, (l) => l.error === 'request_aborted', before)
    expect(line).toMatchObject({ outcome: 'refused', status: 400, error: 'request_aborted', request: 'POST /v1/keys' })
    expect(world.dg.keys.length).toBe(keys)
  })

  test('bad chunked framing: a 400 JSON answer and a refused line', async () => {
    const before = world.broker.auditLines().length
    const answer = await exchange(
      world.broker.url,
      `POST /v1/keys HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer ${await world.sign(APP)}\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    )
    expect(answer).toMatchObject({ status: 400, body: { error: 'bad_request' } })
    const line = await auditLineWhere(
      world.broker,
      (l) => String(l.reason).includes('not well-formed HTTP/1.1'),
      before,
    )
    expect(line).toMatchObject({ outcome: 'refused', status: 400, error: 'bad_request' })
  })

  test.each([
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', 400, 'bad_request'],
    [
      'headers over 16 KiB',
      `GET /healthz HTTP/1.1\r\nhost: broker\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
  ])("the parser's refusal of %s is JSON too", async (_what, text, status, error) => {
    const answer = await exchange(world.broker.url, text)
    expect(answer.status).toBe(status)
    expect(answer.headers).toContain('content-type: application/json')
    expect(answer.headers).toContain('cache-control: no-store')
    expect(answer.body).toMatchObject({ error, message: expect.any(String) })
  })

  test('line separators in claims are escaped: every audit line is one JSON object on one line', async () => {
    const ref = 'refs/heads/a\u2028b\u2029c\u0085d'
    const answer = await world.call('POST', '/v1/keys', { token: await world.sign({ ref }) })
    expect(answer.status).toBe(200)
    const line = await auditLineWhere(world.broker, (l) => l.key_id === answer.body.key_id)
    expect(line?.ref).toBe(ref)
    expect(world.broker.stdout()).not.toMatch(/[\u2028\u2029\u0085]/)
    expect(world.broker.stdout()).toContain('refs/heads/a\\u2028b\\u2029c\\u0085d')
  })

  test('a branch named x@refs/heads/main does not pass for main in workflow_ref', async () => {
    const pinned = await startWorld({
      policy: (issuer) => ({
        ...examplePolicy(issuer),
        rules: [
          {
            name: 'main-ci',
            match: { repository_id: '1001', workflow_ref: 'octo-org/app/.github/workflows/*@refs/heads/main' },
            scopes: ['usage:write'],
          },
        ],
      }),
    })
    try {
      expect((await pinned.call('POST', '/v1/keys', { token: await pinned.sign() })).status).toBe(200)
      const faked = await pinned.call('POST', '/v1/keys', {
        token: await pinned.sign({
          workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/x@refs/heads/main',
        }),
      })
      expect(faked).toMatchObject({
        status: 403,
        body: {
          error: 'no_rule',
          claims: { workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/x@refs/heads/main' },
        },
      })
    } finally {
      await pinned.close()
    }
  })
})

describe('an issuer key set with two keys under one kid', () => {
  test('the token verifies against the key that fits', async () => {
    const world = await startWorld()
    try {
      await world.issuer.duplicateKid()
      const answer = await world.call('POST', '/v1/keys', { token: await world.sign(APP) })
      expect(answer.status).toBe(200)
      const forged = await world.issuer.forge('bad-signature', APP)
      world.tokens.push(forged)
      expect(await world.call('POST', '/v1/keys', { token: forged })).toMatchObject({
        status: 401,
        body: { error: 'token_invalid', message: expect.stringContaining('signature does not verify') },
      })
    } finally {
      await world.close()
    }
  })
})

describe('no key is delivered to nobody', () => {
  test('a caller who leaves while the key is made: the key is deleted and audited as undelivered', async () => {
    const world = await startWorld()
    try {
      world.dg.setLatency(1_000)
      const socket = await open(world.broker.url)
      const closed = received(socket)
      socket.write(post('/v1/keys', await world.sign(APP)))
      await waitFor(() => mintReached(world), 'the mint to reach Deepgram')
      socket.destroy()
      await closed
      const line = await auditLineWhere(world.broker, (l) => l.outcome !== undefined && l.request === 'POST /v1/keys')
      const settled = line?.outcome === 'undelivered' ? line : await waitForOutcome(world, 'undelivered')
      expect(settled).toMatchObject({
        outcome: 'undelivered',
        status: 499,
        error: 'caller_gone',
        deleted: [expect.any(String)],
      })
      expect(settled?.deleted).toEqual([settled?.key_id])
      expect(world.dg.keys.length).toBe(1)
      expect(world.dg.liveKeys()).toEqual([])
    } finally {
      await world.close()
    }
  })

  test('SIGTERM during a slow mint: no new connection, the mint finishes and is delivered and audited, exit 0', async () => {
    const world = await startWorld()
    world.dg.setLatency(1_500)
    const minting = world.call('POST', '/v1/keys', { token: await world.sign(APP) })
    await waitFor(() => mintReached(world), 'the mint to reach Deepgram')
    const stopped = world.broker.stop()
    const refused = await waitFor(
      () =>
        fetch(`${world.broker.url}/healthz`).then(
          () => false,
          () => true,
        ),
      'the broker to stop taking connections',
    )
    expect(refused).toBe(true)
    const answer = await minting
    expect(answer.status).toBe(200)
    const exit = await stopped
    expect(exit.code).toBe(0)
    const lines = exit.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toEqual([expect.objectContaining({ outcome: 'granted', status: 200, key_id: answer.body.key_id })])
    await world.close()
  })

  test('SIGTERM while a client is still sending its body: 503 shutting_down at once, exit 0', async () => {
    const world = await startWorld()
    const socket = await open(world.broker.url)
    const answer = received(socket)
    socket.write(
      `POST /v1/keys HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer ${await world.sign(APP)}\r\ncontent-length: 100\r\n\r\n{`,
    )
    await sleep(200)
    const exit = await world.broker.stop()
    expect(parse(await answer)).toMatchObject({ status: 503, body: { error: 'shutting_down' } })
    expect(exit.code).toBe(0)
    expect(world.dg.keys).toEqual([])
    await world.close()
  })
})

async function waitForOutcome(world: World, outcome: string): Promise<Record<string, unknown> | undefined> {
  return auditLineWhere(world.broker, (line) => line.outcome === outcome)
}

describe('slow clients and the connection cap', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld({ env: { MAX_CONNECTIONS: '3' } })
  })
  afterAll(() => world.close())

  test('past MAX_CONNECTIONS a new connection is refused at once while the open ones are served', async () => {
    const sockets = await Promise.all([open(world.broker.url), open(world.broker.url), open(world.broker.url)])
    await sleep(200)
    const extra = await open(world.broker.url)
    const refused = await Promise.race([received(extra).then(() => 'closed'), sleep(2_000).then(() => 'open')])
    expect(refused).toBe('closed')
    const first = sockets[0]
    const answer = received(first)
    first.write('GET /healthz HTTP/1.1\r\nhost: broker\r\nconnection: close\r\n\r\n')
    expect(parse(await answer)).toMatchObject({ status: 200, body: { status: 'ok' } })
    for (const socket of sockets) socket.destroy()
  })
})
