// What the runner's own files and oversized answers do to a step: one clear error (or a warning
// for the summary), and no key left alive.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { runStep, type StepRun } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, errorLines, expectNoLeaks, theError, warningLines } from '../helpers/action.ts'

// Linux's /dev/full accepts opening and fails every write with ENOSPC: a full disk, on demand.
const FULL = '/dev/full'

let dg: DeepgramEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
})
afterEach(async () => {
  await dg.close()
})

function creates(): number {
  return dg.requests.filter((r) => r.method === 'POST').length
}

function post(main: StepRun, env: Record<string, string> = {}): Promise<StepRun> {
  return runStep('post', { inputs: deepgramInputs(dg), state: main.state, env })
}

describe('a runner file that cannot be written', () => {
  test('GITHUB_STATE on a full disk: one error naming the state file and what to do, and no key is created', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg), env: { GITHUB_STATE: FULL } })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Could not save [a-z-]+ for the post step: writing the runner's file GITHUB_STATE \(\/dev\/full\) failed with ENOSPC \(no space left on the device\)\. Free disk space on the runner .*, then run the job again\.$/,
    )
    expect(creates()).toBe(0)
    expect(dg.keys).toEqual([])
    expect(main.stderr).toBe('')
    expectNoLeaks([main], allKeys(dg))
  })

  test('GITHUB_OUTPUT on a full disk: one error naming the output file and what to do, and no key stays alive', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg), env: { GITHUB_OUTPUT: FULL } })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Could not write output [a-z-]+: writing the runner's file GITHUB_OUTPUT \(\/dev\/full\) failed with ENOSPC \(no space left on the device\)\. Free disk space on the runner .*, then run the job again\./,
    )
    // Whether the flow fails before the create or deletes the key it made, none is left alive.
    expect(dg.liveKeys()).toEqual([])
    const after = await post(main)
    expect(after.exitCode).toBe(0)
    expect(dg.liveKeys()).toEqual([])
    expectNoLeaks([main, after], allKeys(dg))
  })

  test('GITHUB_STEP_SUMMARY on a full disk: main hands out the key with one warning, and post revokes it with one warning', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg), env: { GITHUB_STEP_SUMMARY: FULL } })
    expect(main.exitCode).toBe(0)
    expect(errorLines(main)).toEqual([])
    const summaryWarning =
      "::warning::Could not write the job summary: writing the runner's file GITHUB_STEP_SUMMARY (/dev/full) failed with ENOSPC (no space left on the device). " +
      "Only the summary is missing: the step's work is not affected. Free disk space on the runner (the volume of its work directory is full)."
    expect(warningLines(main)).toEqual([summaryWarning])
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([main.outputs['key-id']])
    const after = await post(main, { GITHUB_STEP_SUMMARY: FULL })
    expect(after.exitCode).toBe(0)
    expect(errorLines(after)).toEqual([])
    expect(warningLines(after)).toEqual([summaryWarning])
    expect(after.stdout).toContain(`Revoked key ${main.outputs['key-id']}.`)
    expect(dg.liveKeys()).toEqual([])
    expectNoLeaks([main, after], allKeys(dg))
  })
})
