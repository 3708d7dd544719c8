// The admin key rotated under steady traffic, as docs/broker.md tells an operator to: mint the
// new key, swap it into the mounted Secret (DEEPGRAM_ADMIN_KEY_FILE), wait until the broker
// reports its fingerprint, then delete the old key. Not one request fails, keys minted under the
// old key stay deletable through the broker, and a request under way finishes with its key.
import { createHash } from 'node:crypto'
import { mountedVolume, type MountedVolume } from '../../harness/mounted-volume.ts'
import { DEFAULT_ACCOUNT, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { startBroker, type RunningBroker } from '../../harness/broker.ts'
import { parseExposition, valueOf } from '../helpers/prometheus.ts'
import {
  examplePolicy,
  expectNoLeaks,
  PROJECT_ID,
  startWorld,
  type BrokerAnswer,
  type World,
} from '../helpers/broker.ts'

const fingerprint = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 16)

interface AdminKey {
  key: string
  id: string
}

/** What the operator (or the action) does with Deepgram's API: a member key, minted with the key `using`. */
async function mintAdminKey(dg: DeepgramEmulator, using: string, comment: string): Promise<AdminKey> {
  const response = await fetch(`${dg.url}/v1/projects/${PROJECT_ID}/keys`, {
    method: 'POST',
    headers: { authorization: `Token ${using}`, 'content-type': 'application/json' },
    body: JSON.stringify({ comment, scopes: ['member'] }),
  })
  expect(response.status).toBe(200)
  const body = (await response.json()) as { key: string; api_key_id: string }
  return { key: body.key, id: body.api_key_id }
}

async function deepgramStatus(dg: DeepgramEmulator, using: string, method: string, path: string): Promise<number> {
  const response = await fetch(`${dg.url}${path}`, { method, headers: { authorization: `Token ${using}` } })
  await response.arrayBuffer()
  return response.status
}

/** Waits for `check` to give something; the machine is shared, so the bound is generous. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((done) => setTimeout(done, 20))
  }
  throw new Error(`waited 30 s for ${what}`)
}

/** The fingerprints broker_admin_key_info shows. */
async function keysInUse(broker: RunningBroker): Promise<string[]> {
  const samples = parseExposition(await (await fetch(broker.metricsUrl ?? '')).text())
  return samples.filter((s) => s.name === 'broker_admin_key_info').map((s) => `${s.labels.fingerprint} ${s.value}`)
}

interface Done {
  what: string
  status: number
}

/** Mints and deletes through the broker, a few callers at once, until stopped; every answer recorded. */
function steadyTraffic(world: World, callers: number) {
  const done: Done[] = []
  const underWay = new Map<number, number>()
  let serial = 0
  let stopping = false
  const timed = async (what: string, call: () => Promise<BrokerAnswer>): Promise<BrokerAnswer | undefined> => {
    const id = ++serial
    underWay.set(id, Date.now())
    try {
      const answer = await call()
      done.push({ what, status: answer.status })
      return answer
    } catch (error) {
      done.push({ what: `${what}: ${String(error)}`, status: 0 })
      return undefined
    } finally {
      underWay.delete(id)
    }
  }
  const caller = async (): Promise<void> => {
    while (!stopping) {
      const token = await world.sign()
      const minted = await timed('mint', () => world.call('POST', '/v1/keys', { token }))
      if (minted?.status === 200)
        await timed('delete', () => world.call('DELETE', `/v1/keys/${String(minted.body.key_id)}`, { token }))
    }
  }
  const running = Promise.all(Array.from({ length: callers }, caller))
  return {
    done,
    /** True once every request that started before `time` has ended. */
    endedSince: (time: number): boolean => [...underWay.values()].every((started) => started >= time),
    stop: async (): Promise<void> => {
      stopping = true
      await running
    },
  }
}

// Minutes of margin on a busy machine: each step waits for an event, never for a fixed time.
jest.setTimeout(120_000)

