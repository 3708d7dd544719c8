// Deepgram that never answers, or trickles its answer: each waits out a real deadline of the main step.
// In the slow project: npm test and CI run it, npx jest does not.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { runStep, type StepRun } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks, theError } from '../helpers/action.ts'

let dg: DeepgramEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
})
afterEach(async () => {
  await dg.close()
})

/** Runs a step and measures its wall time. Only boundedness is asserted here; the bench measures. */
async function timed(run: Promise<StepRun>): Promise<{ run: StepRun; ms: number }> {
  const started = Date.now()
  return { run: await run, ms: Date.now() - started }
}

const post = (main: StepRun, inputs = deepgramInputs(dg)) => runStep('post', { inputs, state: main.state })

describe('bounded time', () => {
  test('a create that never answers: main fails within 35 s, clean-up included, and no key is left', async () => {
    dg.neverAnswer('create', 10)
    const { run: main, ms } = await timed(runStep('main', { inputs: deepgramInputs(dg) }))
    expect(ms).toBeLessThan(35_000)
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Deepgram could not be reached while creating the key after \d attempts: no complete answer within \d+ ms\. Check that the runner can reach 127\.0\.0\.1:\d+/,
    )
    const after = await post(main)
    expect(after.exitCode).toBe(0)
    expect(dg.keys).toEqual([])
    expectNoLeaks([main, after], allKeys(dg))
  }, 60_000)

  test.each([
    ['never answers', () => dg.commitThenHang()],
    ['trickles its answer a byte at a time', () => dg.commitThenTrickle(500)],
  ])(
    'a create that commits the key and then %s: the lost key is deleted by its marker, the retry succeeds',
    async (_, fault) => {
      fault()
      const { run: main, ms } = await timed(runStep('main', { inputs: deepgramInputs(dg) }))
      expect(ms).toBeLessThan(35_000)
      expect(main.exitCode).toBe(0)
      expect(dg.keys).toHaveLength(2)
      expect(dg.keys[0]?.deleted).toBe(true)
      expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([main.outputs['key-id']])
      const after = await post(main)
      expect(dg.liveKeys()).toEqual([])
      expectNoLeaks([main, after], allKeys(dg))
    },
    60_000,
  )
})
