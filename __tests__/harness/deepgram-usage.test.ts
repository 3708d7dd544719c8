import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import type { DeepgramEmulator, DeepgramEmulatorOptions } from '../../harness/deepgram-emulator.ts'
import { silentWav, USD_PER_HOUR, wavSeconds } from '../../harness/deepgram-usage.ts'

const PROJECT = `/v1/projects/${DEFAULT_PROJECT.projectId}`

let dg: DeepgramEmulator
afterEach(async () => {
  await dg.close()
})

async function start(options: DeepgramEmulatorOptions = {}): Promise<void> {
  dg = await startDeepgramEmulator(options)
}

async function call(
  method: string,
  path: string,
  authorization = `Token ${DEFAULT_ACCOUNT.apiKey}`,
  body?: Buffer | string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization }
  if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'application/json' : 'audio/wav'
  const response = await fetch(`${dg.url}${path}`, { method, headers, body })
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> }
}

async function mint(tags: string[] = []): Promise<{ key: string; id: string }> {
  const answer = await call(
    'POST',
    `${PROJECT}/keys`,
    undefined,
    JSON.stringify({ comment: 'ci', scopes: ['usage:write'], tags, time_to_live_in_seconds: 3600 }),
  )
  return { key: String(answer.body['key']), id: String(answer.body['api_key_id']) }
}

const transcribe = (key: string, seconds: number, query = '') =>
  call('POST', `/v1/listen${query}`, `Token ${key}`, silentWav(seconds))

const today = () => new Date().toISOString().slice(0, 10)
const results = (body: Record<string, unknown>) => body['results'] as Record<string, unknown>[]

describe('POST /v1/listen', () => {
  test('counts each request against its key, with the duration of its audio', async () => {
    await start()
    const { key, id } = await mint(['pr-42'])
    const first = await transcribe(key, 2)
    expect(first.status).toBe(200)
    expect((first.body['metadata'] as Record<string, unknown>)['duration']).toBe(2)
    await transcribe(key, 3.5, '?model=nova-2&tag=nightly')
    expect(dg.usage.map((r) => [r.accessor, r.seconds, r.model, r.tags])).toEqual([
      [id, 2, 'nova-3', ['pr-42']],
      [id, 3.5, 'nova-2', ['pr-42', 'nightly']],
    ])
  })

  test('refuses a deleted key, an expired key, and audio that is not WAV', async () => {
    await start()
    const deleted = await mint()
    await call('DELETE', `${PROJECT}/keys/${deleted.id}`)
    expect((await transcribe(deleted.key, 1)).status).toBe(401)
    const expired = dg.addKey({
      projectId: DEFAULT_PROJECT.projectId,
      comment: 'old',
      expirationDate: new Date(Date.now() - 1000).toISOString(),
    })
    expect((await transcribe(expired.key, 1)).status).toBe(401)
    const live = await mint()
    const noise = await call('POST', '/v1/listen', `Token ${live.key}`, Buffer.from('not audio'))
    expect(noise.status).toBe(400)
    expect(dg.usage).toEqual([])
  })

  test("a temporary token's requests count against the key that granted it", async () => {
    await start()
    const grant = await call('POST', '/v1/auth/grant', undefined, JSON.stringify({ ttl_seconds: 60 }))
    const token = String(grant.body['access_token'])
    expect((await call('POST', '/v1/listen', `Bearer ${token}`, silentWav(1))).status).toBe(200)
    expect(dg.usage.map((r) => r.accessor)).toEqual([dg.accessorOf(DEFAULT_ACCOUNT.apiKey)])
  })

  test('measures WAV files by their data chunk', () => {
    expect(wavSeconds(silentWav(1.5))).toBe(1.5)
    expect(wavSeconds(Buffer.from('RIFF....WAVE'))).toBeUndefined()
  })
})

