// The usage report's own budget, waited out for real: a usage endpoint that never answers holds
// the post step for the report's 4 s at most, and the key is deleted within post's bound.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { runStep, runTimedStep } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks, warningLines } from '../helpers/action.ts'

let dg: DeepgramEmulator
afterEach(async () => {
  await dg.close()
})

/** Post ends within 20 s whatever the network does (docs/time-bounds.md). */
const POST_BOUND_MS = 20_000

test.each([
  ['auto', 0],
  ['true', 1],
])(
  'usage-report %s, a usage endpoint that never answers: the key is deleted, the step green, within the bound (%i warnings)',
  async (usageReport, warnings) => {
    dg = await startDeepgramEmulator({})
    const inputs = deepgramInputs(dg, { 'usage-report': String(usageReport) })
    const main = await runStep('main', { inputs })
    dg.neverAnswer('usage', 10)
    const { run: post, wallMs } = await runTimedStep('post', { inputs, state: main.state })
    expect(post.exitCode).toBe(0)
    expect(wallMs).toBeLessThan(POST_BOUND_MS)
    expect(dg.keys[0]?.deleted).toBe(true)
    expect(post.stdout).toContain(`Revoked key ${main.outputs['key-id']}.`)
    expect(post.stdout).toContain('Could not read the usage of key')
    expect(warningLines(post)).toHaveLength(Number(warnings))
    // The report gave up at its own deadline, and the delete came after it.
    const paths = dg.requests.map((r) => r.method)
    expect(paths.at(-1)).toBe('DELETE')
    expectNoLeaks([main, post], allKeys(dg))
  },
  60_000,
)
