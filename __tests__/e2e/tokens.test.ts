// credential: token in direct mode (issue 16), the committed action against the Deepgram emulator:
// a grant, every input a token refuses, each kind of answer, post doing nothing.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { findLeaks, runJob, runStep, type StepRun } from '../../harness/runner.ts'
import { ADMIN_KEY, errorLines, expectNoJwtShown, theError, warningLines } from '../helpers/action.ts'

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

describe('credential: token', () => {
  test('grants a token for the expiration asked, masks it first, outputs it with its expiry, and post does nothing', async () => {
    const started = Date.now()
    const { main, post } = await runJob({ inputs: tokenInputs({ expiration: '20m' }) })
    expect(main.exitCode).toBe(0)
    const [token] = dg.tokens
    if (!token) throw new Error(`no token was granted:\n${main.stdout}`)
    expect(token).toMatchObject({ asked: 1200, expiresIn: 1200, apiKey: ADMIN_KEY })

    // The admin key is masked first thing, the token before anything else is written.
    const lines = main.stdout.split('\n').filter((line) => line !== '')
    expect(lines[0]).toBe(`::add-mask::${ADMIN_KEY}`)
    const tokenMask = lines.indexOf(`::add-mask::${token.accessToken}`)
    expect(tokenMask).toBeGreaterThan(0)
    expect(lines.slice(1, tokenMask).every((line) => !line.startsWith('::') || line.startsWith('::add-mask::'))).toBe(
      true,
    )

    expect(main.outputs).toEqual({
      skipped: 'false',
      'access-token': token.accessToken,
      'expires-at': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
    })
    const expiresAt = Date.parse(main.outputs['expires-at'] ?? '')
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 + 1_200_000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 1_200_000)
    expect(main.state).toEqual({})
    expect(main.stdout).toContain(
      `it expires at ${main.outputs['expires-at']}, in 1200 s. A token cannot be revoked and leaves nothing to clean up.`,
    )
    expect(main.summary).toContain('### Deepgram temporary token granted')
    expect(main.summary).toContain(main.outputs['expires-at'])
    expect(main.summary).toContain('nothing to clean up')

    const [grant] = grants()
    expect(grant?.headers.authorization).toBe(`Token ${ADMIN_KEY}`)
    expect(grant?.headers['content-type']).toBe('application/json')
    expect(grant?.body).toEqual({ ttl_seconds: 1200 })
    expect(dg.requests).toHaveLength(1)
    expect(dg.keys).toEqual([])

    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('A temporary token cannot be revoked and leaves nothing behind: nothing to do.')
    expect(post.summary).toBe('')
    expect(dg.requests).toHaveLength(1)
    expectNothingLeaked([main, post])
  })

  test('the default expiration asks an hour; a date-time an hour ahead at most asks the seconds left', async () => {
    expect((await runStep('main', { inputs: tokenInputs() })).exitCode).toBe(0)
    const asked = Date.now()
    const date = new Date(asked + 600_000).toISOString()
    expect((await runStep('main', { inputs: tokenInputs({ expiration: date }) })).exitCode).toBe(0)
    // The seconds left when the step sent its grant: 600, less what the step took to get there.
    const took = Math.ceil((Date.now() - asked) / 1000)
    const [hour, until] = grants().map((r) => (r.body as { ttl_seconds: number }).ttl_seconds)
    expect(hour).toBe(3600)
    expect(until).toBeGreaterThanOrEqual(600 - took - 1)
    expect(until).toBeLessThanOrEqual(600)
  })

  test.each<[string, Record<string, string>, string]>([
    ['credential other than key or token', { credential: 'jwt' }, 'credential'],
    ['an expiration over one hour', { expiration: '2h' }, 'expiration'],
    [
      'a date-time more than an hour ahead',
      { expiration: new Date(Date.now() + 2 * 3600_000).toISOString() },
      'expiration',
    ],
    ['scopes other than usage:write', { scopes: 'usage:write,usage:read' }, 'scopes'],
    ['tags', { tags: 'ci' }, 'tags'],
    ['comment', { comment: 'nightly' }, 'comment'],
    ['allow-key-management: true', { 'allow-key-management': 'true' }, 'allow-key-management'],
    ['secret-name', { 'secret-name': 'DEEPGRAM_API_KEY', 'github-token': 'ghs_0123456789abcdef' }, 'secret-name'],
    ['keep-previous other than all', { 'keep-previous': '1' }, 'keep-previous'],
    ['mode: revoke', { mode: 'revoke' }, 'mode'],
    ['revoke: true', { revoke: 'true' }, 'revoke'],
    ['key-id', { 'key-id': '3f2504e0-4f89-11d3-9a0c-0305e82c3301' }, 'key-id'],
  ])('refuses %s with one error naming the input, and sends nothing', async (_, inputs, input) => {
    const { main, post } = await runJob({ inputs: tokenInputs(inputs) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(new RegExp(`^Input ${input}: `))
    expect(main.outputs).toEqual({})
    expect(post.exitCode).toBe(0)
    expect(dg.requests).toEqual([])
    expectNothingLeaked([main, post])
  })

  test('with an empty api-key and on-missing-credentials: skip, skips after checking the other inputs', async () => {
    const skipped = await runStep('main', { inputs: tokenInputs({ 'api-key': '', 'on-missing-credentials': 'skip' }) })
    expect(skipped.exitCode).toBe(0)
    expect(skipped.outputs).toEqual({ skipped: 'true' })
    expect(skipped.stdout).toMatch(/^::notice::Skipped: api-key is empty and on-missing-credentials is skip\. /m)
    const checked = await runStep('main', {
      inputs: tokenInputs({ 'api-key': '', 'on-missing-credentials': 'skip', tags: 'ci' }),
    })
    expect(checked.exitCode).toBe(1)
    expect(theError(checked)).toMatch(/^Input tags: /)
    const failed = await runStep('main', { inputs: tokenInputs({ 'api-key': '' }) })
    expect(failed.exitCode).toBe(1)
    expect(theError(failed)).toMatch(/^Input api-key: is empty\./)
    expect(dg.requests).toEqual([])
  })
})

describe("Deepgram's answers to a grant", () => {
  test('a token that lives 30 s whatever was asked (older deployments): a warning naming both lifetimes, and the real expiry', async () => {
    dg.ignoreTokenTtl()
    const main = await runStep('main', { inputs: tokenInputs({ expiration: '45m' }) })
    expect(main.exitCode).toBe(0)
    expect(warningLines(main)).toEqual([
      expect.stringMatching(
        /^::warning::The token lives 30 s, shorter than the 2700 s asked .*: it expires at \S+Z\. /,
      ),
    ])
    expect(Date.parse(main.outputs['expires-at'] ?? '') - Date.now()).toBeLessThanOrEqual(30_000)
    expect(main.outputs['access-token']).toBe(dg.tokens[0]?.accessToken)
    expectNothingLeaked([main])
  })

  test('a token that lives longer than asked: the step fails, says when it expires, and outputs no token', async () => {
    dg.grantLongerTokens(600)
    const main = await runStep('main', { inputs: tokenInputs({ expiration: '10m' }) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Deepgram answered HTTP 200 while granting a temporary token \(request id [0-9a-f-]{36}\), but the token lives 1200 s, longer than the 600 s asked; a token cannot be revoked, so it stays valid until \S+Z\. The token was not handed to the job\./,
    )
    expect(main.outputs).toEqual({ skipped: 'false' })
    expect(main.stdout).toContain(`::add-mask::${dg.tokens[0]?.accessToken}`)
    expectNothingLeaked([main])
  })

  test.each<[string, unknown, RegExp]>([
    [
      'an access_token that is not a JWT',
      { access_token: 'not-a-jwt', expires_in: 60 },
      /its access_token is not a JWT/,
    ],
    [
      'no expires_in',
      { access_token: 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln' },
      /its expires_in \(absent\) is not a positive number/,
    ],
    ['no JSON at all', 'ok', /the answer carries no access_token/],
  ])('%s: the step fails naming what is wrong, and not the answer', async (_, body, problem) => {
    dg.fail({ route: 'grant', status: 200, body })
    const main = await runStep('main', { inputs: tokenInputs({ expiration: '60s' }) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(problem)
    expect(theError(main)).not.toContain('not-a-jwt')
    expect(main.outputs).toEqual({ skipped: 'false' })
    expect(grants()).toHaveLength(1)
  })

  test('403 for a key below the Member role: the error names the status, message, request id and the role needed', async () => {
    const minted = dg.addKey({
      projectId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      comment: 'usage only',
      scopes: ['usage:write'],
    })
    const main = await runStep('main', { inputs: tokenInputs({ 'api-key': minted.key }) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Deepgram answered HTTP 403 FORBIDDEN while granting a temporary token: Insufficient permissions\. \(request id [0-9a-f-]{36}\)\. Grants need an api-key of the Member role or higher/,
    )
    expect(grants()).toHaveLength(1)
    expect(findLeaks(main, [minted.key])).toEqual([])
  })

  test('5xx twice, then a token: the grant is retried and succeeds', async () => {
    dg.fail({ route: 'grant', status: 503, times: 2 })
    const main = await runStep('main', { inputs: tokenInputs({ expiration: '5m' }) })
    expect(main.exitCode).toBe(0)
    expect(grants().map((r) => r.status)).toEqual([503, 503, 200])
    expect(main.outputs['access-token']).toBe(dg.tokens[0]?.accessToken)
    expect(errorLines(main)).toEqual([])
    expectNothingLeaked([main])
  })

  test('5xx every time: the step fails after its retries, naming the status and what to do', async () => {
    dg.fail({ route: 'grant', status: 500, times: 10 })
    const main = await runStep('main', { inputs: tokenInputs({ expiration: '5m' }) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Deepgram answered HTTP 500 INTERNAL_SERVER_ERROR while granting a temporary token: .*\(request id [0-9a-f-]{36}\)\. Deepgram had a problem; run the job again later\.$/,
    )
    expect(grants().length).toBeGreaterThan(1)
    expect(dg.tokens).toEqual([])
  })
})