describe('usage, billing and the request log', () => {
  test('the breakdowns filter by accessor, tag and day, and sum what the log lists', async () => {
    await start({ accounts: [{ ...DEFAULT_ACCOUNT, scopes: ['admin'] }] })
    const a = await mint(['pr-42'])
    const b = await mint(['pr-43'])
    await transcribe(a.key, 2)
    await transcribe(a.key, 4)
    await transcribe(b.key, 60)
    const usage = await call('GET', `${PROJECT}/usage/breakdown?accessor=${a.id}&start=${today()}&end=${today()}`)
    expect(usage.status).toBe(200)
    expect(usage.body).toMatchObject({ start: today(), end: today(), resolution: { units: 'day', amount: 1 } })
    expect(results(usage.body)).toEqual([
      expect.objectContaining({
        requests: 2,
        hours: 6 / 3600,
        grouping: expect.objectContaining({ accessor: null }) as unknown,
      }),
    ])
    const tagged = await call('GET', `${PROJECT}/usage/breakdown?tag=pr-43&grouping=accessor`)
    expect(results(tagged.body)).toEqual([
      expect.objectContaining({
        requests: 1,
        hours: 60 / 3600,
        grouping: expect.objectContaining({ accessor: b.id }) as unknown,
      }),
    ])
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
    expect(results((await call('GET', `${PROJECT}/usage/breakdown?start=${tomorrow}&end=${tomorrow}`)).body)).toEqual(
      [],
    )
    const cost = await call('GET', `${PROJECT}/billing/breakdown?accessor=${a.id}`)
    expect(results(cost.body)).toEqual([expect.objectContaining({ dollars: (6 / 3600) * USD_PER_HOUR })])
  })

  test('the request log pages newest first, and filters by accessor and time', async () => {
    await start()
    const a = await mint()
    const b = await mint()
    for (const seconds of [1, 2, 3]) await transcribe(a.key, seconds)
    await transcribe(b.key, 9)
    const page = (n: number) => call('GET', `${PROJECT}/requests?accessor=${a.id}&limit=2&page=${n}`)
    const first = await page(0)
    expect(first.body).toMatchObject({ page: 0, limit: 2 })
    const durations = (body: Record<string, unknown>) =>
      (body['requests'] as { api_key_id: string; response: { details: { duration: number } } }[]).map((r) => [
        r.api_key_id,
        r.response.details.duration,
      ])
    expect(durations(first.body)).toEqual([
      [a.id, 3],
      [a.id, 2],
    ])
    expect(durations((await page(1)).body)).toEqual([[a.id, 1]])
    expect(durations((await page(2)).body)).toEqual([])
    const later = new Date(Date.now() + 60_000).toISOString().slice(0, 19)
    expect(durations((await call('GET', `${PROJECT}/requests?start=${later}`)).body)).toEqual([])
    expect((await call('GET', `${PROJECT}/requests?limit=1001`)).status).toBe(400)
    expect((await call('GET', `${PROJECT}/usage/breakdown?start=12/01/2026`)).status).toBe(400)
  })

  test('usage takes usage:read (every role), cost billing:read (admins and owners)', async () => {
    const keysOnly = {
      apiKey: 'dg_keys_only_0000000000000000000000000000',
      projectIds: [DEFAULT_PROJECT.projectId],
      scopes: ['keys:write'],
    }
    await start({ accounts: [DEFAULT_ACCOUNT, keysOnly] })
    expect((await call('GET', `${PROJECT}/usage/breakdown`)).status).toBe(200)
    expect((await call('GET', `${PROJECT}/billing/breakdown`)).status).toBe(403)
    expect((await call('GET', `${PROJECT}/usage/breakdown`, `Token ${keysOnly.apiKey}`)).status).toBe(403)
    expect((await call('GET', `${PROJECT}/requests`, `Token ${keysOnly.apiKey}`)).status).toBe(403)
  })

  test('faults on demand, like every other route', async () => {
    await start()
    dg.fail({ route: 'usage', status: 500 })
    dg.fail({ route: 'requests', status: 200, body: 'x'.repeat(5 * 1024 * 1024) })
    expect((await call('GET', `${PROJECT}/usage/breakdown`)).status).toBe(500)
    const huge = await fetch(`${dg.url}${PROJECT}/requests`, {
      headers: { authorization: `Token ${DEFAULT_ACCOUNT.apiKey}` },
    })
    expect((await huge.text()).length).toBe(5 * 1024 * 1024)
    dg.neverAnswer('billing')
    const hung = fetch(`${dg.url}${PROJECT}/billing/breakdown`, {
      headers: { authorization: `Token ${DEFAULT_ACCOUNT.apiKey}` },
      signal: AbortSignal.timeout(300),
    })
    await expect(hung).rejects.toThrow()
    expect(dg.requests.map((r) => [r.path.split('/').slice(4).join('/'), r.status])).toEqual([
      ['usage/breakdown', 500],
      ['requests', 200],
      ['billing/breakdown', 0],
    ])
  })
})
