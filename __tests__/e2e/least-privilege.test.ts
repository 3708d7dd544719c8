import {
  DEFAULT_PROJECT,
  startDeepgramEmulator,
  type DeepgramEmulator,
  type DeepgramEmulatorOptions,
} from '../../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN, startGitHubEmulator, type GitHubEmulator } from '../../harness/github-emulator.ts'
import { runJob, runStep, type StepRun } from '../../harness/runner.ts'
import { ADMIN_KEY, allKeys, deepgramInputs, expectNoLeaks, PROJECT_ID, theError } from '../helpers/action.ts'

let dg: DeepgramEmulator
let gh: GitHubEmulator | undefined
async function deepgram(options: DeepgramEmulatorOptions = {}): Promise<DeepgramEmulator> {
  dg = await startDeepgramEmulator(options)
  return dg
}
afterEach(async () => {
  await Promise.all([dg.close(), gh?.close()])
  gh = undefined
})

const creates = () => dg.requests.filter((r) => r.method === 'POST')
const deletes = () => dg.requests.filter((r) => r.method === 'DELETE')

/**
 * Payloads that would plant workflow commands if a line could start inside them: a mask that
 * would hide every later "Revoked", a stop-commands, a step output, and the legacy form that the
 * runner obeys anywhere in a line.
 */
const PLANTED = '::add-mask::Revoked'
const payload = (separator: string): string =>
  `x${separator}${PLANTED}${separator}::stop-commands::pwn${separator}::set-output name=key::pwned ##[set-output name=key;]pwned`
const SEPARATORS: [string, string][] = [
  ['CR', '\r'],
  ['LF', '\n'],
  ['U+2028', '\u2028'],
  ['NEL', '\u0085'],
]

/** Lines as the runner reads them (it ends a line at CR and LF), and as a viewer might (U+2028, NEL, VT, FF). */
function logLines(text: string): string[] {
  return text.split(/\r\n|[\r\n\u000b\u000c\u0085\u2028\u2029]/)
}

/**
 * No line of stdout or stderr is a workflow command the action did not mean: the only commands
 * are masks of the credentials and keys, and one-line errors, warnings and notices; and `##[`
 * shows nowhere. `secrets` are the values that may be masked.
 */
function expectNoPlantedCommands(run: StepRun, secrets: string[]): void {
  for (const line of [...logLines(run.stdout), ...logLines(run.stderr)]) {
    const command = line.trimStart()
    expect(line).not.toContain('##[')
    if (!command.startsWith('::')) continue
    const mask = /^::add-mask::(.*)$/.exec(command)
    if (mask) expect(secrets).toContain(mask[1])
    else expect(command).toMatch(/^::(error|warning|notice)::/)
  }
}

describe('least privilege by default', () => {
  test('the default scope is usage:write', async () => {
    await deepgram()
    const { main, post } = await runJob({ inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(0)
    expect(creates().map((r) => (r.body as { scopes: string[] }).scopes)).toEqual([['usage:write']])
    expect(dg.keys.map((k) => k.scopes)).toEqual([['usage:write']])
    expect(main.stdout).toContain('with scopes usage:write.')
    expect(post.exitCode).toBe(0)
    expect(dg.liveKeys()).toEqual([])
  })

  test.each([['member'], ['admin'], ['owner'], ['keys:write'], ['project:write'], ['usage:write, account:read']])(
    'refuses %p without allow-key-management, before any request',
    async (scopes) => {
      await deepgram()
      const main = await runStep('main', { inputs: deepgramInputs(dg, { scopes }) })
      expect(main.exitCode).toBe(1)
      const error = theError(main)
      expect(error).toMatch(
        /^Input scopes: '[a-z:]+' can manage keys or the project \(.+\), and allow-key-management is false\./,
      )
      expect(error).toContain(
        'usage:write is enough; set allow-key-management: true only for a job that must manage keys',
      )
      expect(dg.requests).toEqual([])
      expect(main.state).toEqual({})
    },
  )

  test('mints a key that can manage keys with allow-key-management: true', async () => {
    await deepgram()
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { scopes: 'member', 'allow-key-management': 'true' }),
    })
    expect(main.exitCode).toBe(0)
    expect(dg.liveKeys().map((k) => k.scopes)).toEqual([['member']])
    expectNoLeaks([main], allKeys(dg))
  })

  test('allow-key-management must be true or false', async () => {
    await deepgram()
    const main = await runStep('main', { inputs: deepgramInputs(dg, { 'allow-key-management': 'yes' }) })
    expect(theError(main)).toBe("Input allow-key-management: 'yes' is not one of true or false.")
    expect(dg.requests).toEqual([])
  })
})

