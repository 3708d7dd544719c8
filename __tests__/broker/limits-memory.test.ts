import { MemoryStore } from '../../src/broker/limits/memory-store.ts'

describe('MemoryStore', () => {
  let now = 1_000_000
  const clock = (): number => now
  beforeEach(() => {
    now = 1_000_000
  })

  test('allows keys-per-minute keys per repository, then says when to come back', () => {
    const store = new MemoryStore(clock)
    expect([1, 2, 3].map(() => store.takeNow('keys', '1001', 3))).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: true },
    ])
    now += 20_000
    expect(store.takeNow('keys', '1001', 3)).toEqual({ allowed: false, retryAfterSeconds: 40 })
  })

  test('counts each repository, and each budget, on its own', async () => {
    const store = new MemoryStore(clock)
    expect(store.takeNow('keys', '1001', 1).allowed).toBe(true)
    expect(store.takeNow('keys', '1001', 1).allowed).toBe(false)
    expect(store.takeNow('keys', '2002', 1).allowed).toBe(true)
    expect(store.takeNow('deletes', '1001', 1).allowed).toBe(true)
    await expect(store.take('deletes', '1001', 1)).resolves.toEqual({ allowed: false, retryAfterSeconds: 60 })
  })

  test('a sliding minute: each key frees its slot 60 s after it was made', () => {
    const store = new MemoryStore(clock)
    store.takeNow('keys', '1001', 2)
    now += 30_000
    store.takeNow('keys', '1001', 2)
    now += 29_999
    expect(store.takeNow('keys', '1001', 2)).toEqual({ allowed: false, retryAfterSeconds: 1 })
    now += 1
    expect(store.takeNow('keys', '1001', 2).allowed).toBe(true)
    expect(store.takeNow('keys', '1001', 2)).toEqual({ allowed: false, retryAfterSeconds: 30 })
  })

  test('refusals do not use up the allowance', () => {
    const store = new MemoryStore(clock)
    store.takeNow('keys', '1001', 1)
    for (let i = 0; i < 10; i++) store.takeNow('keys', '1001', 1)
    now += 60_000
    expect(store.takeNow('keys', '1001', 1).allowed).toBe(true)
  })

  test('the limit of each call applies: a lower one refuses what a higher one admitted', () => {
    const store = new MemoryStore(clock)
    for (let i = 0; i < 3; i++) store.takeNow('keys', '1001', 5)
    expect(store.takeNow('keys', '1001', 2).allowed).toBe(false)
    expect(store.takeNow('keys', '1001', 5).allowed).toBe(true)
  })

  test('forgets idle repositories a few per call, never sweeping the whole map', () => {
    const store = new MemoryStore(clock)
    for (let i = 0; i < 50_000; i++) store.takeNow('keys', `idle-${i}`, 1)
    now += 60_000
    store.takeNow('keys', 'busy', 1)
    // Two idle ones forgotten, one busy one added: a call does a bounded amount of work.
    expect(store.size('keys')).toBe(50_000 - 2 + 1)
    expect(store.takeNow('keys', 'busy', 1).allowed).toBe(false)
    expect(store.size('keys')).toBe(50_000 - 4 + 1)
    expect(store.takeNow('keys', 'idle-49999', 1).allowed).toBe(true)
  })

  test('every idle repository is forgotten once calls keep coming', () => {
    const store = new MemoryStore(clock)
    for (let i = 0; i < 1_000; i++) store.takeNow('keys', `idle-${i}`, 1)
    now += 60_000
    for (let i = 0; i < 600; i++) store.takeNow('keys', `new-${i % 10}`, 1_000)
    expect(store.size('keys')).toBe(10)
  })

  test('a repository that keeps minting moves behind the idle ones and is not forgotten', () => {
    const store = new MemoryStore(clock)
    store.takeNow('keys', 'busy', 2)
    for (let i = 0; i < 100; i++) store.takeNow('keys', `idle-${i}`, 1)
    now += 59_000
    store.takeNow('keys', 'busy', 2)
    now += 1_000
    for (let i = 0; i < 60; i++) store.takeNow('keys', `other-${i}`, 1)
    // Its admission at 59 s is still counted: the idle ones were forgotten, not it.
    expect(store.takeNow('keys', 'busy', 1)).toEqual({ allowed: false, retryAfterSeconds: 59 })
  })

  test('holds at most maxIdentities repositories: the one admitted longest ago goes first', () => {
    const store = new MemoryStore(clock, 3)
    for (const repository of ['a', 'b', 'c', 'd']) store.takeNow('keys', repository, 1)
    expect(store.size('keys')).toBe(3)
    expect(store.takeNow('keys', 'd', 1).allowed).toBe(false)
    expect(store.takeNow('keys', 'a', 1).allowed).toBe(true)
  })
})
