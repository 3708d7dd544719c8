// A job cancelled, the runner's way (SIGINT, SIGTERM 7.5 s later, then a kill), before GitHub
// confirmed every write of the key to its secrets, with revoke: auto. Post asks GitHub which
// targets hold the key (GET …/secrets/{name}, updated_at since the write's start): none, the key is
// deleted, in direct and in broker mode alike; some, it is kept and post names who holds it and
// who does not; GitHub cannot say, it is kept with one warning. The cancel comes once the emulator
// has seen the write, whatever the machine's speed. Slow: each cancel waits out the runner's 7.5 s.
import { readFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'
import { startBroker, type RunningBroker } from '../../harness/broker.ts'
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN, startGitHubEmulator, type GitHubEmulator } from '../../harness/github-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { runStep, runTimedStep, type StepOptions, type StepRun } from '../../harness/runner.ts'
import { ADMIN_KEY, allKeys, deepgramInputs, expectNoLeaks, warningLines } from '../helpers/action.ts'

let dg: DeepgramEmulator
let gh: GitHubEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
  gh = await startGitHubEmulator({})
})
afterEach(async () => {
  await Promise.all([dg.close(), gh.close()])
})

const SECRET = 'DEEPGRAM_API_KEY'
const PUT = /^PUT \/repos\/octo-org\/app\/actions\/secrets\/DEEPGRAM_API_KEY$/
const GET_SECRET = /^GET \/repos\/[^/]+\/[^/]+\/actions\/secrets\/DEEPGRAM_API_KEY$/

function secretInputs(extra: Record<string, string> = {}): Record<string, string> {
  return { 'secret-name': SECRET, 'github-token': DEFAULT_GITHUB_TOKEN, 'github-api-url': gh.url, ...extra }
}

/** Main cancelled once GitHub has seen every request in `when`, then post with main's state. */
async function cancelledJob(
  step: StepOptions,
  when: RegExp[],
): Promise<{ main: StepRun; post: StepRun; postMs: number }> {
  const main = await runStep('main', { ...step, cancelWhen: Promise.all(when.map((m) => gh.nextRequest(m))) })
  const { run: post, wallMs: postMs } = await runTimedStep('post', { ...step, state: main.state })
  return { main, post, postMs }
}

const secretQuestions = () => gh.requests.filter((r) => GET_SECRET.test(`${r.method} ${r.path}`))