describe('rotating the admin key', () => {
  let volume: MountedVolume
  let world: World
  let first: AdminKey
  let second: AdminKey

  beforeAll(async () => {
    volume = mountedVolume({ 'admin-key': '' })
    world = await startWorld({
      policy: (issuer) => examplePolicy(issuer, { 'keys-per-minute': 100_000, 'deletes-per-minute': 100_000 }),
      env: {
        DEEPGRAM_ADMIN_KEY: '',
        DEEPGRAM_ADMIN_KEY_FILE: volume.path('admin-key'),
        POLICY_RELOAD_SECONDS: '1',
        METRICS_PORT: '0',
      },
      // The broker's first admin key: a member key made with the account's own, as in the console.
      beforeBroker: async (_issuer, dg) => {
        first = await mintAdminKey(dg, DEFAULT_ACCOUNT.apiKey, 'broker admin key 1')
        volume.update({ 'admin-key': `${first.key}\n` })
      },
    })
  })
  afterAll(async () => {
    await world.close()
    volume.remove()
  })

  test('under steady traffic: not one request fails, and keys minted under the old key stay deletable', async () => {
    expect(await keysInUse(world.broker)).toEqual([`${fingerprint(first.key)} 1`])
    const old = await world.call('POST', '/v1/keys', { token: await world.sign() })
    const oldOfInvocation = await world.call('POST', '/v1/keys', {
      token: await world.sign(),
      body: { invocation: '5555555555555555' },
    })
    world.dg.setLatency(20)
    const traffic = steadyTraffic(world, 4)
    await until('traffic', () => (traffic.done.length >= 20 ? true : undefined))

    // 1. Mint the new admin key (with the old one, as the action would), 2. update the Secret.
    second = await mintAdminKey(world.dg, first.key, 'broker admin key 2')
    const since = world.broker.auditLines().length
    volume.update({ 'admin-key': `${second.key}\n` })
    // 3. Wait until the broker reports the new key, and its requests that started before have ended.
    await until('the new fingerprint', async () =>
      (await keysInUse(world.broker)).join() === `${fingerprint(second.key)} 1` ? true : undefined,
    )
    const switched = Date.now()
    await until('the requests under way', () => (traffic.endedSince(switched) ? true : undefined))
    // 4. Delete the old key. Deepgram (and the emulator) refuse it from then on.
    expect(await deepgramStatus(world.dg, second.key, 'DELETE', `/v1/projects/${PROJECT_ID}/keys/${first.id}`)).toBe(
      200,
    )
    expect(await deepgramStatus(world.dg, first.key, 'GET', '/v1/projects')).toBe(401)
    const afterDeletion = traffic.done.length
    await until('traffic after the deletion', () => (traffic.done.length >= afterDeletion + 20 ? true : undefined))
    await traffic.stop()
    world.dg.setLatency(0)

    expect(traffic.done.filter((request) => request.status !== 200)).toEqual([])
    expect(traffic.done.length).toBeGreaterThanOrEqual(afterDeletion + 20)
    // Only the test's own look with the deleted key was refused; the broker never used it after.
    expect(world.dg.requests.filter((request) => request.status === 401)).toHaveLength(1)
    // The traffic went through both keys.
    const usedBy = (key: AdminKey): number =>
      world.dg.requests.filter((r) => r.headers.authorization === `Token ${key.key}`).length
    expect(usedBy(first)).toBeGreaterThan(20)
    expect(usedBy(second)).toBeGreaterThan(20)

    expect(
      await world.call('DELETE', `/v1/keys/${String(old.body.key_id)}`, { token: await world.sign() }),
    ).toMatchObject({
      status: 200,
      body: { deleted: [old.body.key_id] },
    })
    expect(
      await world.call('DELETE', '/v1/keys?invocation=5555555555555555', { token: await world.sign() }),
    ).toMatchObject({ status: 200, body: { deleted: [oldOfInvocation.body.key_id] } })

    const reloads = world.broker
      .auditLines()
      .slice(since)
      .filter((line) => line.event === 'admin_key_reload')
    expect(reloads).toEqual([
      {
        time: expect.any(String) as unknown,
        event: 'admin_key_reload',
        trigger: 'poll',
        file: volume.path('admin-key'),
        outcome: 'loaded',
        fingerprint: fingerprint(second.key),
      },
    ])
    const samples = parseExposition(await (await fetch(world.broker.metricsUrl ?? '')).text())
    expect(valueOf(samples, 'broker_admin_key_reloads_total', { outcome: 'loaded' })).toBe(1)
    expect(valueOf(samples, 'broker_admin_key_last_reload_successful')).toBe(1)
  })

  test('a request under way when the key changes finishes with the key it started with', async () => {
    const minted = await world.call('POST', '/v1/keys', { token: await world.sign() })
    const third = await mintAdminKey(world.dg, second.key, 'broker admin key 3')
    const getOf = `/v1/projects/${PROJECT_ID}/keys/${String(minted.body.key_id)}`
    const asked = (method: string): number =>
      world.dg.requests.findIndex((request) => request.method === method && request.path === getOf)
    // Deepgram slow to answer the deletion's first look at the key: the key changes meanwhile.
    world.dg.setLatency(5000)
    const since = world.broker.auditLines().length
    const deleting = world.call('DELETE', `/v1/keys/${String(minted.body.key_id)}`, { token: await world.sign() })
    await until('the deletion to reach Deepgram', () => (asked('GET') >= 0 ? true : undefined))
    volume.update({ 'admin-key': `${third.key}\n` })
    process.kill(world.broker.pid, 'SIGHUP')
    await until('the reload', () =>
      world.broker
        .auditLines()
        .slice(since)
        .find((line) => line.event === 'admin_key_reload' && line.fingerprint === fingerprint(third.key)),
    )
    const reloadedAt = world.dg.requests.length
    world.dg.setLatency(0)
    expect((await deleting).status).toBe(200)
    expect(asked('DELETE')).toBeGreaterThanOrEqual(reloadedAt)
    expect(world.dg.requests[asked('GET')]?.headers.authorization).toBe(`Token ${second.key}`)
    expect(world.dg.requests[asked('DELETE')]?.headers.authorization).toBe(`Token ${second.key}`)
    // A request that arrives now uses the new key.
    const next = await world.call('POST', '/v1/keys', { token: await world.sign() })
    expect(next.status).toBe(200)
    expect(world.dg.requests.at(-1)?.headers.authorization).toBe(`Token ${third.key}`)
  })

  test('a key file that becomes unusable keeps the key in use, and says so', async () => {
    const inUse = await keysInUse(world.broker)
    const since = world.broker.auditLines().length
    volume.update({ 'admin-key': 'two words\n' })
    const line = await until('the refusal', () =>
      world.broker
        .auditLines()
        .slice(since)
        .find((l) => l.event === 'admin_key_reload'),
    )
    expect(line).toMatchObject({
      outcome: 'refused',
      fingerprint: inUse[0]?.split(' ')[0],
      problems: [expect.stringMatching(/holds spaces or characters that are not printable ASCII/)],
    })
    expect(await keysInUse(world.broker)).toEqual(inUse)
    const samples = parseExposition(await (await fetch(world.broker.metricsUrl ?? '')).text())
    expect(valueOf(samples, 'broker_admin_key_last_reload_successful')).toBe(0)
    expect((await world.call('POST', '/v1/keys', { token: await world.sign() })).status).toBe(200)
    expect(world.broker.stdout() + world.broker.stderr()).not.toContain('two words')
  })
})