describe('the 90-day ceiling', () => {
  test('takes 90 days, as a duration or as a date', async () => {
    await deepgram()
    const inNinetyDays = new Date(Date.now() + 90 * 86_400_000).toISOString()
    const byDuration = await runStep('main', { inputs: deepgramInputs(dg, { expiration: '90d' }) })
    const byDate = await runStep('main', { inputs: deepgramInputs(dg, { expiration: inNinetyDays }) })
    expect([byDuration.exitCode, byDate.exitCode]).toEqual([0, 0])
    expect(creates().map((r) => r.body)).toMatchObject([
      { time_to_live_in_seconds: 7_776_000 },
      { expiration_date: inNinetyDays },
    ])
    expect(byDate.outputs['expires-at']).toBe(inNinetyDays)
  })

  test.each([['91d'], ['2161h'], ['1000000d'], ['4764-01-01T00:00:00Z']])(
    'refuses %p, naming the limit, before any request',
    async (expiration) => {
      await deepgram()
      const main = await runStep('main', { inputs: deepgramInputs(dg, { expiration }) })
      expect(main.exitCode).toBe(1)
      expect(theError(main)).toMatch(
        new RegExp(
          `^Input expiration: '${expiration}' is longer than the limit of 90 days\\. Give at most 90 days from now`,
        ),
      )
      expect(dg.requests).toEqual([])
    },
  )
})

describe("Deepgram's grant is checked against the request", () => {
  test.each([
    ['usage:write', {}, 'admin'],
    ['usage:write', {}, 'keys:write'],
    ['keys:write', { 'allow-key-management': 'true' }, 'project:write'],
    ['member', { 'allow-key-management': 'true' }, 'owner'],
  ])(
    'asked for %p, granted %p more as well: the key is deleted and the step fails naming it',
    async (scopes, extra, more) => {
      await deepgram()
      dg.grantMore({ scopes: [more] })
      const { main, post } = await runJob({ inputs: deepgramInputs(dg, { scopes, ...extra }) })
      expect(main.exitCode).toBe(1)
      const [key] = dg.keys
      expect(key?.scopes).toContain(more)
      expect(theError(main)).toBe(
        `Deepgram created key ${key?.apiKeyId}, but it was granted '${more}', which was not asked for and can manage keys or the project. The key was deleted.`,
      )
      expect(deletes().map((r) => r.path)).toEqual([`/v1/projects/${PROJECT_ID}/keys/${key?.apiKeyId}`])
      expect(dg.liveKeys()).toEqual([])
      expect(main.outputs).toEqual({ skipped: 'false' })
      // Only what post needs to look once more by the marker: the key itself is gone already.
      expect(main.state).toEqual({
        source: 'deepgram',
        'project-id': PROJECT_ID,
        invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
      })
      expect(post.stdout).toContain('nothing to revoke')
      expectNoLeaks([main, post], allKeys(dg))
    },
  )

  test('scopes that manage nothing, and what Deepgram documents as implied, are reported, not refused', async () => {
    await deepgram()
    dg.grantMore({ scopes: ['usage:read'] })
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { scopes: 'usage:write, keys:write', 'allow-key-management': 'true' }),
    })
    expect(main.exitCode).toBe(0)
    expect(main.stdout).toContain(
      'scopes usage:write, keys:write, keys:read, usage:read (Deepgram added keys:read, usage:read)',
    )
    expect(dg.liveKeys()).toHaveLength(1)
  })
})

