import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEFAULT_ACCOUNT,
  DEFAULT_PROJECT,
  startDeepgramEmulator,
  type DeepgramEmulator,
} from '../../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN } from '../../harness/github-emulator.ts'
import { runStep } from '../../harness/runner.ts'
import {
  allKeys,
  decodeCommand,
  deepgramInputs,
  expectNoLeaks,
  PROJECT_ID,
  theError,
  warningLines,
} from '../helpers/action.ts'

let dg: DeepgramEmulator
afterEach(async () => {
  await dg.close()
})

async function emulatorWithKeys(options: { listOmitsTags?: boolean; getShape?: 'flat' | 'item' } = {}) {
  dg = await startDeepgramEmulator(options)
  const key = (comment: string, tags: string[]) => dg.addKey({ projectId: PROJECT_ID, comment, tags }).apiKeyId
  return {
    pr42: key('pr 42 preview', ['pr-42', 'preview']),
    pr42ci: key('pr 42 ci', ['pr-42']),
    pr43: key('pr 43 preview', ['pr-43', 'preview']),
    untagged: key('nightly', []),
  }
}

const live = () =>
  dg
    .liveKeys()
    .map((k) => k.apiKeyId)
    .sort()
// What revoke mode reports of the keys' usage first is usage-report.test.ts's business.
const revoke = (extra: Record<string, string>) =>
  runStep('main', { inputs: deepgramInputs(dg, { mode: 'revoke', 'usage-report': 'false', ...extra }) })