describe('a broker started after a rotation', () => {
  const MARKER_SECRET = 'e1b2'.repeat(16)

  /** A broker, its admin key from a mounted file: A, minted with the account's key, and B, minted with A. */
  async function rotatingWorld(markerSecret: boolean) {
    const volume = mountedVolume({ 'admin-key': '', 'marker-secret': '' })
    const keys: { a?: AdminKey; b?: AdminKey } = {}
    const files = (adminKey: AdminKey): Record<string, string> => ({
      'admin-key': `${adminKey.key}\n`,
      'marker-secret': `${MARKER_SECRET}\n`,
    })
    const world = await startWorld({
      env: {
        DEEPGRAM_ADMIN_KEY: '',
        DEEPGRAM_ADMIN_KEY_FILE: volume.path('admin-key'),
        BROKER_MARKER_SECRET_FILE: markerSecret ? volume.path('marker-secret') : '',
        POLICY_RELOAD_SECONDS: '0',
      },
      beforeBroker: async (_issuer, dg) => {
        keys.a = await mintAdminKey(dg, DEFAULT_ACCOUNT.apiKey, 'broker admin key A')
        keys.b = await mintAdminKey(dg, keys.a.key, 'broker admin key B')
        volume.update(files(keys.a))
      },
    })
    const [a, b] = [keys.a as AdminKey, keys.b as AdminKey]
    return {
      world,
      a,
      b,
      /** The Secret updated to B, the broker told at once (SIGHUP), then A deleted at Deepgram. */
      rotate: async (): Promise<void> => {
        const since = world.broker.auditLines().length
        volume.update(files(b))
        process.kill(world.broker.pid, 'SIGHUP')
        await until('the reload', () =>
          world.broker
            .auditLines()
            .slice(since)
            .find((line) => line.event === 'admin_key_reload' && line.fingerprint === fingerprint(b.key)),
        )
        expect(await deepgramStatus(world.dg, b.key, 'DELETE', `/v1/projects/${PROJECT_ID}/keys/${a.id}`)).toBe(200)
      },
      /** A new broker process, as a replica started or rolled after the rotation: only B. */
      startReplica: () =>
        startBroker({
          policy: examplePolicy(world.issuer),
          adminKey: b.key,
          deepgramApiUrl: world.dg.url,
          env: { BROKER_MARKER_SECRET_FILE: markerSecret ? volume.path('marker-secret') : '' },
        }),
      close: async (): Promise<void> => {
        const output = world.broker.stdout() + world.broker.stderr()
        await world.close()
        volume.remove()
        expectNoLeaks(output, [a.key, b.key, MARKER_SECRET])
      },
    }
  }

  async function callAt(broker: RunningBroker, method: string, path: string, token: string): Promise<BrokerAnswer> {
    const response = await fetch(`${broker.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } })
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    }
  }

  test('with the marker secret, deletes the keys minted before, by id and by invocation, with the new admin key', async () => {
    const { world, a, b, rotate, startReplica, close } = await rotatingWorld(true)
    try {
      const minted = await world.call('POST', '/v1/keys', { token: await world.sign() })
      const ofInvocation = await world.call('POST', '/v1/keys', {
        token: await world.sign(),
        body: { invocation: '7777777777777777' },
      })
      expect([minted.status, ofInvocation.status]).toEqual([200, 200])
      expect(world.dg.requests.filter((r) => r.method === 'POST').at(-1)?.headers.authorization).toBe(`Token ${a.key}`)
      await rotate()

      const replica = await startReplica()
      const byId = await callAt(replica, 'DELETE', `/v1/keys/${String(minted.body.key_id)}`, await world.sign())
      const byInvocation = await callAt(replica, 'DELETE', '/v1/keys?invocation=7777777777777777', await world.sign())
      const exit = await replica.stop()

      expect(byId).toMatchObject({ status: 200, body: { deleted: [minted.body.key_id] } })
      expect(byInvocation).toMatchObject({ status: 200, body: { deleted: [ofInvocation.body.key_id] } })
      const gone = [minted.body.key_id, ofInvocation.body.key_id]
      expect(world.dg.liveKeys().filter((key) => gone.includes(key.apiKeyId))).toEqual([])
      const deletions = world.dg.requests.filter((r) => r.method === 'DELETE' && r.status === 200)
      expect(deletions.slice(-2).map((r) => r.headers.authorization)).toEqual([`Token ${b.key}`, `Token ${b.key}`])
      expectNoLeaks(exit.stdout + exit.stderr, [a.key, b.key, MARKER_SECRET, ...world.tokens])
    } finally {
      await close()
    }
  })

  test('without it, refuses them as not_yours (the documented limit), and the first broker still deletes them', async () => {
    const { world, rotate, startReplica, close } = await rotatingWorld(false)
    try {
      const minted = await world.call('POST', '/v1/keys', { token: await world.sign() })
      await rotate()
      const replica = await startReplica()
      const refused = await callAt(replica, 'DELETE', `/v1/keys/${String(minted.body.key_id)}`, await world.sign())
      await replica.stop()
      expect(refused).toMatchObject({ status: 403, body: { error: 'not_yours' } })
      expect(world.dg.liveKeys().map((key) => key.apiKeyId)).toContain(minted.body.key_id)
      // The broker that minted it remembers the earlier admin key's secret.
      expect(
        await world.call('DELETE', `/v1/keys/${String(minted.body.key_id)}`, { token: await world.sign() }),
      ).toMatchObject({ status: 200, body: { deleted: [minted.body.key_id] } })
    } finally {
      await close()
    }
  })
})
