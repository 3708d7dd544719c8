// The committed action in broker mode against the committed broker (dist/broker/index.js, run as
// its own process with the example policy, the local issuer swapped in), the local OIDC issuer
// and its runner ID-token endpoint, and the Deepgram and GitHub emulators.
import { readFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'
import { startBroker, type RunningBroker } from '../../harness/broker.ts'
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN, startGitHubEmulator, type GitHubEmulator } from '../../harness/github-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { runJob, runStep, type StepOptions, type StepRun } from '../../harness/runner.ts'
import { silentWav } from '../../harness/deepgram-usage.ts'
import { ADMIN_KEY, allKeys, expectNoJwtShown, expectNoLeaks, JWT, theError, warningLines } from '../helpers/action.ts'

let issuer: OidcIssuer
let dg: DeepgramEmulator
let broker: RunningBroker
let gh: GitHubEmulator | undefined

/** examples/broker/policy.yml as shipped, trusting the local issuer instead of GitHub's. */
function examplePolicy(issuerUrl: string): string {
  const policy = parse(readFileSync('examples/broker/policy.yml', 'utf8')) as Record<string, unknown>
  return stringify({ ...policy, issuers: [issuerUrl] })
}

beforeAll(async () => {
  issuer = await startOidcIssuer()
})
afterAll(() => issuer.close())
beforeEach(async () => {
  await issuer.setRunnerClaims({})
  askedBefore = await idTokensAskedInAll()
  dg = await startDeepgramEmulator({})
  broker = await startBroker({ adminKey: ADMIN_KEY, policy: examplePolicy(issuer.url), deepgramApiUrl: dg.url })
})
afterEach(async () => {
  await Promise.all([broker.stop(), dg.close(), gh?.close()])
  gh = undefined
})

/** What the runner gives a job with permissions: id-token: write. */
function idTokenEnv(): Record<string, string> {
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: issuer.idTokenRequest.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.idTokenRequest.token,
  }
}

function step(inputs: Record<string, string> = {}, env: Record<string, string> = idTokenEnv()): StepOptions {
  return {
    inputs: {
      'broker-url': broker.url,
      'broker-audience': DEFAULT_AUDIENCE,
      scopes: 'usage:write',
      expiration: '30m',
      ...inputs,
    },
    env,
  }
}

/** The ID tokens a step registered with ::add-mask:: (the runner's answers to its requests). */
function idTokensOf(run: StepRun): string[] {
  return run.stdout
    .split('\n')
    .flatMap((line) => (line.startsWith('::add-mask::eyJ') ? [line.slice('::add-mask::'.length)] : []))
}

/**
 * The leak scan: the admin key, every key minted, the runner's request token, the GitHub token
 * and every ID token, nowhere in the steps' transcripts, files and outputs (the key output
 * excepted), nor in the broker's output; and nothing shaped like a JWT outside ::add-mask::.
 */
function expectNothingLeaked(runs: StepRun[]): void {
  const tokens = runs.flatMap(idTokensOf)
  const secrets = [...allKeys(dg), issuer.idTokenRequest.token, DEFAULT_GITHUB_TOKEN, ...tokens]
  expectNoLeaks(runs, secrets)
  expectNoJwtShown(runs)
  const [stdout, stderr] = [broker.stdout(), broker.stderr()]
  for (const secret of secrets) expect(`${stdout}\n${stderr}`).not.toContain(secret)
  expect(`${stdout}\n${stderr}`).not.toMatch(JWT)
}

async function idTokensAskedInAll(): Promise<number> {
  return (await issuer.requests()).filter((r) => r.path === '/_apis/id-token').length
}

/** ID tokens the runner's endpoint was asked for since the test began (the issuer outlives tests). */
let askedBefore = 0
async function idTokenRequests(): Promise<number> {
  return (await idTokensAskedInAll()) - askedBefore
}

