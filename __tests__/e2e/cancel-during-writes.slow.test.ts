// A job cancelled while the action writes the new key to its secrets, the runner's way (SIGINT,
// SIGTERM 7.5 s later, then a kill), after a target already holds the key: post must not delete a
// key that a secret holds (revoke: auto: GitHub says the secret was written), and must still delete
// it when the step said revoke: true. More cases in cancelled-writes.slow.test.ts.
// In the slow project: each case waits out the runner's 7.5 s between SIGINT and SIGTERM.
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN, startGitHubEmulator, type GitHubEmulator } from '../../harness/github-emulator.ts'
import { runStep } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks } from '../helpers/action.ts'

let dg: DeepgramEmulator
let gh: GitHubEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
  // Each write is done at once, but its answer takes longer than the runner waits after a cancel.
  gh = await startGitHubEmulator({ writeLatencyMs: 20_000 })
})
afterEach(async () => {
  await Promise.all([dg.close(), gh.close()])
})

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return deepgramInputs(dg, {
    'secret-name': 'DEEPGRAM_API_KEY',
    'github-token': DEFAULT_GITHUB_TOKEN,
    'github-api-url': gh.url,
    ...extra,
  })
}

async function cancelledWhileWriting(extra: Record<string, string> = {}) {
  // Cancelled once GitHub has the write (stored at once, answered 20 s later).
  const put = gh.nextRequest(/^PUT /)
  const main = await runStep('main', { inputs: inputs(extra), cancelWhen: put })
  const written = gh.secrets.find((s) => s.name === 'DEEPGRAM_API_KEY')
  const post = await runStep('post', { inputs: inputs(extra), state: main.state })
  return { main, post, written }
}

/** Post's questions to GitHub: GET of the secret's metadata. */
const secretQuestions = () =>
  gh.requests.filter((r) => r.method === 'GET' && /\/secrets\/DEEPGRAM_API_KEY$/.test(r.path))

describe('a job cancelled while writing secrets', () => {
  test('revoke: auto: the key a secret already holds is kept, and post says why', async () => {
    const { main, post, written } = await cancelledWhileWriting()
    expect(main.exitCode).not.toBe(0)
    const [key] = dg.keys
    expect(written?.value).toBe(key?.key)
    expect(main.state).toMatchObject({ 'key-id': key?.apiKeyId, revoke: 'false', 'ask-github': 'true' })
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(
      `Key ${key?.apiKeyId} is kept until it expires at ${main.state['expires-at']}: secret DEEPGRAM_API_KEY holds it in repository octo-org/app.`,
    )
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([key?.apiKeyId])
    expect(dg.requests.filter((r) => r.method === 'DELETE')).toEqual([])
    expectNoLeaks([main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  }, 40_000)

  test('revoke: true: post deletes the key, as the step asked', async () => {
    const { main, post } = await cancelledWhileWriting({ revoke: 'true' })
    expect(main.exitCode).not.toBe(0)
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(`Revoked key ${dg.keys[0]?.apiKeyId}.`)
    expect(dg.liveKeys()).toEqual([])
    expect(secretQuestions()).toEqual([])
    expectNoLeaks([main, post], [...allKeys(dg), DEFAULT_GITHUB_TOKEN])
  }, 40_000)
})
