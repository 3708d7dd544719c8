import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import {
  DEFAULT_GITHUB_TOKEN,
  startGitHubEmulator,
  type GitHubEmulator,
  type GitHubEmulatorOptions,
} from '../../harness/github-emulator.ts'
import { runJob, runStep } from '../../harness/runner.ts'
import { requestSchema, schemaErrors } from '../helpers/schema.ts'
import { allKeys, deepgramInputs, expectNoLeaks, theError } from '../helpers/action.ts'

let dg: DeepgramEmulator
let gh: GitHubEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
})
afterEach(async () => {
  await Promise.all([dg.close(), gh?.close()])
})

async function github(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
  gh = await startGitHubEmulator(options)
  return gh
}

function secretInputs(extra: Record<string, string>): Record<string, string> {
  return deepgramInputs(dg, {
    'secret-name': 'DEEPGRAM_API_KEY',
    'github-token': DEFAULT_GITHUB_TOKEN,
    'github-api-url': gh.url,
    ...extra,
  })
}

/** Every PUT matches GitHub's own description of its body. */
function expectBodiesMatchGitHub(): void {
  for (const request of gh.requests.filter((r) => r.method === 'PUT')) {
    const operation = request.path
      .replace(/^\/api\/v3/, '')
      .replace(
        /^\/repos\/[^/]+\/[^/]+\/environments\/[^/]+\//,
        '/repos/{owner}/{repo}/environments/{environment_name}/',
      )
      .replace(/^\/repos\/[^/]+\/[^/]+\//, '/repos/{owner}/{repo}/')
      .replace(/^\/orgs\/[^/]+\//, '/orgs/{org}/')
      .replace(/\/secrets\/[^/]+$/, '/secrets/{secret_name}')
    expect(schemaErrors(request.body, requestSchema('github', `PUT ${operation}`))).toEqual([])
  }
  for (const request of gh.requests) expect(request.headers['x-github-api-version']).toBe('2022-11-28')
}

/** What must never show: the admin key, every key minted, the GitHub token. */
function secrets(): string[] {
  return [...allKeys(dg), DEFAULT_GITHUB_TOKEN]
}

const liveKeyIds = () => dg.liveKeys().map((k) => k.apiKeyId)

describe('writing the key as a secret', () => {
  test("a repository secret in the workflow's repository, readable by GitHub, kept after the job", async () => {
    await github()
    const inputs = secretInputs({ 'github-api-url': '' })
    const { main, post } = await runJob({ inputs, env: { GITHUB_API_URL: gh.url } })
    expect(main.exitCode).toBe(0)
    const key = dg.keys[0]
    const secret = gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, 'DEEPGRAM_API_KEY')
    expect(secret?.value).toBe(key?.key)
    expect(secret?.keyId).toBe(gh.publicKeyFor({ kind: 'actions', owner: 'octo-org', repo: 'app' }).keyId)
    expect(main.state.revoke).toBe('false')
    expect(main.summary).toMatch(/\| repository octo-org\/app \| created \|/)
    expect(main.summary).toContain('a secret holds it')
    expect(post.stdout).toContain('is kept until it expires')
    expect(liveKeyIds()).toEqual([key?.apiKeyId])
    expectBodiesMatchGitHub()
    expectNoLeaks([main, post], secrets())
  })

  test('a second run updates the secret', async () => {
    await github()
    await runStep('main', { inputs: secretInputs({}) })
    const second = await runStep('main', { inputs: secretInputs({}) })
    expect(second.exitCode).toBe(0)
    expect(second.summary).toMatch(/\| repository octo-org\/app \| updated \|/)
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, 'DEEPGRAM_API_KEY')?.value).toBe(
      dg.keys[1]?.key,
    )
  })

  test('an environment secret, sealed with that environment’s own key', async () => {
    await github()
    const main = await runStep('main', { inputs: secretInputs({ 'secret-environment': 'pr-42' }) })
    expect(main.exitCode).toBe(0)
    const target = { kind: 'actions' as const, owner: 'octo-org', repo: 'app', environment: 'pr-42' }
    expect(gh.secret(target, 'DEEPGRAM_API_KEY')?.value).toBe(dg.keys[0]?.key)
    expect(gh.secret(target, 'DEEPGRAM_API_KEY')?.keyId).toBe(gh.publicKeyFor(target).keyId)
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, 'DEEPGRAM_API_KEY')).toBeUndefined()
    expectBodiesMatchGitHub()
    expectNoLeaks([main], secrets())
  })

  test('an environment whose name has a slash is URL-encoded in the path', async () => {
    await github({ repos: [{ owner: 'octo-org', name: 'app', id: 1001, environments: ['team/preview'] }] })
    const main = await runStep('main', { inputs: secretInputs({ 'secret-environment': 'team/preview' }) })
    expect(main.exitCode).toBe(0)
    expect(gh.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /repos/octo-org/app/environments/team%2Fpreview/secrets/public-key',
      'PUT /repos/octo-org/app/environments/team%2Fpreview/secrets/DEEPGRAM_API_KEY',
    ])
    expect(
      gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app', environment: 'team/preview' }, 'DEEPGRAM_API_KEY')
        ?.value,
    ).toBe(dg.keys[0]?.key)
  })

  test('three repositories at once, each with its own public key', async () => {
    await github()
    const main = await runStep('main', {
      inputs: secretInputs({ 'secret-repositories': 'octo-org/app, octo-org/api\nocto-org/web' }),
    })
    expect(main.exitCode).toBe(0)
    for (const repo of ['app', 'api', 'web']) {
      const target = { kind: 'actions' as const, owner: 'octo-org', repo }
      expect(gh.secret(target, 'DEEPGRAM_API_KEY')?.value).toBe(dg.keys[0]?.key)
      expect(gh.secret(target, 'DEEPGRAM_API_KEY')?.keyId).toBe(gh.publicKeyFor(target).keyId)
    }
    expect(
      new Set(['app', 'api', 'web'].map((repo) => gh.publicKeyFor({ kind: 'actions', owner: 'octo-org', repo }).key))
        .size,
    ).toBe(3)
    expect(gh.requests.filter((r) => r.method === 'GET')).toHaveLength(3)
    expectBodiesMatchGitHub()
  })

  test('an organization secret readable by repositories chosen by name', async () => {
    await github()
    const main = await runStep('main', {
      inputs: secretInputs({
        'secret-organization': 'octo-org',
        'secret-visibility': 'selected',
        'secret-selected-repositories': 'api, web',
      }),
    })
    expect(main.exitCode).toBe(0)
    const secret = gh.secret({ kind: 'actions', org: 'octo-org' }, 'DEEPGRAM_API_KEY')
    expect(secret?.value).toBe(dg.keys[0]?.key)
    expect(secret?.visibility).toBe('selected')
    expect(secret?.selectedRepositoryIds).toEqual([1002, 1003])
    expectBodiesMatchGitHub()
    expectNoLeaks([main], secrets())
  })

  test('a Dependabot secret, sealed with the Dependabot key', async () => {
    await github()
    const main = await runStep('main', { inputs: secretInputs({ 'secret-type': 'dependabot' }) })
    expect(main.exitCode).toBe(0)
    const target = { kind: 'dependabot' as const, owner: 'octo-org', repo: 'app' }
    expect(gh.secret(target, 'DEEPGRAM_API_KEY')?.value).toBe(dg.keys[0]?.key)
    expect(gh.secret(target, 'DEEPGRAM_API_KEY')?.keyId).toBe(gh.publicKeyFor(target).keyId)
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, 'DEEPGRAM_API_KEY')).toBeUndefined()
    expectBodiesMatchGitHub()
  })

  test('GitHub Enterprise Server under /api/v3', async () => {
    await github({ prefix: '/api/v3' })
    const main = await runStep('main', { inputs: secretInputs({}) })
    expect(main.exitCode).toBe(0)
    expect(gh.requests.every((r) => r.path.startsWith('/api/v3/repos/octo-org/app/actions/secrets/'))).toBe(true)
    expect(gh.secret({ kind: 'actions', owner: 'octo-org', repo: 'app' }, 'DEEPGRAM_API_KEY')?.value).toBe(
      dg.keys[0]?.key,
    )
    expectBodiesMatchGitHub()
  })

  test('a transient GitHub failure is retried', async () => {
    await github()
    gh.fail({ match: /^PUT /, status: 502 })
    const main = await runStep('main', { inputs: secretInputs({}) })
    expect(main.exitCode).toBe(0)
    expect(gh.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([502, 201])
  })
})