describe('revoke mode', () => {
  test('deletes keys by id; an id the project does not know is a warning, never counted as deleted', async () => {
    const keys = await emulatorWithKeys()
    const gone = 'ad9c6799-d380-4db7-8c22-92c20a291229'
    const main = await revoke({ 'key-id': `${keys.pr42}\n${gone}` })
    expect(main.exitCode).toBe(0)
    expect(main.outputs).toEqual({ 'revoked-count': '1', 'revoked-key-ids': keys.pr42, skipped: 'false' })
    expect(warningLines(main).map((line) => decodeCommand(line.slice('::warning::'.length)))).toEqual([
      `Key ${gone} was not found in project ${PROJECT_ID}: it was deleted already, or it belongs to another project. Nothing was deleted; check the id.`,
    ])
    expect(main.stdout).not.toContain(`Revoked key ${gone}`)
    expect(main.summary).toContain(`| \`${keys.pr42}\` | revoked |`)
    expect(main.summary).toContain(`| \`${gone}\` | not found (deleted already, or another project's) |`)
    expect(live()).toEqual([keys.pr42ci, keys.pr43, keys.untagged].sort())
    expectNoLeaks([main], allKeys(dg))
  })

  test("the id of another project's live key: a warning naming the project, and the key lives on", async () => {
    const other = { projectId: '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d', name: 'Other' }
    dg = await startDeepgramEmulator({
      projects: [DEFAULT_PROJECT, other],
      accounts: [{ ...DEFAULT_ACCOUNT, projectIds: [DEFAULT_PROJECT.projectId, other.projectId] }],
    })
    const elsewhere = dg.addKey({ projectId: other.projectId, comment: 'their key', tags: [] }).apiKeyId
    const main = await revoke({ 'key-id': elsewhere })
    expect(main.exitCode).toBe(0)
    expect(main.outputs).toEqual({ 'revoked-count': '0', 'revoked-key-ids': '', skipped: 'false' })
    expect(warningLines(main).join('\n')).toContain(
      `Key ${elsewhere} was not found in project ${PROJECT_ID}: it was deleted already, or it belongs to another project.`,
    )
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([elsewhere])
  })

  test.each([
    ['listed with their tags', { listOmitsTags: false }],
    ['listed without tags, read one by one (flat)', { listOmitsTags: true, getShape: 'flat' as const }],
    ['listed without tags, read one by one (item-wrapped)', { listOmitsTags: true, getShape: 'item' as const }],
  ])('deletes only keys carrying every tag: %s', async (_, options) => {
    const keys = await emulatorWithKeys(options)
    const main = await revoke({ tags: 'pr-42, preview' })
    expect(main.exitCode).toBe(0)
    expect(main.outputs['revoked-key-ids']).toBe(keys.pr42)
    expect(main.outputs['revoked-count']).toBe('1')
    expect(live()).toEqual([keys.pr42ci, keys.pr43, keys.untagged].sort())
    const reads = dg.requests.filter((r) => r.method === 'GET' && r.path.includes('/keys/'))
    // A key listed without a tags field may have none, or the listing may not show them: read it.
    expect(reads).toHaveLength(options.listOmitsTags ? 4 : 1)
  })

  test('a tag that matches nothing deletes nothing and says so', async () => {
    await emulatorWithKeys()
    const main = await revoke({ tags: 'pr-99' })
    expect(main.exitCode).toBe(0)
    expect(main.outputs['revoked-count']).toBe('0')
    expect(main.outputs['revoked-key-ids']).toBe('')
    expect(main.stdout).toContain('No key matched keys tagged pr-99.')
    expect(dg.liveKeys()).toHaveLength(4)
  })

  test('retries a transient failure of a deletion', async () => {
    const keys = await emulatorWithKeys()
    dg.fail({ route: 'delete', status: 503 })
    const main = await revoke({ 'key-id': keys.pr43 })
    expect(main.exitCode).toBe(0)
    expect(main.outputs['revoked-count']).toBe('1')
  })

  test.each([
    [{}, 'key-id', /both empty/],
    [{ 'key-id': 'x', tags: 'pr-1' }, 'key-id', /not both/],
    [{ 'key-id': 'not-a-key-id' }, 'key-id', /UUIDs/],
    [{ tags: 'pr-1', scopes: 'admin' }, 'scopes', /mode: create only/],
    [{ tags: 'pr-1', expiration: '2h' }, 'expiration', /mode: create only/],
    [{ tags: 'pr-1', 'secret-name': 'KEY' }, 'secret-name', /mode: create only/],
    [{ tags: 'pr-1', 'github-token': DEFAULT_GITHUB_TOKEN }, 'github-token', /mode: create only/],
    [{ mode: 'delete' }, 'mode', /create, revoke or report/],
  ])('refuses %p before any request', async (extra, input, why) => {
    await emulatorWithKeys()
    const main = await runStep('main', { inputs: deepgramInputs(dg, { mode: 'revoke', ...extra }) })
    expect(main.exitCode).toBe(1)
    expect(theError(main).startsWith(`Input ${input}: `)).toBe(true)
    expect(theError(main)).toMatch(why)
    expect(dg.requests).toEqual([])
    expectNoLeaks([main], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  })

  test('post has nothing to do after revoke mode', async () => {
    const keys = await emulatorWithKeys()
    const main = await revoke({ 'key-id': keys.untagged })
    const post = await runStep('post', {
      inputs: deepgramInputs(dg, { mode: 'revoke', 'key-id': keys.untagged }),
      state: main.state,
    })
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('nothing to revoke')
    expect(dg.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1)
  })
})

describe('runs without credentials (forks, Dependabot)', () => {
  function forkEvent(): string {
    const path = join(mkdtempSync(join(tmpdir(), 'dg-event-')), 'event.json')
    writeFileSync(
      path,
      JSON.stringify({
        pull_request: {
          number: 7,
          head: { repo: { fork: true, full_name: 'stranger/app' } },
          base: { repo: { full_name: 'octo-org/app' } },
        },
      }),
    )
    return path
  }

  test('skip: exits 0 with a notice and skipped=true, sending nothing', async () => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, {
        'api-key': '',
        'on-missing-credentials': 'skip',
        'secret-name': 'KEY',
        'secret-environment': 'pr-7',
      }),
      env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: forkEvent() },
    })
    expect(main.exitCode).toBe(0)
    expect(main.outputs).toEqual({ skipped: 'true' })
    expect(main.stdout).toMatch(
      /^::notice::Skipped: api-key is empty and on-missing-credentials is skip\. This run is for a pull request from the fork stranger\/app/m,
    )
    expect(dg.requests).toEqual([])
  })

  test('skip still refuses a bad input, so mistakes show in fork runs too', async () => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'api-key': '', 'on-missing-credentials': 'skip', expiration: 'never' }),
    })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(/^Input expiration: /)
  })

  test('skip works in revoke mode too', async () => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'api-key': '', 'on-missing-credentials': 'skip', mode: 'revoke', tags: 'pr-7' }),
    })
    expect(main.exitCode).toBe(0)
    expect(main.outputs).toEqual({ skipped: 'true' })
  })

  test('fail: a pull request from a fork gets an error naming the cause', async () => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'api-key': '' }),
      env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: forkEvent() },
    })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Input api-key: is empty\. .*This run is for a pull request from the fork stranger\/app, and GitHub gives no secrets to workflows run for pull requests from forks\. .*on-missing-credentials: skip/,
    )
    expect(dg.requests).toEqual([])
  })

  test('fail: a Dependabot run is told about Dependabot secrets', async () => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'api-key': '' }),
      env: { GITHUB_ACTOR: 'dependabot[bot]' },
    })
    expect(theError(main)).toContain('Dependabot runs receive only Dependabot secrets')
  })

  test('on-missing-credentials accepts only fail or skip', async () => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', { inputs: deepgramInputs(dg, { 'on-missing-credentials': 'ignore' }) })
    expect(theError(main)).toMatch(/^Input on-missing-credentials: 'ignore' is not one of fail or skip\./)
  })
})