describe('the action in broker mode', () => {
  test('main gets a key from the broker; post revokes it through the broker with a fresh token', async () => {
    const { main, post } = await runJob(step({ tags: 'pr-7' }))
    expect(main.exitCode).toBe(0)
    const [key] = dg.keys
    if (!key) throw new Error(`no key was minted:\n${main.stdout}\n${main.stderr}`)
    expect(main.outputs).toEqual({
      skipped: 'false',
      key: key.key,
      'key-id': key.apiKeyId,
      'project-id': key.projectId,
      'expires-at': new Date(Date.parse(key.expirationDate ?? '')).toISOString(),
    })
    expect(key.scopes).toEqual(['usage:write'])
    expect(key.tags).toEqual(expect.arrayContaining(['ci', 'pr-7']))
    expect(Date.parse(key.expirationDate ?? '') - Date.now()).toBeLessThanOrEqual(30 * 60_000)
    // Post finds the broker in the state, never a token.
    expect(main.state).toEqual({
      source: 'broker',
      'broker-url': broker.url,
      'broker-audience': DEFAULT_AUDIENCE,
      invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
      'key-id': key.apiKeyId,
      'expires-at': main.outputs['expires-at'],
      revoke: 'true',
      'kept-because': '',
      'key-created': key.created,
      'key-tags': key.tags.join(','),
    })
    expect(main.stdout).toContain(`Created key ${key.apiKeyId} in project ${key.projectId}: scopes usage:write`)

    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(`Revoked key ${key.apiKeyId}.`)
    expect(warningLines(post)).toEqual([])
    expect(dg.liveKeys()).toEqual([])
    const [mainToken] = idTokensOf(main)
    const [postToken] = idTokensOf(post)
    expect(postToken).toBeDefined()
    expect(postToken).not.toBe(mainToken)
    expect(await idTokenRequests()).toBe(2)
    expectNothingLeaked([main, post])
  })

  test('revoke mode deletes a key by id, through the broker', async () => {
    const main = await runStep('main', step({ revoke: 'false' }))
    const keyId = main.outputs['key-id'] ?? ''
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([keyId])
    const revoke = await runStep('main', step({ mode: 'revoke', 'key-id': keyId, scopes: '', expiration: '' }))
    expect(revoke.exitCode).toBe(0)
    expect(revoke.outputs).toMatchObject({ skipped: 'false', 'revoked-count': '1', 'revoked-key-ids': keyId })
    expect(dg.liveKeys()).toEqual([])
    expectNothingLeaked([main, revoke])
  })

  test('revoke mode by tags deletes every key of this repository with all the tags, and no other', async () => {
    const tagged = [
      await runStep('main', step({ revoke: 'false', tags: 'pr-7' })),
      await runStep('main', step({ revoke: 'false', tags: 'pr-7, e2e' })),
    ]
    const other = await runStep('main', step({ revoke: 'false', tags: 'pr-8' }))
    const revoke = await runStep('main', step({ mode: 'revoke', tags: 'pr-7', scopes: '', expiration: '' }))
    expect(revoke.exitCode).toBe(0)
    expect(revoke.outputs['revoked-count']).toBe('2')
    expect((revoke.outputs['revoked-key-ids'] ?? '').split(',').sort()).toEqual(
      tagged.map((run) => run.outputs['key-id']).sort(),
    )
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([other.outputs['key-id']])
    expectNothingLeaked([...tagged, other, revoke])
  })

  test("a refusal of the broker is one ::error:: with its status and message: no rule, another repository's key", async () => {
    await issuer.setRunnerClaims({ repository: 'octo-org/stranger', repository_id: '9999' })
    const refused = await runStep('main', step())
    expect(refused.exitCode).toBe(1)
    expect(theError(refused)).toMatch(
      /^The broker answered HTTP 403 \S+ while creating the key: .+\. Ask fewer scopes or a shorter expiration than the matching rule allows, or ask the broker's operators for a rule/,
    )
    expect(dg.keys).toEqual([])

    await issuer.setRunnerClaims({ repository: 'octo-org/eval', repository_id: '1005', environment: 'eval' })
    const evalKey = await runStep('main', step({ revoke: 'false' }))
    expect(evalKey.exitCode).toBe(0)
    await issuer.setRunnerClaims({})
    const foreign = await runStep(
      'main',
      step({ mode: 'revoke', 'key-id': evalKey.outputs['key-id'] ?? '', scopes: '', expiration: '' }),
    )
    expect(foreign.exitCode).toBe(1)
    expect(theError(foreign)).toMatch(
      /^The broker answered HTTP 403 \S+ while deleting key [0-9a-f-]{36}: .+The broker deletes only keys it minted for this repository, for a token one of its rules matches/,
    )
    expect(dg.liveKeys()).toHaveLength(1)
    expectNothingLeaked([refused, evalKey, foreign])
  })

  test('a scope beyond the rule is refused by the broker, naming it', async () => {
    const main = await runStep('main', step({ scopes: 'usage:write, usage:read' }))
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(/^The broker answered HTTP 403 .*usage:read/)
    expect(dg.keys).toEqual([])
  })

  test('without ACTIONS_ID_TOKEN_REQUEST_URL the one error names id-token: write, and nothing is sent', async () => {
    const { main, post } = await runJob(step({}, {}))
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toContain(
      'ACTIONS_ID_TOKEN_REQUEST_URL is not set, because the job lacks the permission id-token: write.',
    )
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('nothing to revoke')
    expect(await idTokenRequests()).toBe(0)
    expect(dg.requests).toEqual([])
    expectNothingLeaked([main, post])
  })

  test('without ACTIONS_ID_TOKEN_REQUEST_URL and with on-missing-credentials: skip, the step is skipped with a notice', async () => {
    const main = await runStep('main', step({ 'on-missing-credentials': 'skip' }, {}))
    expect(main.exitCode).toBe(0)
    expect(main.outputs).toEqual({ skipped: 'true' })
    expect(main.stdout).toMatch(/^::notice::Skipped: This job has no GitHub ID token/m)
    expect(dg.requests).toEqual([])
  })

  test("a wrong request token is refused by the runner's endpoint: one ::error::, nothing minted", async () => {
    const main = await runStep(
      'main',
      step({}, { ...idTokenEnv(), ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'not-the-runner-token' }),
    )
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(/^Getting this job's ID token from the runner failed: .*401/)
    expect(dg.requests).toEqual([])
  })

  test('bad broker-mode inputs are refused before any request', async () => {
    const withKey = await runStep('main', step({ 'api-key': ADMIN_KEY }))
    expect(theError(withKey)).toMatch(/^Input api-key: must be empty with broker-url/)
    const plainHttp = await runStep('main', step({ 'broker-url': 'http://broker.example.com' }))
    expect(theError(plainHttp)).toMatch(/^Input broker-url: 'http:\/\/broker\.example\.com' is plain http/)
    expect(await idTokenRequests()).toBe(0)
    expectNothingLeaked([withKey, plainHttp])
  })

  test('the key from the broker is written as a secret; auto then keeps it', async () => {
    gh = await startGitHubEmulator({})
    const { main, post } = await runJob(
      step({ 'secret-name': 'DEEPGRAM_API_KEY', 'github-token': DEFAULT_GITHUB_TOKEN, 'github-api-url': gh.url }),
    )
    expect(main.exitCode).toBe(0)
    const [key] = dg.keys
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, 'DEEPGRAM_API_KEY')?.value).toBe(key?.key)
    expect(main.state.revoke).toBe('false')
    expect(main.summary).toMatch(/\| repository octo-org\/app \| created \|/)
    expect(post.stdout).toContain('is kept until it expires')
    expect(dg.liveKeys()).toHaveLength(1)
    expectNothingLeaked([main, post])
  })
})

