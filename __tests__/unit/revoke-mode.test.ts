import type { ProjectKey } from '../../src/deepgram/client.ts'
import { InputError } from '../../src/shared/errors.ts'
import { KEY_CONCURRENCY, deepgramKeySource, keysTaggedWithAll } from '../../src/action/sources/deepgram.ts'
import { readRevokePlan } from '../../src/action/inputs/keys.ts'

const projectId = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}`

function fakeKeys(listed: ProjectKey[], full: Record<string, string[]> = {}) {
  const deleted: string[] = []
  const reads: string[] = []
  return {
    deleted,
    reads,
    api: {
      listKeys: async () => listed,
      getKey: async (_p: string, keyId: string): Promise<ProjectKey> => {
        reads.push(keyId)
        return { apiKeyId: keyId, comment: '', scopes: [], tags: full[keyId] ?? [] }
      },
      deleteKey: async (_p: string, keyId: string) => {
        if (keyId === id(9)) return 'already-gone' as const
        deleted.push(keyId)
        return 'deleted' as const
      },
    },
  }
}

const key = (n: number, tags?: string[]): ProjectKey => ({
  apiKeyId: id(n),
  comment: `key ${n}`,
  scopes: ['member'],
  tags,
})

describe('keysTaggedWithAll', () => {
  test('never selects a key that carries only some of the tags', async () => {
    const fake = fakeKeys([
      key(1, ['pr-42', 'preview']),
      key(2, ['pr-42']),
      key(3, ['preview', 'pr-42', 'x']),
      key(4, ['pr-420']),
    ])
    expect(await keysTaggedWithAll(['pr-42', 'preview'], projectId, fake.api)).toEqual({
      ids: [id(1), id(3)],
      keysRead: 0,
      unreadable: 0,
      created: expect.any(Map) as unknown,
    })
    expect(fake.reads).toEqual([])
  })

  test('reads a key alone when the listing does not show its tags', async () => {
    const fake = fakeKeys([key(1), key(2, ['pr-42'])], { [id(1)]: ['pr-42'] })
    expect(await keysTaggedWithAll(['pr-42'], projectId, fake.api)).toEqual({
      ids: [id(1), id(2)],
      keysRead: 1,
      unreadable: 0,
      created: expect.any(Map) as unknown,
    })
    expect(fake.reads).toEqual([id(1)])
  })
})

describe('reading and deleting many keys', () => {
  test('never has more than KEY_CONCURRENCY requests in flight, and keeps every result', async () => {
    const listed = Array.from({ length: 100 }, (_, i) => ({
      apiKeyId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      comment: '',
      scopes: [],
    }))
    let inFlight = 0
    let most = 0
    const track = async <T>(value: T): Promise<T> => {
      most = Math.max(most, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 1))
      inFlight--
      return value
    }
    const api = {
      createKeyOnce: () => Promise.reject(new Error('no create in revoke mode')),
      listKeys: async () => listed,
      getKey: (_p: string, keyId: string) =>
        track<ProjectKey>({ apiKeyId: keyId, comment: '', scopes: [], tags: ['ci'] }),
      deleteKey: () => track('deleted' as const),
    }
    const report = await deepgramKeySource(api, projectId, '').deleteTagged(['ci'])
    expect(report.revoked).toEqual(listed.map((k) => k.apiKeyId))
    expect(report.notes).toEqual(['Read 100 keys one by one to learn their tags.'])
    expect(most).toBe(KEY_CONCURRENCY)
  })

  test('leaves alone, and never reads, a listed key whose id is not a UUID', async () => {
    const fake = fakeKeys([key(1), { apiKeyId: '../../projects', comment: '', scopes: [] }], { [id(1)]: ['ci'] })
    expect(await keysTaggedWithAll(['ci'], projectId, fake.api)).toEqual({
      ids: [id(1)],
      keysRead: 1,
      unreadable: 1,
      created: expect.any(Map) as unknown,
    })
    expect(fake.reads).toEqual([id(1)])
  })
})

describe('readRevokePlan', () => {
  const inputs = (extra: Record<string, string>) => {
    const all: Record<string, string> = {
      'api-key': 'k',
      scopes: 'usage:write',
      'allow-key-management': 'false',
      expiration: '1h',
      revoke: 'auto',
      'secret-visibility': 'private',
      'secret-type': 'actions',
      ...extra,
    }
    return (name: string) => all[name] ?? ''
  }
  test('reads key ids, lower-cased and once each', () => {
    expect(readRevokePlan(inputs({ 'key-id': `${id(1).toUpperCase()}, ${id(1)}\n${id(2)}` })).keyIds).toEqual([
      id(1),
      id(2),
    ])
  })
  test.each([
    [{}, 'key-id'],
    [{ 'key-id': id(1), tags: 'a' }, 'key-id'],
    [{ 'key-id': 'nope' }, 'key-id'],
    [{ tags: 'a', comment: 'x' }, 'comment'],
    [{ tags: 'a', revoke: 'true' }, 'revoke'],
    [{ tags: 'a', 'secret-type': 'dependabot' }, 'secret-type'],
    [{ tags: 'a', 'allow-key-management': 'true' }, 'allow-key-management'],
  ])('refuses %p naming %s', (extra, input) => {
    expect(() => readRevokePlan(inputs(extra))).toThrow(InputError)
    try {
      readRevokePlan(inputs(extra))
    } catch (error) {
      expect((error as InputError).input).toBe(input)
    }
  })
})