describe('untrusted text never becomes a workflow command', () => {
  describe.each(SEPARATORS)('separated by %s', (_, separator) => {
    test.each([['comment'], ['tags'], ['scopes']])('in the create-mode input %s', async (input) => {
      await deepgram()
      const { main, post } = await runJob({ inputs: deepgramInputs(dg, { [input]: payload(separator) }) })
      for (const run of [main, post]) expectNoPlantedCommands(run, allKeys(dg))
      expectNoLeaks([main, post], allKeys(dg))
      expect(main.summary).not.toMatch(/[\r\u2028\u0085]/)
    })

    test.each([['tags'], ['key-id']])('in the revoke-mode input %s', async (input) => {
      await deepgram()
      const main = await runStep('main', {
        inputs: deepgramInputs(dg, { mode: 'revoke', [input]: payload(separator) }),
      })
      expectNoPlantedCommands(main, allKeys(dg))
    })

    test("in the scopes and comment of Deepgram's answer", async () => {
      await deepgram()
      dg.grantMore({ scopes: [`usage:read${separator}${PLANTED}`], comment: payload(separator) })
      const main = await runStep('main', { inputs: deepgramInputs(dg) })
      expectNoPlantedCommands(main, allKeys(dg))
      // A granted entry that is not a scope cannot be told harmless: the key does not stay.
      expect(main.exitCode).toBe(1)
      expect(theError(main)).toMatch(
        /^Deepgram created key [0-9a-f-]{36}, but it was granted 'usage:read\\(r|n|u2028|u0085)::add-mask::Revoked'/,
      )
      expect(dg.liveKeys()).toEqual([])
    })

    test("in the message of Deepgram's refusal", async () => {
      await deepgram()
      dg.fail({
        route: 'create',
        status: 400,
        body: { err_code: 'BAD_REQUEST', err_msg: payload(separator), request_id: 'r-1' },
      })
      const main = await runStep('main', { inputs: deepgramInputs(dg) })
      expectNoPlantedCommands(main, allKeys(dg))
      expect(theError(main)).toContain('Deepgram answered HTTP 400 BAD_REQUEST while creating the key: x')
    })

    test("in the names and ids of Deepgram's project listing", async () => {
      const other = 'b9a6e3d2-1c4f-4e5a-9b8c-7d6e5f4a3b2c'
      await deepgram({
        projects: [
          { ...DEFAULT_PROJECT, name: payload(separator) },
          { projectId: other, name: `two${separator}${PLANTED}` },
        ],
        accounts: [{ apiKey: ADMIN_KEY, projectIds: [PROJECT_ID, other], scopes: ['member'] }],
      })
      const several = await runStep('main', { inputs: deepgramInputs(dg, { 'project-id': '' }) })
      expectNoPlantedCommands(several, allKeys(dg))
      expect(theError(several)).toMatch(
        /api-key sees 2 projects: x.+ \(3f2504e0-4f89-11d3-9a0c-0305e82c3301\), two.+ \(b9a6e3d2-/,
      )

      const forged = `${PROJECT_ID}${separator}${PLANTED}`
      await dg.close()
      await deepgram({
        projects: [{ projectId: forged, name: 'p' }],
        accounts: [{ apiKey: ADMIN_KEY, projectIds: [forged], scopes: ['member'] }],
      })
      for (const mode of ['create', 'revoke']) {
        const run = await runStep('main', {
          inputs: deepgramInputs(dg, { 'project-id': '', mode, ...(mode === 'revoke' ? { tags: 'ci' } : {}) }),
        })
        expectNoPlantedCommands(run, allKeys(dg))
        expect(theError(run)).toBe(
          "Input project-id: is empty, and Deepgram's project listing holds a project id that is not a UUID. Give the project id.",
        )
      }
      // The id is never used: nothing but the listing was asked for.
      expect(dg.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/projects', 'GET /v1/projects'])
    })

    test("in GitHub's error message", async () => {
      await deepgram()
      gh = await startGitHubEmulator({})
      gh.fail({ match: /^PUT /, status: 422, message: payload(separator) })
      const inputs = deepgramInputs(dg, {
        'secret-name': 'DEEPGRAM_API_KEY',
        'github-token': DEFAULT_GITHUB_TOKEN,
        'github-api-url': gh.url,
      })
      const main = await runStep('main', { inputs })
      expectNoPlantedCommands(main, [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
      expect(main.exitCode).toBe(1)
      expect(dg.liveKeys()).toEqual([])
      expect(main.summary).not.toMatch(/[\r\u2028\u0085]/)
      expectNoLeaks([main], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
    })
  })
})

describe('credentials with invisible characters', () => {
  test.each([
    ['a zero-width space', '\u200b'],
    ['a no-break space', '\u00a0'],
    ['a byte-order mark', '\ufeff'],
    ['a soft hyphen', '\u00ad'],
  ])('api-key with %s: refused by name, nothing sent, never echoed', async (_, invisible) => {
    await deepgram()
    const apiKey = `${ADMIN_KEY.slice(0, 20)}${invisible}${ADMIN_KEY.slice(20)}`
    for (const mode of ['create', 'revoke']) {
      const main = await runStep('main', {
        inputs: deepgramInputs(dg, { 'api-key': apiKey, mode, ...(mode === 'revoke' ? { tags: 'ci' } : {}) }),
      })
      expect(main.exitCode).toBe(1)
      expect(theError(main)).toMatch(/^Input api-key: holds white space or characters that are not printable ASCII/)
      expectNoLeaks([main], [apiKey, ADMIN_KEY.slice(0, 20), ADMIN_KEY.slice(20)])
      expect(main.state).toEqual({})
    }
    expect(dg.requests).toEqual([])
  })

  test('github-token with a zero-width space: refused by name before any request to Deepgram or GitHub', async () => {
    await deepgram()
    gh = await startGitHubEmulator({})
    const token = `${DEFAULT_GITHUB_TOKEN}\u200b`
    const inputs = deepgramInputs(dg, {
      'secret-name': 'DEEPGRAM_API_KEY',
      'github-token': token,
      'github-api-url': gh.url,
    })
    const main = await runStep('main', { inputs })
    expect(theError(main)).toMatch(/^Input github-token: holds white space or characters that are not printable ASCII/)
    expectNoLeaks([main], [token, DEFAULT_GITHUB_TOKEN, ADMIN_KEY])
    expect([dg.requests, gh.requests]).toEqual([[], []])
  })
})
