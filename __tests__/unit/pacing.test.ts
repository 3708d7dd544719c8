import { fanOutAdvice, pacingAllowanceMs, PacingError, writePacer } from '../../src/github/pacing.ts'

/** A clock that only moves when the code under test sleeps. */
function fakeClock(start = 1_000_000) {
  let now = start
  const sleeps: number[] = []
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms)
      now += ms
    },
    advance: (ms: number) => (now += ms),
    sleeps,
  }
}

describe('pacing writes to GitHub’s limits on content creation', () => {
  test('80 writes start at once; the 81st waits for the first to leave the minute', async () => {
    const clock = fakeClock()
    const pacer = writePacer(clock, clock.now() + 120_000)
    await Promise.all(Array.from({ length: 80 }, () => pacer.acquire()))
    expect(clock.sleeps).toEqual([])
    clock.advance(5_000)
    await pacer.acquire()
    expect(clock.sleeps).toEqual([56_000])
  })

  test('writes asking at the same moment beyond the minute get successive slots', async () => {
    const clock = fakeClock()
    const pacer = writePacer(clock, clock.now() + 120_000, { perMinute: 2, perHour: 500 })
    await pacer.acquire()
    clock.advance(1_000)
    await pacer.acquire()
    clock.advance(1_000)
    const waits: number[] = []
    const sleep = clock.sleep
    clock.sleep = async (ms) => {
      waits.push(ms)
    }
    await Promise.all([pacer.acquire(), pacer.acquire()])
    clock.sleep = sleep
    expect(waits).toEqual([59_000, 60_000])
  })

  test('the hour limit holds when the minute would allow more', async () => {
    const clock = fakeClock()
    const pacer = writePacer(clock, clock.now() + 2 * 3_600_000, { perMinute: 80, perHour: 3 })
    for (let i = 0; i < 3; i++) {
      await pacer.acquire()
      clock.advance(60_000)
    }
    await pacer.acquire()
    expect(clock.sleeps).toEqual([3_600_000 + 1_000 - 180_000])
  })

  test('a slot after the deadline is refused at once, naming the wait and what to do', async () => {
    const clock = fakeClock()
    const pacer = writePacer(clock, clock.now() + 20_000)
    for (let i = 0; i < 80; i++) await pacer.acquire()
    const refused = pacer.acquire()
    await expect(refused).rejects.toBeInstanceOf(PacingError)
    await expect(refused).rejects.toThrow(
      /80 content-creating requests a minute and 500 an hour, so the next write could start only in 61 s/,
    )
    await expect(refused).rejects.toThrow(/one organization secret with secret-visibility: selected \(a single write\)/)
    expect(clock.sleeps).toEqual([])
  })

  test('a write asking after the deadline is refused as out of time, not as a wait', async () => {
    const clock = fakeClock()
    const pacer = writePacer(clock, clock.now() + 1_000)
    clock.advance(2_000)
    await expect(pacer.acquire()).rejects.toThrow(
      "not written: the step's time for secrets was up before this write could start.",
    )
  })

  test.each([
    [1, 0],
    [80, 0],
    [81, 61_000],
    [160, 61_000],
    [161, 122_000],
    [500, 366_000],
    [5000, 366_000],
  ])(
    '%p targets need %p ms more to keep to the minute limit (a second to spare on each), never more than an hour of writes allows',
    (targets, ms) => {
      expect(pacingAllowanceMs(targets)).toBe(ms)
    },
  )

  test('the summary advises one organization secret only beyond a minute of writes', () => {
    expect(fanOutAdvice(80)).toBeUndefined()
    expect(fanOutAdvice(100)).toMatch(
      /^100 targets are more than GitHub's 80 content-creating requests a minute, so the writes beyond each minute's 80 waited for the next minute\. /,
    )
    expect(fanOutAdvice(600)).toContain('and those beyond 500 an hour were not written.')
    expect(fanOutAdvice(100)).toContain(
      'One organization secret with secret-visibility: selected and secret-selected-repositories is a single write',
    )
  })
})
