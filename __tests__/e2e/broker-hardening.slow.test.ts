// The broker's own limits, each waited out for real: a body or headers trickled in, and Deepgram
// never answering a mint during a drain. In the slow project: npm test and CI run them, npx jest does not.
import { connect, type Socket } from 'node:net'
import { auditLineWhere, mintReached, startWorld, type World } from '../helpers/broker.ts'
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

describe('no key is delivered to nobody', () => {
  test('SIGTERM while Deepgram makes a key and never answers: the mint ends at its deadline, the key is deleted, exit 0', async () => {
    const world = await startWorld()
    world.dg.commitThenHang()
    const minting = world.call('POST', '/v1/keys', { token: await world.sign(APP) })
    await waitFor(() => mintReached(world), 'the mint to reach Deepgram')
    const exit = await world.broker.stop()
    expect(exit.code).toBe(0)
    expect(await minting).toMatchObject({ status: 502, body: { error: 'deepgram_failed' } })
    expect(world.dg.keys.length).toBe(1)
    expect(world.dg.liveKeys()).toEqual([])
    const lines = exit.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toEqual([expect.objectContaining({ outcome: 'failed', status: 502, error: 'deepgram_failed' })])
    await world.close()
  }, 40_000)
})

describe('slow clients and the connection cap', () => {
  let world: World
  beforeAll(async () => {
    world = await startWorld()
  })
  afterAll(() => world.close())

  test('headers trickled in are cut at the 10 s limit with a JSON 408', async () => {
    const socket = await open(world.broker.url)
    const answer = received(socket)
    const started = Date.now()
    socket.write('POST /v1/keys HTTP/1.1\r\nhost: broker\r\n')
    const trickle = setInterval(() => socket.writable && socket.write('x-slow: 1\r\n'), 500)
    const raw = await answer
    clearInterval(trickle)
    expect(Date.now() - started).toBeLessThan(13_000)
    expect(parse(raw)).toMatchObject({ status: 408, body: { error: 'request_timeout' } })
  }, 20_000)

  test('a body trickled in is cut at the 30 s limit with a JSON 408, and audited as refused', async () => {
    const socket = await open(world.broker.url)
    const answer = received(socket)
    const started = Date.now()
    socket.write(
      `POST /v1/keys HTTP/1.1\r\nhost: broker\r\nauthorization: Bearer ${await world.sign(APP)}\r\ncontent-length: 1000\r\n\r\n`,
    )
    const trickle = setInterval(() => socket.writable && socket.write(' '), 1_000)
    const raw = await answer
    clearInterval(trickle)
    expect(Date.now() - started).toBeLessThan(33_000)
    expect(parse(raw)).toMatchObject({ status: 408, body: { error: 'request_timeout' } })
    expect(await auditLineWhere(world.broker, (line) => line.status === 408)).toMatchObject({
      outcome: 'refused',
      error: 'request_timeout',
      request: 'POST /v1/keys',
    })
  }, 45_000)
})
