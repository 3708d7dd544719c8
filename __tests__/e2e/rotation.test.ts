// keep-previous: several jobs in a row against the same emulators, as a scheduled rotation runs.
import { parseMarker } from '../../src/deepgram/marker.ts'
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import {
  DEFAULT_GITHUB_TOKEN,
  startGitHubEmulator,
  type GitHubEmulator,
  type TargetRef,
} from '../../harness/github-emulator.ts'
import { runJob, runStep, type StepRun } from '../../harness/runner.ts'
import {
  ADMIN_KEY,
  allKeys,
  decodeCommand,
  deepgramInputs,
  expectNoLeaks,
  theError,
  warningLines,
} from '../helpers/action.ts'

let dg: DeepgramEmulator
let gh: GitHubEmulator
beforeEach(async () => {
  ;[dg, gh] = await Promise.all([startDeepgramEmulator({}), startGitHubEmulator({})])
})
afterEach(async () => {
  await Promise.all([dg.close(), gh.close()])
})

const REPOSITORY: TargetRef = { kind: 'actions', owner: 'octo-org', repo: 'app' }

function rotationInputs(extra: Record<string, string>): Record<string, string> {
  return deepgramInputs(dg, {
    scopes: 'usage:write',
    expiration: '30d',
    'secret-name': 'DEEPGRAM_API_KEY',
    'github-token': DEFAULT_GITHUB_TOKEN,
    'github-api-url': gh.url,
    ...extra,
  })
}

