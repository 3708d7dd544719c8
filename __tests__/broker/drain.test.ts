import { Drain } from '../../src/broker/http/drain.ts'

describe('Drain', () => {
  test('settles once every tracked request has ended, and cuts those still being read when it begins', async () => {
    const drain = new Drain()
    let finish = (): void => undefined
    drain.track(new Promise<void>((done) => (finish = done)))
    const cut = jest.fn()
    const read = jest.fn()
    drain.reading(cut)
    drain.reading(read)()
    drain.begin()
    expect(drain.draining).toBe(true)
    expect(cut).toHaveBeenCalledTimes(1)
    expect(read).not.toHaveBeenCalled()
    let settled = false
    const waiting = drain.settled().then(() => (settled = true))
    await Promise.resolve()
    expect(settled).toBe(false)
    finish()
    await waiting
    expect(settled).toBe(true)
  })

  test('a request that starts reading after the drain began is cut at once', () => {
    const drain = new Drain()
    drain.begin()
    const cut = jest.fn()
    drain.reading(cut)
    expect(cut).toHaveBeenCalledTimes(1)
  })
})
