// credential: token in broker mode (issue 16): the committed action against the committed broker
// (its own process), the local OIDC issuer and its runner ID-token endpoint, and the Deepgram
// emulator. The job holds no Deepgram key; the broker grants the token under its rules.
import { startBroker, type RunningBroker } from '../../harness/broker.ts'
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { findLeaks, runJob, runStep, type StepOptions, type StepRun } from '../../harness/runner.ts'
import { ADMIN_KEY, expectNoJwtShown, JWT, theError } from '../helpers/action.ts'

let issuer: OidcIssuer
let dg: DeepgramEmulator
let broker: RunningBroker

/** The example policy's shape: tokens for octo-org/app up to 30 minutes, none on the read-only branch. */
function policy(issuerUrl: string): Record<string, unknown> {
  return {
    'project-id': '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    audience: DEFAULT_AUDIENCE,
    issuers: [issuerUrl],
    'keys-per-minute': 2,
    rules: [
      { name: 'read-only', match: { repository: 'octo-org/app', ref: 'refs/heads/read-only' }, scopes: ['usage:read'] },
      {
        name: 'app-tests',
        match: { repository: 'octo-org/app', repository_owner_id: '4321' },
        scopes: ['usage:write'],
        'max-expiration': '30m',
        tags: ['ci'],
      },
    ],
  }
}

beforeAll(async () => {
  issuer = await startOidcIssuer()
})
afterAll(() => issuer.close())
beforeEach(async () => {
  await issuer.setRunnerClaims({})
  dg = await startDeepgramEmulator({})
  broker = await startBroker({ adminKey: ADMIN_KEY, policy: policy(issuer.url), deepgramApiUrl: dg.url })
})
afterEach(async () => {
  await Promise.all([broker.stop(), dg.close()])
})

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
      credential: 'token',
      expiration: '20m',
      ...inputs,
    },
    env,
  }
}

/**
 * The admin key, the runner's request token, every ID token and every token granted: nowhere in
 * the steps' transcripts, files and outputs (the access-token output excepted), nor in the
 * broker's output; nothing shaped like a JWT outside ::add-mask:: lines either.
 */
function expectNothingLeaked(runs: StepRun[]): void {
  const idTokens = runs.flatMap((run) =>
    run.stdout
      .split('\n')
      .flatMap((line) => (line.startsWith('::add-mask::eyJ') ? [line.slice('::add-mask::'.length)] : [])),
  )
  const secrets = [ADMIN_KEY, issuer.idTokenRequest.token, ...idTokens, ...dg.tokens.map((t) => t.accessToken)]
  for (const run of runs) {
    expect(findLeaks(run, secrets, ['access-token'])).toEqual([])
  }
  expectNoJwtShown(runs)
  const output = `${broker.stdout()}\n${broker.stderr()}`
  for (const secret of secrets) expect(output).not.toContain(secret)
  expect(output).not.toMatch(JWT)
}