/** One scheduled job: main, then post, as the runner runs them. Every transcript is scanned. */
async function rotate(extra: Record<string, string>): Promise<StepRun> {
  const { main, post } = await runJob({ inputs: rotationInputs(extra) })
  expect(post.exitCode).toBe(0)
  expectNoLeaks([main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  return main
}

const liveIds = () => dg.liveKeys().map((k) => k.apiKeyId)
const idOf = (run: StepRun) => run.outputs['key-id'] ?? ''
const deletes = () => dg.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop())

describe('keep-previous', () => {
  test('1: three rotations leave exactly the newest two keys live, and say which key went', async () => {
    const runs: StepRun[] = []
    for (let i = 0; i < 3; i++) {
      const run = await rotate({ 'keep-previous': '1' })
      expect(run.exitCode).toBe(0)
      runs.push(run)
    }
    const [first, second, third] = runs.map(idOf)
    expect(runs.map((run) => run.outputs['revoked-count'])).toEqual(['0', '0', '1'])
    expect(runs.map((run) => run.outputs['revoked-key-ids'])).toEqual(['', '', first])
    expect(liveIds()).toEqual([second, third])
    expect(gh.secret(REPOSITORY, 'DEEPGRAM_API_KEY')?.value).toBe(dg.keys[2]?.key)
    expect(runs[2]?.summary).toContain(`| \`${first}\` | deleted; created ${dg.keys[0]?.created} |`)
    expect(runs[2]?.summary).toContain(`| \`${second}\` | kept (keep-previous: 1); created`)
    expect(runs[2]?.stdout).toContain(`Deleted key ${first}, an earlier key of secret DEEPGRAM_API_KEY.`)
    // The three keys carry one secret digest, each its own invocation.
    const markers = dg.keys.map((k) => parseMarker(k.comment))
    expect(new Set(markers.map((m) => (m?.kind === 'action' ? m.secret : undefined))).size).toBe(1)
    expect(markers[0]).toEqual({
      kind: 'action',
      invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
      secret: expect.stringMatching(/^[0-9a-f]{12}$/),
    })
    expect(new Set(markers.map((m) => m?.invocation)).size).toBe(3)
  })

  test('0: three rotations leave only the newest key', async () => {
    const runs: StepRun[] = []
    for (let i = 0; i < 3; i++) runs.push(await rotate({ 'keep-previous': '0' }))
    const [first, second, third] = runs.map(idOf)
    expect(runs.map((run) => run.exitCode)).toEqual([0, 0, 0])
    expect(runs.map((run) => run.outputs['revoked-key-ids'])).toEqual(['', first, second])
    expect(liveIds()).toEqual([third])
    expect(deletes()).toEqual([first, second])
  })

  test('all (the default) deletes nothing and sets no revoked-count', async () => {
    const runs = [await rotate({}), await rotate({})]
    expect(liveIds()).toEqual(runs.map(idOf))
    expect(runs[1]?.outputs['revoked-count']).toBeUndefined()
    expect(runs[1]?.summary).not.toContain('Earlier keys')
    expect(deletes()).toEqual([])
  })

  test('keys of another secret name, of other targets, and hand-made keys with a similar comment stay untouched', async () => {
    const before = await rotate({})
    const other = [
      await rotate({ 'secret-name': 'OTHER_KEY', 'keep-previous': '0' }),
      await rotate({ 'secret-repositories': 'octo-org/app, octo-org/api', 'keep-previous': '0' }),
      await rotate({ 'secret-environment': 'preview', 'keep-previous': '0' }),
      await rotate({ 'secret-type': 'dependabot', 'keep-previous': '0' }),
    ].map(idOf)
    const marker = / \[dgk:[0-9a-f]{16}:[0-9a-f]{12}\]$/.exec(dg.keys[0]?.comment ?? '')?.[0] ?? ''
    expect(marker).not.toBe('')
    const handMade = [
      dg.addKey({
        projectId: dg.keys[0]?.projectId ?? '',
        comment: `copied${marker} by hand`,
        created: '2020-01-01T00:00:00.000000Z',
      }),
      dg.addKey({
        projectId: dg.keys[0]?.projectId ?? '',
        comment: `${marker.replace(/:[0-9a-f]{12}\]$/, ']')}`,
        created: '2020-01-01T00:00:00.000000Z',
      }),
      dg.addKey({
        projectId: dg.keys[0]?.projectId ?? '',
        comment: `GitHub Actions: octo-org/app${marker.toUpperCase()}`,
        created: '2020-01-01T00:00:00.000000Z',
      }),
    ].map((k) => k.apiKeyId)
    const after = await rotate({ 'keep-previous': '0' })
    expect(after.exitCode).toBe(0)
    expect(after.outputs['revoked-key-ids']).toBe(idOf(before))
    expect(liveIds().sort()).toEqual([...other, ...handMade, idOf(after)].sort())
    expect(deletes()).toEqual([idOf(before)])
  })

  test('a partial write failure deletes nothing, and the error says so', async () => {
    const inputs = { 'secret-repositories': 'octo-org/app, octo-org/api, octo-org/web', 'keep-previous': '0' }
    const first = await rotate(inputs)
    gh.fail({ match: /^PUT \/repos\/octo-org\/web\//, status: 500, times: Infinity })
    const second = await rotate(inputs)
    expect(second.exitCode).toBe(1)
    const error = theError(second)
    expect(error).toMatch(
      /^Secret DEEPGRAM_API_KEY now holds the new key in repository octo-org\/app, repository octo-org\/api, but writing it failed in repository octo-org\/web: GitHub answered HTTP 500/,
    )
    expect(error).toContain(
      'No earlier key of the secret was deleted (keep-previous waits until every target holds the new key).',
    )
    expect(second.outputs['revoked-count']).toBe('0')
    expect(liveIds()).toEqual([idOf(first), idOf(second)])
    expect(deletes()).toEqual([])
  })

  test('every write failing deletes the new key and no earlier one', async () => {
    const first = await rotate({ 'keep-previous': '0' })
    gh.fail({ match: /^PUT /, status: 422, times: Infinity, message: 'Validation Failed' })
    const second = await rotate({ 'keep-previous': '0' })
    expect(theError(second)).toMatch(/failed everywhere.*The key was deleted\.$/)
    expect(liveIds()).toEqual([idOf(first)])
    expect(gh.secret(REPOSITORY, 'DEEPGRAM_API_KEY')?.value).toBe(dg.keys[0]?.key)
  })

  test('a DELETE that fails is a warning with status, message and request id, and main succeeds', async () => {
    const first = await rotate({ 'keep-previous': '0' })
    dg.fail({ route: 'delete', status: 403 })
    const second = await rotate({ 'keep-previous': '0' })
    expect(second.exitCode).toBe(0)
    const warnings = warningLines(second).map((line) => decodeCommand(line.slice('::warning::'.length)))
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Could not delete key ${idOf(first)}, an earlier key of secret DEEPGRAM_API_KEY: Deepgram answered HTTP 403 INSUFFICIENT_PERMISSIONS while deleting key ${idOf(first)}: User does not have sufficient permissions\\. \\(request id [0-9a-f-]{36}\\)\\..* It stays valid until .*\\. Delete it in the Deepgram console\\.$`,
        ),
      ),
    ])
    expect(second.outputs['revoked-count']).toBe('0')
    expect(second.summary).toContain(`| \`${idOf(first)}\` | not deleted (see the warning)`)
    expect(liveIds()).toEqual([idOf(first), idOf(second)])
  })

  test.each([
    [{ 'keep-previous': 'one' }, /^Input keep-previous: 'one' is not a number of earlier keys to keep/],
    [{ 'keep-previous': '1', 'secret-name': '' }, /^Input keep-previous: is set but secret-name is empty/],
    [
      {
        'keep-previous': '0',
        mode: 'revoke',
        tags: 'ci',
        expiration: '1h',
        'secret-name': '',
        'github-token': '',
        'github-api-url': '',
      },
      /^Input keep-previous: applies to mode: create only/,
    ],
  ])('%p fails before any request', async (extra, why) => {
    const main = await runStep('main', { inputs: rotationInputs(extra) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(why)
    expect(dg.requests).toEqual([])
    expect(gh.requests).toEqual([])
    expectNoLeaks([main], [ADMIN_KEY, DEFAULT_GITHUB_TOKEN])
  })
})

describe('the admin key rotates itself', () => {
  test('over three runs, each authenticating with the key the previous run wrote', async () => {
    const ADMIN_SECRET: TargetRef = { kind: 'actions', owner: 'octo-org', repo: 'app' }
    let apiKey = ADMIN_KEY
    const runs: StepRun[] = []
    for (let i = 0; i < 3; i++) {
      const requestsBefore = dg.requests.length
      const run = await rotate({
        'api-key': apiKey,
        scopes: 'member',
        expiration: '90d',
        'secret-name': 'DEEPGRAM_ADMIN_KEY',
        'keep-previous': '1',
        'allow-key-management': 'true',
      })
      expect(run.exitCode).toBe(0)
      // Every request of this run carried the key the previous run wrote (the console key at first).
      const used = new Set(dg.requests.slice(requestsBefore).map((r) => r.headers['authorization']))
      expect(used).toEqual(new Set([`Token ${apiKey}`]))
      runs.push(run)
      // Read back as the next run will: from the secret, opened by the GitHub emulator.
      apiKey = gh.secret(ADMIN_SECRET, 'DEEPGRAM_ADMIN_KEY')?.value ?? ''
      expect(apiKey).toBe(dg.keys[i]?.key)
    }
    const [first, second, third] = runs.map(idOf)
    expect(runs.map((run) => run.outputs['revoked-key-ids'])).toEqual(['', '', first])
    // The console key is no key of ours: it stays until deleted by hand, as the README says.
    expect(liveIds()).toEqual([second, third])
    expect(dg.keys.map((k) => k.scopes)).toEqual([['member'], ['member'], ['member']])
    // The newest key still manages keys: a fourth run would work.
    const fourth = await rotate({
      'api-key': apiKey,
      scopes: 'member',
      'secret-name': 'DEEPGRAM_ADMIN_KEY',
      'keep-previous': '1',
      'allow-key-management': 'true',
    })
    expect(fourth.outputs['revoked-key-ids']).toBe(second)
  })
})
