// GitHub misbehaving, or merely large: redirects (to another host, or for a renamed repository)
// are never followed nor taken for a written secret, and a fan-out to 100 repositories keeps to
// GitHub's secondary limits within the main step's time.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import {
  DEFAULT_GITHUB_TOKEN,
  startGitHubEmulator,
  type GitHubEmulator,
  type GitHubEmulatorOptions,
} from '../../harness/github-emulator.ts'
import { startRecordingHost, type RecordingHost } from '../../harness/recording-host.ts'
import { runJob, runStep } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks, theError } from '../helpers/action.ts'

const SECONDARY = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'

let dg: DeepgramEmulator
let gh: GitHubEmulator | undefined
let elsewhere: RecordingHost
beforeEach(async () => {
  ;[dg, elsewhere] = await Promise.all([startDeepgramEmulator({}), startRecordingHost()])
})
afterEach(async () => {
  await Promise.all([dg.close(), elsewhere.close(), gh?.close()])
  gh = undefined
})

async function github(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
  gh = await startGitHubEmulator(options)
  return gh
}

function secretInputs(github: GitHubEmulator, extra: Record<string, string>): Record<string, string> {
  return deepgramInputs(dg, {
    'secret-name': 'DEEPGRAM_API_KEY',
    'github-token': DEFAULT_GITHUB_TOKEN,
    'github-api-url': github.url,
    ...extra,
  })
}

const secrets = () => [...allKeys(dg), DEFAULT_GITHUB_TOKEN]
const liveKeyIds = () => dg.liveKeys().map((k) => k.apiKeyId)
const secretIn = (github: GitHubEmulator, repo: string) =>
  github.secret({ kind: 'actions', owner: 'octo-org', repo }, 'DEEPGRAM_API_KEY')

/** Nothing at all reached the other host: no request, so no token and no sealed key. */
function expectNothingElsewhere(): void {
  expect(elsewhere.requests).toEqual([])
}

describe('redirects are answers, never followed', () => {
  test('a 307 on one write to another host: that target fails naming status and location, the others hold the key', async () => {
    const github_ = await github()
    const location = `${elsewhere.url}/repos/octo-org/api/actions/secrets/DEEPGRAM_API_KEY`
    github_.fail({
      match: /^PUT \/repos\/octo-org\/api\//,
      status: 307,
      message: 'Temporary Redirect',
      headers: { location },
    })
    const { main, post } = await runJob({
      inputs: secretInputs(github_, { 'secret-repositories': 'octo-org/app, octo-org/api, octo-org/web' }),
    })
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error).toMatch(
      /^Secret DEEPGRAM_API_KEY now holds the new key in repository octo-org\/app, repository octo-org\/web, but writing it failed in repository octo-org\/api: GitHub answered HTTP 307 while writing secret DEEPGRAM_API_KEY to repository octo-org\/api: Temporary Redirect, to /,
    )
    expect(error).toContain(`to ${location} (request id `)
    expect(error).toContain('renamed or moved')
    expect(secretIn(github_, 'app')?.value).toBe(dg.keys[0]?.key)
    expect(secretIn(github_, 'web')?.value).toBe(dg.keys[0]?.key)
    expect(secretIn(github_, 'api')).toBeUndefined()
    expect(main.summary).toMatch(/\| repository octo-org\/api \| failed: GitHub answered HTTP 307/)
    // Partial failure, as for any other: the key is kept for the secrets that hold it.
    expect(main.state.revoke).toBe('false')
    expect(liveKeyIds()).toEqual([dg.keys[0]?.apiKeyId])
    expect(github_.requests.filter((r) => r.method === 'PUT' && r.path.includes('/api/'))).toHaveLength(1)
    expectNothingElsewhere()
    expectNoLeaks([main, post], secrets())
  })

  test('a 301 on a public key to another host: nothing is written and the key is deleted', async () => {
    const github_ = await github()
    const location = `${elsewhere.url}/repositories/1001/actions/secrets/public-key`
    github_.fail({
      match: /^GET \/repos\/octo-org\/app\/actions\/secrets\/public-key/,
      status: 301,
      message: 'Moved Permanently',
      headers: { location },
    })
    const { main, post } = await runJob({ inputs: secretInputs(github_, {}) })
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error).toMatch(
      /^Deepgram created key [0-9a-f-]+, but nothing was written to secret DEEPGRAM_API_KEY: GitHub answered HTTP 301 while reading the public key of repository octo-org\/app: Moved Permanently, to /,
    )
    expect(error).toContain(location)
    expect(error).toMatch(/The key was deleted\.$/)
    expect(error).not.toContain('cannot be null')
    expect(github_.requests.filter((r) => r.method === 'PUT')).toEqual([])
    expect(liveKeyIds()).toEqual([])
    expectNothingElsewhere()
    expectNoLeaks([main, post], secrets())
  })

  test('a renamed repository: its 301 names the new location, and no secret is written anywhere', async () => {
    const github_ = await github({ renamed: [{ owner: 'octo-org', name: 'old-app', to: 'octo-org/app' }] })
    const main = await runStep('main', { inputs: secretInputs(github_, { 'secret-repositories': 'octo-org/old-app' }) })
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error).toContain(
      `GitHub answered HTTP 301 while reading the public key of repository octo-org/old-app: Moved Permanently, to ${github_.url}/repositories/1001/actions/secrets/public-key (request id `,
    )
    expect(error).toContain('Give its current name')
    expect(github_.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /repos/octo-org/old-app/actions/secrets/public-key 301',
    ])
    expect(github_.secrets).toEqual([])
    expect(liveKeyIds()).toEqual([])
    expectNoLeaks([main], secrets())
  })
})

describe('a fan-out to 100 repositories', () => {
  test('a rate-limit wait longer than the step has fails that target at once, naming the wait', async () => {
    const github_ = await github()
    github_.fail({
      match: /^PUT \/repos\/octo-org\/web\//,
      status: 403,
      message: SECONDARY,
      headers: { 'retry-after': '3600' },
    })
    const started = Date.now()
    const main = await runStep('main', {
      inputs: secretInputs(github_, { 'secret-repositories': 'octo-org/app, octo-org/web' }),
    })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error).toMatch(
      /failed in repository octo-org\/web: GitHub answered HTTP 403 while writing secret DEEPGRAM_API_KEY to repository octo-org\/web: You have exceeded a secondary rate limit\..* \(request id [^)]+\)\. GitHub asked to wait 3600 s, longer than the step's time for secrets allows\./,
    )
    expect(error).not.toContain('permission')
    expect(secretIn(github_, 'app')?.value).toBe(dg.keys[0]?.key)
    expectNoLeaks([main], secrets())
  })
})
