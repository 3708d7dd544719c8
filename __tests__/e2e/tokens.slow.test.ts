// A grant that never answers waits out main's real deadline.
// In the slow project: npm test and CI run it, npx jest does not.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { findLeaks, runStep, type StepRun } from '../../harness/runner.ts'
import { ADMIN_KEY, expectNoJwtShown, theError } from '../helpers/action.ts'

let dg: DeepgramEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
})
afterEach(async () => {
  await dg.close()
})

/** A token step: the admin key and the emulator; no project-id, which a grant does not use. */
function tokenInputs(extra: Record<string, string> = {}): Record<string, string> {
  return { 'api-key': ADMIN_KEY, 'deepgram-api-url': dg.url, credential: 'token', ...extra }
}

const grants = () => dg.requests.filter((r) => r.method === 'POST' && r.path === '/v1/auth/grant')

/**
 * The admin key and every token granted appear nowhere but in ::add-mask:: lines and the
 * access-token output; nothing shaped like a JWT does either, and there is no stack trace.
 */
function expectNothingLeaked(runs: StepRun[]): void {
  const secrets = [ADMIN_KEY, ...dg.tokens.map((t) => t.accessToken)]
  for (const run of runs) {
    expect(findLeaks(run, secrets, ['access-token'])).toEqual([])
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/)
  }
  expectNoJwtShown(runs)
}

describe("Deepgram's answers to a grant", () => {
  test("a grant that never answers is retried, and a grant that never answers at all fails within main's bound", async () => {
    dg.neverAnswer('grant')
    const once = await runStep('main', { inputs: tokenInputs({ expiration: '5m' }) })
    expect(once.exitCode).toBe(0)
    expect(grants().map((r) => r.status)).toEqual([0, 200])
    dg.neverAnswer('grant', 10)
    const started = Date.now()
    const never = await runStep('main', { inputs: tokenInputs({ expiration: '5m' }) })
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(never.exitCode).toBe(1)
    expect(theError(never)).toMatch(
      /^Deepgram could not be reached while granting a temporary token after \d attempts?: /,
    )
    expectNothingLeaked([once, never])
  }, 60_000)
})