describe('direct mode', () => {
  const step = (extra: Record<string, string> = {}): StepOptions => ({
    inputs: deepgramInputs(dg, secretInputs(extra)),
  })

  test("the only secret's write hangs: GitHub shows it was not written, and post deletes the key", async () => {
    gh.fail({ match: PUT, drop: 'hang' })
    const { main, post } = await cancelledJob(step(), [PUT])
    expect(main.exitCode).not.toBe(0)
    expect(main.state['ask-github']).toBe('true')
    expect(main.state['secret-write-0']).toMatch(/^started \d+$/)
    const [key] = dg.keys
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(
      `The job ended while writing secret ${SECRET}, and GitHub shows that no target holds key ${key?.apiKeyId} (not written: repository octo-org/app): deleting it (revoke: auto).`,
    )
    expect(post.stdout).toContain(`Revoked key ${key?.apiKeyId}.`)
    expect(dg.liveKeys()).toEqual([])
    expect(gh.secrets).toEqual([])
    expect(secretQuestions()).toHaveLength(1)
    expect(secretQuestions()[0]?.headers.authorization).toBe(`Bearer ${DEFAULT_GITHUB_TOKEN}`)
    expect(warningLines(post)).toEqual([])
    expectNoLeaks([main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  }, 60_000)

  test('two targets, the first written and the second hanging: the key is kept, and post names both', async () => {
    const API_PUT = /^PUT \/repos\/octo-org\/api\/actions\/secrets\/DEEPGRAM_API_KEY$/
    gh.fail({ match: API_PUT, drop: 'hang' })
    const { main, post } = await cancelledJob(step({ 'secret-repositories': 'octo-org/app, octo-org/api' }), [
      PUT,
      API_PUT,
    ])
    expect(main.exitCode).not.toBe(0)
    const [key] = dg.keys
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, SECRET)?.value).toBe(key?.key)
    expect(post.exitCode).toBe(0)
    const warnings = warningLines(post)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`Key ${key?.apiKeyId} is kept until it expires at`)
    expect(warnings[0]).toContain(`secret ${SECRET} holds it in repository octo-org/app,`)
    expect(warnings[0]).toContain('Not written: repository octo-org/api.')
    expect(warnings[0]).toContain('Run the job again to write them.')
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([key?.apiKeyId])
    expect(dg.requests.filter((r) => r.method === 'DELETE')).toEqual([])
    expectNoLeaks([main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  }, 60_000)

  test('a write GitHub processed whose answer was lost before the cancel: the secret holds the key, which is kept', async () => {
    gh.fail({ match: PUT, drop: 'lose' })
    const { main, post } = await cancelledJob(step(), [PUT])
    expect(main.exitCode).not.toBe(0)
    const [key] = dg.keys
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, SECRET)?.value).toBe(key?.key)
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(
      `Key ${key?.apiKeyId} is kept until it expires at ${main.state['expires-at']}: secret ${SECRET} holds it in repository octo-org/app.`,
    )
    expect(warningLines(post)).toEqual([])
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([key?.apiKeyId])
    expectNoLeaks([main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  }, 60_000)

  test.each([
    ['behind', 10 * 60_000],
    ['ahead', -10 * 60_000],
  ])(
    "a runner clock 10 minutes %s of GitHub's: a write GitHub processed still counts (main read GitHub's clock from Date)",
    async (_, skew) => {
      gh.setClockSkew(skew)
      gh.fail({ match: PUT, drop: 'lose' })
      const { main, post } = await cancelledJob(step(), [PUT])
      const [key] = dg.keys
      expect(post.stdout).toContain(
        `Key ${key?.apiKeyId} is kept until it expires at ${main.state['expires-at']}: secret ${SECRET} holds it in repository octo-org/app.`,
      )
      expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([key?.apiKeyId])
    },
    60_000,
  )

  test.each([
    [
      'answers 500',
      { status: 500 },
      'GitHub answered HTTP 500 while reading secret DEEPGRAM_API_KEY of repository octo-org/app',
    ],
    ['refuses the token (403)', { status: 403, message: 'Resource not accessible by integration' }, 'HTTP 403'],
    ['hangs', { drop: 'hang' as const }, 'GitHub could not be reached while reading secret DEEPGRAM_API_KEY'],
  ])(
    'GitHub %s on the question: the key is kept, one warning with why and the expiry, post within its bound',
    async (_, fault, why) => {
      gh.fail({ match: PUT, drop: 'hang' })
      gh.fail({ match: GET_SECRET, ...fault })
      const { main, post, postMs } = await cancelledJob(step(), [PUT])
      const [key] = dg.keys
      expect(post.exitCode).toBe(0)
      const warnings = warningLines(post)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`Key ${key?.apiKeyId} is kept until it expires at ${main.state['expires-at']}`)
      expect(warnings[0]).toContain('GitHub could not say which targets hold it: repository octo-org/app: ')
      expect(warnings[0]).toContain(why)
      expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([key?.apiKeyId])
      expect(secretQuestions()).toHaveLength(1)
      // Post ends within 20 s (docs/time-bounds.md); its questions to GitHub, within 7 s of its start.
      expect(postMs).toBeLessThan(20_000)
      expectNoLeaks([main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
    },
    60_000,
  )

  test('revoke: false: post keeps the key without asking GitHub, as the step asked', async () => {
    gh.fail({ match: PUT, drop: 'hang' })
    const { main, post } = await cancelledJob(step({ revoke: 'false' }), [PUT])
    expect(main.exitCode).not.toBe(0)
    const [key] = dg.keys
    expect(post.stdout).toContain(`Key ${key?.apiKeyId} is kept until it expires at ${main.state['expires-at']}`)
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([key?.apiKeyId])
    expect(secretQuestions()).toEqual([])
  }, 60_000)

  test('keep-previous: 0, the new write hangs: post deletes the new key, and the earlier key the secret still holds stays', async () => {
    const first = await runStep('main', step({ 'keep-previous': '0' }))
    expect(first.exitCode).toBe(0)
    // Every write ended: main's decision is final, and post would ask GitHub nothing.
    expect(first.state['ask-github']).toBe('')
    const earlier = first.outputs['key-id']
    // A rotation a week later, on GitHub's clock: the earlier write is not this run's. (Seconds
    // apart, GitHub's whole-second times could not tell the two writes apart, and post would keep
    // the new key, the safe way.) The runner's clock stays put: main learns the lead from `Date`.
    gh.setClockSkew(7 * 24 * 3600_000)
    gh.fail({ match: PUT, drop: 'hang' })
    const { main, post } = await cancelledJob(step({ 'keep-previous': '0' }), [PUT])
    expect(main.exitCode).not.toBe(0)
    const newer = dg.keys[1]?.apiKeyId
    expect(post.stdout).toContain(`Revoked key ${newer}.`)
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([earlier])
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, SECRET)?.value).toBe(dg.keys[0]?.key)
    expectNoLeaks([first, main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  }, 60_000)
})

describe('broker mode', () => {
  let issuer: OidcIssuer
  let broker: RunningBroker
  beforeAll(async () => {
    issuer = await startOidcIssuer()
  })
  afterAll(() => issuer.close())
  beforeEach(async () => {
    const policy = parse(readFileSync('examples/broker/policy.yml', 'utf8')) as Record<string, unknown>
    broker = await startBroker({
      adminKey: ADMIN_KEY,
      policy: stringify({ ...policy, issuers: [issuer.url] }),
      deepgramApiUrl: dg.url,
    })
  })
  afterEach(() => broker.stop())

  test("the only secret's write hangs: post deletes the key through the broker", async () => {
    gh.fail({ match: PUT, drop: 'hang' })
    const step: StepOptions = {
      inputs: {
        'broker-url': broker.url,
        'broker-audience': DEFAULT_AUDIENCE,
        scopes: 'usage:write',
        expiration: '30m',
        ...secretInputs(),
      },
      env: {
        ACTIONS_ID_TOKEN_REQUEST_URL: issuer.idTokenRequest.url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.idTokenRequest.token,
      },
    }
    const { main, post } = await cancelledJob(step, [PUT])
    expect(main.exitCode).not.toBe(0)
    const [key] = dg.keys
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(`GitHub shows that no target holds key ${key?.apiKeyId}`)
    expect(post.stdout).toContain(`Revoked key ${key?.apiKeyId}.`)
    expect(dg.liveKeys()).toEqual([])
    const idTokens = [main, post].flatMap((run) =>
      run.stdout.split('\n').flatMap((l) => (l.startsWith('::add-mask::eyJ') ? [l.slice('::add-mask::'.length)] : [])),
    )
    const secrets = [...allKeys(dg), DEFAULT_GITHUB_TOKEN, issuer.idTokenRequest.token, ...idTokens]
    expectNoLeaks([main, post], secrets)
    for (const secret of secrets) expect(`${broker.stdout()}\n${broker.stderr()}`).not.toContain(secret)
  }, 60_000)
})
