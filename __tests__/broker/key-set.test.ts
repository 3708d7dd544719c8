import { KeySetCache } from '../../src/broker/oidc/key-set.ts'

function counter(): { load: () => Promise<number>; loads: () => number; failNext: () => void } {
  let loads = 0
  let fail = false
  return {
    load: async () => {
      loads++
      if (fail) {
        fail = false
        throw new Error('issuer down')
      }
      return loads
    },
    loads: () => loads,
    failNext: () => {
      fail = true
    },
  }
}

describe('KeySetCache', () => {
  let now = 0
  const clock = (): number => now
  const timing = { maxAgeMs: 600_000, cooldownMs: 60_000 }
  beforeEach(() => {
    now = 0
  })

  test('fetches once and serves the cached set until it is too old', async () => {
    const source = counter()
    const cache = new KeySetCache(source.load, clock, timing)
    expect(await cache.current()).toBe(1)
    now += 599_999
    expect(await cache.current()).toBe(1)
    now += 1
    expect(await cache.current()).toBe(2)
  })

  test('an unknown kid fetches again, but at most once per cooldown', async () => {
    const source = counter()
    const cache = new KeySetCache(source.load, clock, timing)
    await cache.current()
    now += 10_000
    expect(await cache.refreshed()).toBeUndefined()
    now += 50_000
    expect(await cache.refreshed()).toBe(2)
    expect(await cache.refreshed()).toBeUndefined()
    expect(await cache.current()).toBe(2)
    expect(source.loads()).toBe(2)
  })

  test('concurrent callers share one fetch', async () => {
    const source = counter()
    const cache = new KeySetCache(source.load, clock, timing)
    expect(await Promise.all([cache.current(), cache.current(), cache.refreshed()])).toEqual([1, 1, 1])
    expect(source.loads()).toBe(1)
  })

  test('a failed fetch keeps the set held, and a first one that fails is tried again', async () => {
    const source = counter()
    const cache = new KeySetCache(source.load, clock, timing)
    source.failNext()
    await expect(cache.current()).rejects.toThrow('issuer down')
    expect(await cache.current()).toBe(2)
    now += 600_000
    source.failNext()
    expect(await cache.current()).toBe(2)
    expect(await cache.current()).toBe(2)
    expect(source.loads()).toBe(3)
  })
})
