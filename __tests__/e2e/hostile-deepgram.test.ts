// Issue 7: a hostile network and a misbehaving Deepgram. Each step still ends in bounded time,
// leaves no live key behind, and never touches a key another run made.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { runJob, runStep, type CancelSignal, type StepRun } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks, PROJECT_ID, theError, warningLines } from '../helpers/action.ts'

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
const requests = () => dg.requests.map((r) => `${r.method} ${r.status}`)

describe('ownership', () => {
  test("another run's live key with the same comment, and a key made by hand, are never touched", async () => {
    const otherRun = dg.addKey({ projectId: PROJECT_ID, comment: 'shared [dgk:fedcba9876543210]' })
    const byHand = dg.addKey({ projectId: PROJECT_ID, comment: 'shared' })
    dg.commitThenFail(503)
    const { main, post: after } = await runJob({
      inputs: deepgramInputs(dg, { comment: 'shared', 'usage-report': 'false' }),
    })
    expect(main.exitCode).toBe(0)
    expect(requests()).toEqual(['POST 503', 'GET 200', 'DELETE 200', 'POST 200', 'DELETE 200'])
    expect(
      dg
        .liveKeys()
        .map((k) => k.apiKeyId)
        .sort(),
    ).toEqual([otherRun.apiKeyId, byHand.apiKeyId].sort())
    expectNoLeaks([main, after], allKeys(dg))
  })
})

describe('cancellation while the create is in flight', () => {
  test.each<[CancelSignal, number]>([
    ['SIGINT', 1],
    ['SIGTERM', 1],
    ['SIGKILL', 0],
  ])(
    '%s: main ends at once, and post deletes the key by the marker it saved first',
    async (signal, errors) => {
      dg.commitThenHang()
      const { run: main, ms } = await timed(
        runStep('main', { inputs: deepgramInputs(dg), cancelAfterMs: 2_000, cancelSignal: signal }),
      )
      expect(ms).toBeLessThan(8_000) // before the runner's SIGTERM, 7.5 s after its SIGINT at 2 s
      expect(dg.keys).toHaveLength(1)
      expect(dg.liveKeys()).toHaveLength(1)
      expect(main.exitCode).not.toBe(0)
      expect(main.state).toEqual({
        source: 'deepgram',
        'project-id': PROJECT_ID,
        invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
      })
      if (errors === 1)
        expect(theError(main)).toBe(
          'The job was cancelled while creating the key. The post step deletes any key this run created.',
        )
      else expect(main.stdout).not.toContain('::error::')
      const after = await post(main)
      expect(after.exitCode).toBe(0)
      expect(after.stdout).toContain(
        `Revoked key ${dg.keys[0]?.apiKeyId}, created by this run although main never saw the answer.`,
      )
      expect(dg.liveKeys()).toEqual([])
      expectNoLeaks([main, after], allKeys(dg))
    },
    30_000,
  )
})

describe('2xx create answers that are not keys', () => {
  test.each<[string, (answer: Record<string, unknown>) => unknown, string]>([
    ['not JSON', () => '<html>Service temporarily unavailable</html>', 'the answer is not a JSON object'],
    ['no key', ({ key: _, ...rest }) => rest, 'the answer carries no key'],
    ['no api_key_id', ({ api_key_id: _, ...rest }) => rest, 'the answer carries no api_key_id'],
  ])('%s: the key is found by its marker and deleted, and the step fails once, clearly', async (_, body, problem) => {
    dg.commitThenAnswer(200, body)
    const { main, post: after } = await runJob({ inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      new RegExp(
        `^Deepgram answered HTTP 200 while creating the key, but ${problem.replace(/[()]/g, '\\$&')} \\(request id [0-9a-f-]{36}\\)\\. Any key it made was found by its marker and deleted; run the job again\\.$`,
      ),
    )
    expect(requests().slice(0, 3)).toEqual(['POST 200', 'GET 200', 'DELETE 200'])
    expect(dg.keys).toHaveLength(1)
    expect(dg.liveKeys()).toEqual([])
    expect(main.outputs).toEqual({ skipped: 'false' })
    expect(after.exitCode).toBe(0)
    expectNoLeaks([main, after], allKeys(dg))
  })
})

describe("Deepgram's clock decides expiry, not the runner's", () => {
  test.each([
    ['ahead', '1h', 10],
    ['ahead', '5m', 10],
    ['behind', '1h', -10],
    ['behind', '5m', -10],
  ])(
    'a Deepgram clock 10 min %s, a %s key: main keeps the key, post revokes it',
    async (_, expiration, skewMinutes) => {
      dg.setClockSkew(skewMinutes * 60_000)
      const main = await runStep('main', { inputs: deepgramInputs(dg, { expiration }) })
      expect(main.exitCode).toBe(0)
      expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([main.outputs['key-id']])
      expect(main.outputs['expires-at']).toBe(new Date(Date.parse(dg.keys[0]?.expirationDate ?? '')).toISOString())
      const after = await post(main)
      expect(after.stdout).toContain(`Revoked key ${main.outputs['key-id']}.`)
      expect(dg.liveKeys()).toEqual([])
      expectNoLeaks([main, after], allKeys(dg))
    },
  )
})

describe('a DELETE is done only when Deepgram says so', () => {
  test('a 200 with an error body is a failed revocation: post warns, and the key is not reported revoked', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    dg.fail({
      route: 'delete',
      status: 200,
      body: { err_code: 'INTERNAL_SERVER_ERROR', err_msg: 'The key could not be deleted.', request_id: 'req-del' },
    })
    const after = await post(main)
    expect(after.exitCode).toBe(0)
    expect(warningLines(after)).toHaveLength(1)
    expect(warningLines(after)[0]).toContain(
      `Could not revoke key ${main.outputs['key-id']}: Deepgram answered HTTP 200 INTERNAL_SERVER_ERROR while deleting key`,
    )
    expect(after.stdout).not.toContain('Revoked key')
    expect(dg.liveKeys()).toHaveLength(1)
    expectNoLeaks([main, after], allKeys(dg))
  })
})

describe('scale', () => {
  test('revoke by tags among 400 keys at 100 ms per request: every key read once, 20 at a time', async () => {
    await dg.close()
    dg = await startDeepgramEmulator({ listOmitsTags: true, latencyMs: 100 })
    for (let i = 0; i < 400; i++)
      dg.addKey({ projectId: PROJECT_ID, comment: `key ${i}`, tags: i % 2 === 0 ? ['ci'] : ['other'] })
    const { run: main, ms } = await timed(
      runStep('main', { inputs: deepgramInputs(dg, { mode: 'revoke', tags: 'ci' }) }),
    )
    expect(main.exitCode).toBe(0)
    expect(main.outputs['revoked-count']).toBe('200')
    expect(main.stdout).toContain('Read 400 keys one by one to learn their tags.')
    // The listing and the 400 reads, the usage report's usage and cost (all keys made today), and
    // the listing of the delete, which knows the tags read already.
    expect(dg.requests.filter((r) => r.method === 'GET')).toHaveLength(404)
    expect(dg.liveKeys()).toHaveLength(200)
    expect(ms).toBeLessThan(25_000)
    expectNoLeaks([main], allKeys(dg))
  }, 60_000)
})