describe('usage through the broker', () => {
  async function transcribe(key: string, seconds: number): Promise<void> {
    const answer = await fetch(`${dg.url}/v1/listen`, {
      method: 'POST',
      headers: { authorization: `Token ${key}`, 'content-type': 'audio/wav' },
      body: silentWav(seconds),
    })
    expect(answer.status).toBe(200)
  }

  /** The broker's audit lines for its usage routes. */
  function usageAudits(): Record<string, unknown>[] {
    return broker
      .stdout()
      .split('\n')
      .flatMap((line) => (line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : []))
      .filter((line) => /^GET \/v1\/(keys\/[^/]+\/)?usage/.test(String(line['request'])))
  }

  test('post reports what the key used, asking the broker, before it deletes the key', async () => {
    const main = await runStep('main', step({ tags: 'pr-7' }))
    const keyId = main.outputs['key-id'] ?? ''
    await transcribe(main.outputs['key'] ?? '', 2)
    await transcribe(main.outputs['key'] ?? '', 3)
    const post = await runStep('post', { ...step({ tags: 'pr-7' }), state: main.state })
    expect(post.exitCode).toBe(0)
    expect(post.summary).toContain(`| \`${keyId}\` | 2 | 5 s | unknown (needs billing:read) |`)
    expect(post.summary).toContain("the project's Usage page in the Deepgram console later, filtered by key")
    expect(warningLines(post)).toEqual([])
    expect(dg.liveKeys()).toEqual([])
    expect(usageAudits()).toEqual([
      expect.objectContaining({ outcome: 'listed', status: 200, key_id: keyId, reported: [keyId], rule: 'app-tests' }),
    ])
    expectNothingLeaked([main, post])
  })

  test("another repository's key: 403 or 404, never its figures; report mode shows only this repository's keys", async () => {
    const own = await runStep('main', step({ revoke: 'false', tags: 'pr-7' }))
    await transcribe(own.outputs['key'] ?? '', 2)
    await issuer.setRunnerClaims({ repository: 'octo-org/eval', repository_id: '1005', environment: 'eval' })
    const theirs = await runStep('main', step({ revoke: 'false', tags: 'pr-7' }))
    await transcribe(theirs.outputs['key'] ?? '', 7)
    await issuer.setRunnerClaims({})
    const ownId = own.outputs['key-id'] ?? ''
    const theirId = theirs.outputs['key-id'] ?? ''

    const report = await runStep(
      'main',
      step({ mode: 'report', 'key-id': `${ownId}, ${theirId}`, scopes: '', expiration: '' }),
    )
    expect(report.exitCode).toBe(0)
    expect(report.outputs['usage-requests']).toBe('1')
    expect(report.summary).toContain(`| \`${ownId}\` | 1 | 2 s |`)
    expect(report.summary).toContain(`| \`${theirId}\` | not reported: not a key of this repository |`)
    // No cell shows their 7 s of audio (looked for as a cell: '7 s' may be part of another figure).
    expect(report.summary).not.toMatch(/\| 7 s \|/)
    expect(report.outputs['usage-json']).not.toContain(theirId)
    expect(dg.liveKeys()).toHaveLength(2)

    const byTags = await runStep('main', step({ mode: 'report', tags: 'pr-7', scopes: '', expiration: '' }))
    expect(JSON.parse(byTags.outputs['usage-json'] ?? '[]')).toEqual([
      expect.objectContaining({ key_id: ownId, requests: 1, logged_seconds: 2 }),
    ])

    // Asked straight, with this repository's token.
    const token = await issuer.sign({ aud: DEFAULT_AUDIENCE })
    const ask = async (path: string) => {
      const answer = await fetch(`${broker.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
      return { status: answer.status, type: answer.headers.get('content-type'), body: await answer.json() }
    }
    const foreign = await ask(`/v1/keys/${theirId}/usage`)
    expect(foreign).toEqual({
      status: 403,
      type: 'application/json; charset=utf-8',
      body: { error: 'not_yours', message: expect.stringContaining(theirId) as unknown },
    })
    expect((await ask('/v1/keys/ad9c6799-d380-4db7-8c22-92c20a291229/usage')).status).toBe(404)
    expect((await ask('/v1/keys/not-a-key/usage')).status).toBe(400)
    expect((await ask('/v1/usage?tags=pr-7&since=yesterday')).status).toBe(400)
    expect((await ask(`/v1/keys/${ownId}/usage`)).body).toEqual({
      keys: [expect.objectContaining({ key_id: ownId, requests: 1 })],
    })
    expectNothingLeaked([own, theirs, report, byTags])
  })

  test('revoke by tags through the broker reports each key and the total, then deletes', async () => {
    const first = await runStep('main', step({ revoke: 'false', tags: 'pr-9' }))
    const second = await runStep('main', step({ revoke: 'false', tags: 'pr-9' }))
    await transcribe(first.outputs['key'] ?? '', 4)
    await transcribe(second.outputs['key'] ?? '', 6)
    const revoke = await runStep('main', step({ mode: 'revoke', tags: 'pr-9', scopes: '', expiration: '' }))
    expect(revoke.exitCode).toBe(0)
    expect(revoke.outputs['revoked-count']).toBe('2')
    expect(revoke.outputs['usage-requests']).toBe('2')
    expect(revoke.outputs['usage-hours']).toBe('0.002778')
    expect(revoke.outputs['usage-usd']).toBe('')
    expect(revoke.summary).toContain('| **Total** | 2 | 10 s | unknown |')
    expect(dg.liveKeys()).toEqual([])
    expect(usageAudits()).toEqual([
      expect.objectContaining({
        outcome: 'listed',
        reported: expect.arrayContaining([first.outputs['key-id'], second.outputs['key-id']]) as unknown,
      }),
    ])
    expectNothingLeaked([first, second, revoke])
  })
})
