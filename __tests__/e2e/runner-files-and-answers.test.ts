// What the runner's own files and oversized answers do to a step: one clear error (or a warning
// for the summary), and no key left alive.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN, startGitHubEmulator } from '../../harness/github-emulator.ts'
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

describe('an answer over 1 MiB names the service, the status and what to do', () => {
  const OVER_1_MIB = 'x'.repeat(1024 * 1024 + 1)

  test("Deepgram's create: the key it may have made is found by its marker and deleted", async () => {
    dg.commitThenAnswer(200, (answer) => ({ ...answer, padding: OVER_1_MIB }))
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      new RegExp(
        '^Deepgram answered HTTP 200 while creating the key, but the answer is over 1 MiB, the most this action reads, and was not read \\(request id [0-9a-f-]{36}\\)\\. ' +
          "Check that deepgram-api-url points at Deepgram's API, and that no proxy answers in its place\\. Any key it made was found by its marker and deleted; run the job again\\.$",
      ),
    )
    expect(dg.requests.slice(0, 3).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 200', 'GET 200', 'DELETE 200'])
    expect(dg.keys).toHaveLength(1)
    expect(dg.liveKeys()).toEqual([])
    expect(main.outputs).toEqual({ skipped: 'false' })
    const after = await post(main)
    expect(after.exitCode).toBe(0)
    expectNoLeaks([main, after], allKeys(dg))
  })

  test("GitHub's public key: the error names GitHub, the status and github-api-url, and no key stays alive", async () => {
    const gh = await startGitHubEmulator({})
    try {
      gh.fail({ match: /public-key$/, status: 200, message: OVER_1_MIB, times: Infinity })
      const inputs = deepgramInputs(dg, {
        'secret-name': 'DEEPGRAM_API_KEY',
        'github-token': DEFAULT_GITHUB_TOKEN,
        'github-api-url': gh.url,
      })
      const main = await runStep('main', { inputs })
      expect(main.exitCode).toBe(1)
      expect(theError(main)).toMatch(
        new RegExp(
          'GitHub answered HTTP 200 while reading the public key of repository octo-org/app, but the answer is over 1 MiB, the most this action reads, and was not read \\(request id [^)]+\\)\\. ' +
            "Check that github-api-url points at GitHub's API, and that no proxy answers in its place\\.",
        ),
      )
      // Not retried: the same answer would come again.
      expect(gh.requests.filter((r) => r.path.endsWith('public-key'))).toHaveLength(1)
      expect(gh.secrets).toEqual([])
      expect(dg.liveKeys()).toEqual([])
      expectNoLeaks([main], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
    } finally {
      await gh.close()
    }
  })
})

describe('the job summary shows hostile names as text', () => {
  // GitHub documents an environment name's length (at most 255 characters) and uniqueness, not its
  // characters; the action passes the name on as given, so a pipe and HTML reach the summary.
  const ENVIRONMENT = 'a|b<img src=x onerror=alert(1)>'

  test('an environment secret whose environment name has a pipe and HTML: one row of two cells, the name escaped', async () => {
    const gh = await startGitHubEmulator({
      repos: [{ owner: 'octo-org', name: 'app', id: 1001, environments: [ENVIRONMENT] }],
    })
    try {
      const inputs = deepgramInputs(dg, {
        'secret-name': 'DEEPGRAM_API_KEY',
        'secret-environment': ENVIRONMENT,
        'github-token': DEFAULT_GITHUB_TOKEN,
        'github-api-url': gh.url,
      })
      const main = await runStep('main', { inputs })
      expect(main.exitCode).toBe(0)
      expect(
        gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app', environment: ENVIRONMENT }, 'DEEPGRAM_API_KEY')
          ?.value,
      ).toBe(dg.keys[0]?.key)
      const rows = main.summary.split('\n').filter((line) => line.includes('environment'))
      expect(rows).toEqual(['| octo-org/app environment a\\|b\\<img src=x onerror=alert(1)\\> | created |'])
      expect(main.summary).not.toMatch(/(^|[^\\])</m) // every < escaped: no HTML
      expectNoLeaks([main], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
    } finally {
      await gh.close()
    }
  })
})
