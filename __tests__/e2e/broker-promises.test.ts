// Broker mode keeps every promise of direct mode: no orphan key after a lost, unusable or
// oversized answer, or a job cancelled while the broker mints; every step bounded, the ID token's
// request included; rotation of a secret's earlier keys (keep-previous) through the broker. The
// committed action and the committed broker run as processes, with a relay in front of the broker
// that spoils its answers on demand (harness/relay.ts): the key exists behind a broken answer.
import { readFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'
import { startBroker, type RunningBroker } from '../../harness/broker.ts'
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN, startGitHubEmulator, type GitHubEmulator } from '../../harness/github-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { startRelay, type Relay } from '../../harness/relay.ts'
import { runStep, runTimedStep, type StepOptions, type StepRun } from '../../harness/runner.ts'
import { ADMIN_KEY, allKeys, expectNoLeaks, theError, warningLines } from '../helpers/action.ts'

let issuer: OidcIssuer
let dg: DeepgramEmulator
let broker: RunningBroker
let relay: Relay
let gh: GitHubEmulator | undefined

beforeAll(async () => {
  issuer = await startOidcIssuer()
})
afterAll(() => issuer.close())
beforeEach(async () => {
  await issuer.setRunnerClaims({})
  await issuer.misbehave({})
  dg = await startDeepgramEmulator({})
  const policy = parse(readFileSync('examples/broker/policy.yml', 'utf8')) as Record<string, unknown>
  broker = await startBroker({
    adminKey: ADMIN_KEY,
    policy: stringify({ ...policy, issuers: [issuer.url] }),
    deepgramApiUrl: dg.url,
  })
  relay = await startRelay(broker.url)
})
afterEach(async () => {
  await Promise.all([relay.close(), broker.stop(), dg.close(), gh?.close()])
  gh = undefined
})

function step(inputs: Record<string, string> = {}, extra: Partial<StepOptions> = {}): StepOptions {
  return {
    inputs: {
      'broker-url': relay.url,
      'broker-audience': DEFAULT_AUDIENCE,
      scopes: 'usage:write',
      expiration: '30m',
      ...inputs,
    },
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: issuer.idTokenRequest.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.idTokenRequest.token,
    },
    ...extra,
  }
}

/** Every secret of the run, nowhere but in ::add-mask:: lines and the key output; nor in the broker's logs. */
function expectNothingLeaked(runs: StepRun[]): void {
  const idTokens = runs.flatMap((run) =>
    run.stdout
      .split('\n')
      .flatMap((line) => (line.startsWith('::add-mask::eyJ') ? [line.slice('::add-mask::'.length)] : [])),
  )
  const secrets = [...allKeys(dg), issuer.idTokenRequest.token, DEFAULT_GITHUB_TOKEN, ...idTokens]
  expectNoLeaks(runs, secrets)
  const logs = `${broker.stdout()}\n${broker.stderr()}`
  for (const secret of secrets) expect(logs).not.toContain(secret)
}

const post = (main: StepRun, inputs: Record<string, string> = {}) =>
  runStep('post', { ...step(inputs), state: main.state })

describe('no orphan key after a broken answer of the broker', () => {
  test('a lost answer: the key it hid is deleted through the broker by invocation, and the retry gives the one key', async () => {
    relay.spoilNext(/^POST \/v1\/keys$/, { kind: 'lose' })
    const main = await runStep('main', step())
    expect(main.exitCode).toBe(0)
    expect(dg.keys).toHaveLength(2)
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([main.outputs['key-id']])
    expect(main.stdout).toMatch(/Deleted key [0-9a-f-]{36}, created by an attempt whose answer was lost\./)
    const after = await post(main)
    expect(after.stdout).toContain(`Revoked key ${main.outputs['key-id']}.`)
    expect(dg.liveKeys()).toEqual([])
    expectNothingLeaked([main, after])
  })

  test.each<[string, Parameters<Relay['spoilNext']>[1], RegExp]>([
    ['not JSON', { kind: 'not-json' }, /the answer is not a JSON object/],
    [
      'over 1 MiB',
      { kind: 'oversized' },
      /the answer is over 1 MiB, the most this action reads, and was not read .*Check that broker-url points at/,
    ],
    [
      'a project_id that is not a UUID',
      { kind: 'rewrite', edit: (body) => ({ ...body, project_id: '../../projects' }) },
      /its project_id is not a UUID/,
    ],
    [
      'a key_id that is not a UUID',
      { kind: 'rewrite', edit: (body) => ({ ...body, key_id: 'k-1' }) },
      /its key_id is not a UUID/,
    ],
  ])('%s: one clear error, and the key is deleted through the broker before main ends', async (_, spoil, problem) => {
    relay.spoilNext(/^POST \/v1\/keys$/, spoil)
    const main = await runStep('main', step())
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(problem)
    expect(theError(main)).toContain('Any key it made was found by its marker and deleted; run the job again.')
    expect(dg.keys).toHaveLength(1)
    expect(dg.liveKeys()).toEqual([])
    expect(main.outputs).toEqual({ skipped: 'false' })
    const after = await post(main)
    expect(after.exitCode).toBe(0)
    expect(warningLines(after)).toEqual([])
    expectNothingLeaked([main, after])
  })

  test('a clean-up that fails too leaves the invocation to post, which deletes the key', async () => {
    relay.spoilNext(/^POST \/v1\/keys$/, { kind: 'not-json' })
    relay.spoilNext(/^DELETE \/v1\/keys\?invocation=/, { kind: 'refuse', status: 503 }, 10)
    const main = await runStep('main', step())
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Creating the key failed in a way that may have created it anyway, and deleting what it may have created failed too: .* The post step will look for it again/,
    )
    expect(dg.liveKeys()).toHaveLength(1)
    expect(main.state.invocation).toMatch(/^[0-9a-f]{16}$/)
    relay.forget()
    const after = await post(main)
    expect(after.exitCode).toBe(0)
    expect(after.stdout).toContain('created by this run although main never saw the answer.')
    expect(dg.liveKeys()).toEqual([])
    expectNothingLeaked([main, after])
  }, 60_000)
})