describe('credential: token through the broker', () => {
  test('main gets a token from the broker and outputs it; post sends nothing; the grant is audited without the token', async () => {
    const asked = (await issuer.requests()).length
    const { main, post } = await runJob(step())
    expect(main.exitCode).toBe(0)
    const [token] = dg.tokens
    if (!token) throw new Error(`no token was granted:\n${main.stdout}\n${main.stderr}\n${broker.stdout()}`)
    expect(token).toMatchObject({ asked: 1200, expiresIn: 1200, apiKey: ADMIN_KEY })
    expect(main.outputs).toEqual({
      skipped: 'false',
      'access-token': token.accessToken,
      'expires-at': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
    })
    expect(main.state).toEqual({})
    expect(main.stdout).toContain(
      `Granted a temporary token (usage:write) by the broker at ${broker.url}: it expires at ${main.outputs['expires-at']}, in 1200 s.`,
    )
    expect(main.summary).toContain('### Deepgram temporary token granted')
    expect(dg.keys).toEqual([])

    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('nothing to do')
    // One ID token in all: main's. Post asks for none and sends nothing.
    expect((await issuer.requests()).slice(asked).filter((r) => r.path === '/_apis/id-token')).toHaveLength(1)
    expect(dg.requests.map((r) => r.path)).toEqual(['/v1/auth/grant'])

    const lines = await broker.waitForAuditLines(1)
    expect(lines).toEqual([
      expect.objectContaining({
        request: 'POST /v1/tokens',
        outcome: 'granted',
        status: 200,
        credential: 'token',
        rule: 'app-tests',
        repository: 'octo-org/app',
        scopes: ['usage:write'],
      }),
    ])
    expect(
      Math.abs(Date.parse(String(lines[0]?.expires_at)) - Date.parse(main.outputs['expires-at'] ?? '')),
    ).toBeLessThanOrEqual(1000)
    expectNothingLeaked([main, post])
  })

  test('a rule without usage:write refuses the token (403 scope_not_allowed); the error says what to do', async () => {
    await issuer.setRunnerClaims({ ref: 'refs/heads/read-only' })
    const main = await runStep('main', step())
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^The broker answered HTTP 403 scope_not_allowed while granting a temporary token: Rule read-only does not grant usage:write, which a token carries; it grants at most usage:read\. The token's claims: repository octo-org\/app, .*ref refs\/heads\/read-only.* \(no request id\)\. /,
    )
    expect(theError(main)).toMatch(
      /The rule matching this job does not grant usage:write, so it allows no tokens: ask the broker's operators for one that does, or use credential: key\.$/,
    )
    expect(dg.requests).toEqual([])
    expectNothingLeaked([main])
  })

  test("a lifetime over the rule's max-expiration is refused (403 lifetime_not_allowed)", async () => {
    const main = await runStep('main', step({ expiration: '45m' }))
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^The broker answered HTTP 403 lifetime_not_allowed while granting a temporary token: The token would live 2700 s; rule app-tests allows at most 1800 s \(max-expiration\)\. .* Give a shorter expiration/,
    )
    expect(dg.requests).toEqual([])
    const overAnHour = await runStep('main', step({ expiration: '2h' }))
    expect(theError(overAnHour)).toMatch(/^Input expiration: '2h' is longer than a token's limit of one hour/)
    expectNothingLeaked([main, overAnHour])
  })

  test('past keys-per-minute the broker answers 429, and the step fails saying when to retry', async () => {
    expect((await runStep('main', step())).exitCode).toBe(0)
    // Keys count too: __tests__/broker/temporary-tokens.test.ts mixes both on the broker's API.
    expect((await runStep('main', step({ expiration: '10m' }))).exitCode).toBe(0)
    const limited = await runStep('main', step())
    expect(limited.exitCode).toBe(1)
    expect(theError(limited)).toMatch(
      /^The broker answered HTTP 429 rate_limited while granting a temporary token: Repository octo-org\/app has had 2 keys and tokens in the last minute \(keys-per-minute\); try again in \d+ s\. \(no request id\)\. The broker limits keys and tokens per repository and minute/,
    )
    expect(dg.tokens).toHaveLength(2)
    const refused = (await broker.waitForAuditLines(3)).filter((line) => line.status === 429)
    expect(refused).toEqual([
      expect.objectContaining({ credential: 'token', error: 'rate_limited', outcome: 'refused' }),
    ])
    expectNothingLeaked([limited])
  })

  test('without an ID token the step fails naming id-token: write, or is skipped with on-missing-credentials: skip', async () => {
    const failed = await runStep('main', step({}, {}))
    expect(failed.exitCode).toBe(1)
    expect(theError(failed)).toMatch(
      /^This job has no GitHub ID token to show the broker: .*"permissions: id-token: write"/,
    )
    const skipped = await runStep('main', step({ 'on-missing-credentials': 'skip' }, {}))
    expect(skipped.exitCode).toBe(0)
    expect(skipped.outputs).toEqual({ skipped: 'true' })
    expect(broker.auditLines()).toEqual([])
  })
})
