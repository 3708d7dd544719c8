// A fan-out to 100 repositories waits out a real GitHub minute: 80 writes a minute, the rest the next.
// In the slow project: npm test and CI run it, npx jest does not.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import {
  DEFAULT_GITHUB_TOKEN,
  manyRepositories,
  startGitHubEmulator,
  type GitHubEmulator,
  type GitHubEmulatorOptions,
} from '../../harness/github-emulator.ts'
import { runJob } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks } from '../helpers/action.ts'

const SECONDARY = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'

let dg: DeepgramEmulator
let gh: GitHubEmulator | undefined
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
})
afterEach(async () => {
  await Promise.all([dg.close(), gh?.close()])
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
describe('a fan-out to 100 repositories', () => {
  test("keeps to GitHub's limits: secondary-limit answers waited out, 80 writes a minute and the rest the next minute, progress logged", async () => {
    const repos = manyRepositories(100)
    const github_ = await github({ repos })
    github_.fail({ match: /^PUT /, status: 403, message: SECONDARY, headers: { 'retry-after': '1' }, times: 4 })
    github_.fail({ match: /^PUT /, status: 429, message: 'API rate limit exceeded', resetInSeconds: 1, times: 2 })
    const { main, post } = await runJob({
      inputs: secretInputs(github_, { 'secret-repositories': repos.map((r) => `octo-org/${r.name}`).join('\n') }),
    })
    expect(main.exitCode).toBe(0)
    const puts = github_.requests.filter((r) => r.method === 'PUT')
    // Every secondary-limit answer was retried, and every repository holds the key.
    expect(puts.filter((r) => r.status === 403 || r.status === 429)).toHaveLength(6)
    expect(puts.filter((r) => r.status === 201)).toHaveLength(100)
    expect(github_.secrets).toHaveLength(100)
    for (const secret of github_.secrets) expect(secret.value).toBe(dg.keys[0]?.key)
    // No more than 80 PUTs, retries included, in any minute: the rest went a minute after the first.
    const sent = puts.map((r) => r.at).sort((a, b) => a - b)
    for (let i = 80; i < sent.length; i++) expect((sent[i] ?? 0) - (sent[i - 80] ?? 0)).toBeGreaterThanOrEqual(60_000)
    expect(main.stdout).toContain(
      "Secret DEEPGRAM_API_KEY: 100 targets are more than GitHub's 80 content-creating requests a minute, so writing them takes about 1 minute(s) more.",
    )
    expect(main.stdout).toContain('Secret DEEPGRAM_API_KEY: 20 of 100 targets done.')
    expect(main.stdout).toContain('Secret DEEPGRAM_API_KEY: 100 of 100 targets done.')
    expect(main.summary).toContain(
      "100 targets are more than GitHub's 80 content-creating requests a minute, so the writes beyond each minute's 80 waited for the next minute.",
    )
    expect(main.summary).toContain(
      'One organization secret with secret-visibility: selected and secret-selected-repositories is a single write',
    )
    expect(main.state.revoke).toBe('false')
    expect(liveKeyIds()).toEqual([dg.keys[0]?.apiKeyId])
    expectNoLeaks([main, post], secrets())
  }, 120_000)
})