describe('a job cancelled while the broker mints', () => {
  test("SIGINT, SIGTERM, kill: main ends, and post deletes the invocation's key through the broker", async () => {
    dg.commitThenHang()
    const { run: main, wallMs } = await runTimedStep('main', step({}, { cancelAfterMs: 2_000 }))
    expect(wallMs).toBeLessThan(8_000) // before the runner's SIGTERM, 7.5 s after its SIGINT at 2 s
    expect(main.exitCode).not.toBe(0)
    expect(main.state).toEqual({
      source: 'broker',
      'broker-url': relay.url,
      'broker-audience': DEFAULT_AUDIENCE,
      invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
    })
    expect(theError(main)).toBe(
      'The job was cancelled while creating the key. The post step asks the broker to delete any key this run created.',
    )
    const after = await post(main)
    expect(after.exitCode).toBe(0)
    expect(dg.keys).toHaveLength(1)
    expect(dg.liveKeys()).toEqual([])
    expectNothingLeaked([main, after])
  }, 60_000)
})

describe('refusals name the claims the broker matched', () => {
  test('no rule: the error shows repository, ref and event, so the policy can be fixed', async () => {
    await issuer.setRunnerClaims({
      repository: 'octo-org/stranger',
      repository_id: '9999',
      ref: 'refs/heads/feature',
      event_name: 'push',
    })
    const main = await runStep('main', step())
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^The broker answered HTTP 403 no_rule while creating the key: .*repository octo-org\/stranger.*ref refs\/heads\/feature.*event_name push/,
    )
    expect(dg.keys).toEqual([])
  })
})

describe('keep-previous through the broker', () => {
  const secretInputs = (extra: Record<string, string> = {}) => ({
    'secret-name': 'DEEPGRAM_API_KEY',
    'secret-repositories': 'octo-org/app',
    'github-token': DEFAULT_GITHUB_TOKEN,
    'github-api-url': gh?.url ?? '',
    'keep-previous': '1',
    ...extra,
  })

  test("three rotations leave the newest two of this repository's keys; another repository's and a hand-made key stay", async () => {
    gh = await startGitHubEmulator({ repos: [{ owner: 'octo-org', name: 'app', id: 1001 }] })
    const byHand = dg.addKey({
      projectId: dg.keys[0]?.projectId ?? '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      comment: 'DEEPGRAM_API_KEY by hand',
      tags: [],
    })
    await issuer.setRunnerClaims({ repository: 'octo-org/eval', repository_id: '1005', environment: 'eval' })
    const elsewhere = await runStep('main', step(secretInputs({ 'keep-previous': 'all' })))
    expect(elsewhere.exitCode).toBe(0)
    await issuer.setRunnerClaims({})
    const runs: StepRun[] = []
    for (let i = 0; i < 3; i++) {
      const main = await runStep('main', step(secretInputs()))
      expect(main.exitCode).toBe(0)
      runs.push(main)
    }
    const [first, second, third] = runs.map((run) => run.outputs['key-id'])
    expect(runs[2]?.outputs['revoked-key-ids']).toBe(first)
    expect(runs[2]?.summary).toContain('Earlier keys of secret')
    const live = dg
      .liveKeys()
      .map((k) => k.apiKeyId)
      .sort()
    expect(live).toEqual([byHand.apiKeyId, elsewhere.outputs['key-id'], second, third].sort())
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, 'DEEPGRAM_API_KEY')?.value).toBe(
      dg.keys.find((k) => k.apiKeyId === third)?.key,
    )
    expectNothingLeaked([elsewhere, ...runs])
  }, 60_000)

  test('a failed delete of an earlier key is a warning, and main succeeds', async () => {
    gh = await startGitHubEmulator({ repos: [{ owner: 'octo-org', name: 'app', id: 1001 }] })
    const first = await runStep('main', step(secretInputs()))
    relay.spoilNext(/^DELETE \/v1\/keys\/[0-9a-f-]{36}$/, { kind: 'refuse', status: 500 }, 10)
    const second = await runStep('main', step(secretInputs({ 'keep-previous': '0' })))
    expect(second.exitCode).toBe(0)
    expect(warningLines(second).join('\n')).toContain(
      `Could not delete key ${first.outputs['key-id']}, an earlier key of secret DEEPGRAM_API_KEY`,
    )
    expect(
      dg
        .liveKeys()
        .map((k) => k.apiKeyId)
        .sort(),
    ).toEqual([first.outputs['key-id'], second.outputs['key-id']].sort())
    expectNothingLeaked([first, second])
  }, 60_000)
})