describe('when secrets cannot be written', () => {
  test('a token without permission: the error explains the token, and no live key remains', async () => {
    await github({ tokenPermissions: 'none' })
    const { main, post } = await runJob({ inputs: secretInputs({}) })
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error).toMatch(
      /^Deepgram created key [0-9a-f-]+, but nothing was written to secret DEEPGRAM_API_KEY: GitHub answered HTTP 403 while reading the public key of repository octo-org\/app: Resource not accessible by integration \(request id [^)]+\)\./,
    )
    expect(error).toContain('Repository permission "Secrets: write"')
    expect(error).toContain("workflow's own GITHUB_TOKEN cannot write secrets")
    expect(error).toContain('actions/create-github-app-token')
    expect(error).toMatch(/The key was deleted\.$/)
    expect(liveKeyIds()).toEqual([])
    expect(post.stdout).toContain('nothing to revoke')
    expectNoLeaks([main, post], secrets())
  })

  test.each([
    [{ 'github-token': '' }, 'github-token', /GitHub App token/],
    [{ 'secret-name': 'GITHUB_DEEPGRAM' }, 'secret-name', /reserves/],
    [{ 'secret-name': '1KEY' }, 'secret-name', /not starting with a digit/],
    [{ 'secret-name': 'MY-KEY' }, 'secret-name', /letters, digits and _/],
    [{ 'secret-repositories': 'just-a-name' }, 'secret-repositories', /owner\/name/],
    [
      { 'secret-organization': 'octo-org', 'secret-environment': 'preview' },
      'secret-environment',
      /cannot go with secret-organization/,
    ],
    [
      { 'secret-type': 'dependabot', 'secret-environment': 'preview' },
      'secret-environment',
      /Dependabot has no environment secrets/,
    ],
    [
      { 'secret-organization': 'octo-org', 'secret-visibility': 'selected' },
      'secret-selected-repositories',
      /name the repositories/,
    ],
    [
      { 'secret-organization': 'octo-org', 'secret-selected-repositories': 'api' },
      'secret-selected-repositories',
      /set secret-visibility: selected/,
    ],
    [{ 'secret-type': 'codespaces' }, 'secret-type', /actions, dependabot/],
  ])('%p fails before any request', async (extra, input, why) => {
    await github()
    const main = await runStep('main', { inputs: secretInputs(extra) })
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error.startsWith(`Input ${input}: `)).toBe(true)
    expect(error).toMatch(why)
    expect(dg.requests).toEqual([])
    expect(gh.requests).toEqual([])
    expectNoLeaks([main], secrets())
  })

  test('secret inputs without secret-name are refused, not ignored', async () => {
    await github()
    const main = await runStep('main', { inputs: deepgramInputs(dg, { 'secret-environment': 'preview' }) })
    expect(theError(main)).toMatch(/^Input secret-environment: is set but secret-name is empty/)
    expect(dg.requests).toEqual([])
  })

  test('a partial failure keeps the key, fails, and says which targets hold it', async () => {
    await github()
    gh.fail({ match: /^PUT \/repos\/octo-org\/web\//, status: 500, times: Infinity })
    const { main, post } = await runJob({
      inputs: secretInputs({ 'secret-repositories': 'octo-org/app, octo-org/api, octo-org/web' }),
    })
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error).toMatch(
      /^Secret DEEPGRAM_API_KEY now holds the new key in repository octo-org\/app, repository octo-org\/api, but writing it failed in repository octo-org\/web: GitHub answered HTTP 500 while writing secret DEEPGRAM_API_KEY to repository octo-org\/web: Server Error \(request id [^)]+\)\./,
    )
    expect(error).toContain('The key was kept')
    expect(main.outputs['key-id']).toBe(dg.keys[0]?.apiKeyId)
    expect(main.state.revoke).toBe('false')
    expect(main.summary).toMatch(/\| repository octo-org\/web \| failed: GitHub answered HTTP 500/)
    expect(liveKeyIds()).toEqual([dg.keys[0]?.apiKeyId])
    expect(post.exitCode).toBe(0)
    expect(dg.requests.filter((r) => r.method === 'DELETE')).toEqual([])
    expectNoLeaks([main, post], secrets())
  })

  test('a job cancelled while the secret is being written still revokes the key in its post step', async () => {
    await github()
    gh.fail({ match: /^PUT /, status: 503, times: Infinity })
    gh.setLatency(400)
    const main = await runStep('main', { inputs: secretInputs({}), cancelAfterMs: 1500 })
    expect(main.exitCode).not.toBe(0)
    expect(main.state.revoke).toBe('true')
    expect(liveKeyIds()).toEqual([main.state['key-id']])
    gh.setLatency(0)
    const post = await runStep('post', { inputs: secretInputs({}), state: main.state })
    expect(post.stdout).toContain(`Revoked key ${main.state['key-id']}.`)
    expect(liveKeyIds()).toEqual([])
    expectNoLeaks([main, post], secrets())
  })

  test('when every write fails, the key is deleted', async () => {
    await github()
    gh.fail({ match: /^PUT /, status: 422, times: Infinity, message: 'Validation Failed' })
    const main = await runStep('main', { inputs: secretInputs({}) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /writing secret DEEPGRAM_API_KEY failed everywhere: repository octo-org\/app: GitHub answered HTTP 422 .*Validation Failed.*The key was deleted\.$/,
    )
    expect(liveKeyIds()).toEqual([])
  })
})
