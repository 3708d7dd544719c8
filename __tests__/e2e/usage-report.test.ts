// The usage report of dist/ against the Deepgram emulator: the key's own requests, made through
// the emulator's POST /v1/listen, read back from its usage, billing and request-log endpoints.
import {
  DEFAULT_ACCOUNT,
  startDeepgramEmulator,
  type DeepgramEmulator,
  type EmulatorAccount,
} from '../../harness/deepgram-emulator.ts'
import { silentWav } from '../../harness/deepgram-usage.ts'
import { runStep, type StepRun } from '../../harness/runner.ts'
import { allKeys, deepgramInputs, expectNoLeaks, PROJECT_ID, warningLines } from '../helpers/action.ts'

let dg: DeepgramEmulator
afterEach(async () => {
  await dg.close()
})

const ADMIN: EmulatorAccount = { ...DEFAULT_ACCOUNT, scopes: ['admin'] }
const KEYS_ONLY: EmulatorAccount = { ...DEFAULT_ACCOUNT, scopes: ['keys:write'] }

async function transcribe(key: string, seconds: number): Promise<void> {
  const answer = await fetch(`${dg.url}/v1/listen`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'audio/wav' },
    body: silentWav(seconds),
  })
  expect(answer.status).toBe(200)
}

/** Main, two transcriptions with the key main minted, then post: as one job. */
async function jobThatTranscribes(inputs: Record<string, string> = {}): Promise<{ main: StepRun; post: StepRun }> {
  const main = await runStep('main', { inputs: deepgramInputs(dg, { tags: 'ci, pr-42', ...inputs }) })
  expect(main.exitCode).toBe(0)
  const key = main.outputs['key'] ?? ''
  await transcribe(key, 2)
  await transcribe(key, 3)
  const post = await runStep('post', { inputs: deepgramInputs(dg, inputs), state: main.state })
  return { main, post }
}

const debugLines = (run: StepRun) => run.stdout.split('\n').filter((line) => line.startsWith('::debug::'))
const usagePaths = () =>
  dg.requests.filter((r) => /\/(usage\/breakdown|billing\/breakdown|requests)$/.test(r.path)).map((r) => r.path)

describe('the post step reports what the key used before it deletes it', () => {
  test('a job that transcribes twice: 2 requests, their 5 s of audio and their cost, then the delete', async () => {
    dg = await startDeepgramEmulator({ accounts: [ADMIN] })
    const { main, post } = await jobThatTranscribes()
    const keyId = main.outputs['key-id'] ?? ''
    expect(post.exitCode).toBe(0)
    expect(post.summary).toContain('### Deepgram usage')
    expect(post.summary).toContain(`| \`${keyId}\` | 2 | 5 s | $0.0004 |`)
    expect(post.summary).toContain('| 2 requests, 5 s |')
    expect(post.summary).toContain("Deepgram's figures lag behind")
    expect(post.summary).toContain(`https://console.deepgram.com/project/${PROJECT_ID}/usage`)
    expect(post.summary).toContain(`filtered by key \`${keyId}\` or tag \`ci\` or tag \`pr-42\``)
    expect(post.stdout).toContain(`Key ${keyId} used 2 requests and 5 s of audio ($0.0004)`)
    // Read first, with the key's id, from the day it was created; then deleted.
    const paths = dg.requests.map((r) => `${r.method} ${r.path}`)
    const deleteAt = paths.indexOf(`DELETE /v1/projects/${PROJECT_ID}/keys/${keyId}`)
    expect(deleteAt).toBeGreaterThan(paths.lastIndexOf(`GET /v1/projects/${PROJECT_ID}/usage/breakdown`))
    const usage = dg.requests.find((r) => r.path.endsWith('/usage/breakdown'))
    const day = new Date().toISOString().slice(0, 10)
    expect(usage?.query).toEqual({ accessor: keyId, start: day, end: day, grouping: 'accessor' })
    expect(dg.keys[0]?.deleted).toBe(true)
    expectNoLeaks([main, post], allKeys(dg))
  })

  test('a member may not read billing: the cost reads unknown, the rest is there, and no warning', async () => {
    dg = await startDeepgramEmulator({})
    const { main, post } = await jobThatTranscribes()
    expect(post.summary).toContain(`| \`${main.outputs['key-id']}\` | 2 | 5 s | unknown (needs billing:read) |`)
    expect(warningLines(post)).toEqual([])
    expectNoLeaks([main, post], allKeys(dg))
  })

  test('without usage:read: no warning under auto (one debug line), one warning under true; the key is deleted', async () => {
    dg = await startDeepgramEmulator({ accounts: [KEYS_ONLY] })
    const auto = await jobThatTranscribes()
    expect(auto.post.exitCode).toBe(0)
    expect(warningLines(auto.post)).toEqual([])
    expect(debugLines(auto.post)).toEqual([expect.stringContaining('No usage report: api-key may not read usage')])
    expect(auto.post.summary).not.toContain('Deepgram usage')
    const asked = await jobThatTranscribes({ 'usage-report': 'true' })
    expect(warningLines(asked.post)).toEqual([expect.stringContaining('No usage report: api-key may not read usage')])
    expect(asked.post.exitCode).toBe(0)
    expect(dg.keys.map((k) => k.deleted)).toEqual([true, true])
    expectNoLeaks([auto.main, auto.post, asked.main, asked.post], allKeys(dg))
  })

  test('usage-report: false sends no usage request', async () => {
    dg = await startDeepgramEmulator({})
    const { post } = await jobThatTranscribes({ 'usage-report': 'false' })
    expect(post.exitCode).toBe(0)
    expect(usagePaths()).toEqual([])
    expect(post.summary).not.toContain('Deepgram usage')
  })

  test('a step that created nothing asks nothing', async () => {
    dg = await startDeepgramEmulator({})
    const post = await runStep('post', { inputs: deepgramInputs(dg), state: {} })
    expect(post.exitCode).toBe(0)
    expect(dg.requests).toEqual([])
  })

  test.each([
    ['answers 500', (d: DeepgramEmulator) => d.fail({ route: 'usage', status: 500, times: 5 })],
    [
      'answers 5 MB',
      (d: DeepgramEmulator) => d.fail({ route: 'requests', status: 200, body: 'x'.repeat(5 * 1024 * 1024) }),
    ],
  ])('a usage endpoint that %s: the key is deleted, the step green', async (_, fault) => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    fault(dg)
    const post = await runStep('post', { inputs: deepgramInputs(dg), state: main.state })
    expect(post.exitCode).toBe(0)
    expect(dg.keys[0]?.deleted).toBe(true)
    expect(post.stdout).toContain(`Revoked key ${main.outputs['key-id']}.`)
    expect(post.stdout).toContain('Could not read the usage of key')
    expect(warningLines(post)).toEqual([])
    expectNoLeaks([main, post], allKeys(dg))
  })
})

describe('revoke and report mode', () => {
  async function taggedKeys() {
    dg = await startDeepgramEmulator({ accounts: [ADMIN] })
    const key = (tags: string[]) => dg.addKey({ projectId: PROJECT_ID, comment: 'pr key', tags })
    const first = key(['pr-42', 'preview'])
    const second = key(['pr-42'])
    const other = key(['pr-43'])
    dg.recordUsage({ accessor: first.apiKeyId, seconds: 30, tags: first.tags })
    dg.recordUsage({ accessor: first.apiKeyId, seconds: 90, tags: first.tags })
    dg.recordUsage({ accessor: second.apiKeyId, seconds: 60, tags: second.tags })
    dg.recordUsage({ accessor: other.apiKeyId, seconds: 3600, tags: other.tags })
    return { first, second, other }
  }

  test('revoke by tags reports each key and the total, in the summary and the outputs, then deletes', async () => {
    const { first, second, other } = await taggedKeys()
    const main = await runStep('main', { inputs: deepgramInputs(dg, { mode: 'revoke', tags: 'pr-42' }) })
    expect(main.exitCode).toBe(0)
    expect(main.outputs['revoked-count']).toBe('2')
    expect(main.outputs['usage-requests']).toBe('3')
    expect(main.outputs['usage-hours']).toBe(String(180 / 3600))
    expect(Number(main.outputs['usage-usd'])).toBeCloseTo((180 / 3600) * 0.258, 6)
    const perKey = JSON.parse(main.outputs['usage-json'] ?? '[]') as Record<string, unknown>[]
    // The request log, one key's detail, is left out for several keys.
    expect(perKey.map((k) => [k['key_id'], k['requests'], k['hours'], k['logged_requests']]).sort()).toEqual(
      [
        [first.apiKeyId, 2, 120 / 3600, null],
        [second.apiKeyId, 1, 60 / 3600, null],
      ].sort(),
    )
    expect(main.summary).toContain(`| \`${first.apiKeyId}\` | 2 | 2 min 0 s |`)
    expect(main.summary).toContain(`| \`${second.apiKeyId}\` | 1 | 1 min 0 s |`)
    expect(main.summary).toContain('| **Total** | 3 | 3 min 0 s | $0.0129 |')
    expect(main.summary).not.toContain(other.apiKeyId)
    // The report comes before the deletes.
    expect(main.summary.indexOf('### Deepgram usage')).toBeLessThan(main.summary.indexOf('### Deepgram keys revoked'))
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([other.apiKeyId])
    expectNoLeaks([main], allKeys(dg))
  })

  test('report mode reports the keys named, a deleted one too, and deletes nothing', async () => {
    const { first, other } = await taggedKeys()
    const gone = dg.addKey({ projectId: PROJECT_ID, comment: 'gone', tags: [], deleted: true })
    dg.recordUsage({ accessor: gone.apiKeyId, seconds: 6 })
    const before = dg.liveKeys().length
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, {
        mode: 'report',
        'key-id': `${first.apiKeyId}, ${gone.apiKeyId}`,
        'usage-since': '7d',
      }),
    })
    expect(main.exitCode).toBe(0)
    expect(main.outputs['usage-requests']).toBe('3')
    expect(main.outputs['revoked-count']).toBeUndefined()
    expect(main.summary).toContain(`| \`${gone.apiKeyId}\` | 1 | 6 s |`)
    expect(main.summary).not.toContain(other.apiKeyId)
    expect(dg.liveKeys()).toHaveLength(before)
    expect(dg.requests.filter((r) => r.method === 'DELETE')).toEqual([])
    const week = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10)
    expect(dg.requests.find((r) => r.path.endsWith('/usage/breakdown'))?.query['start']).toBe(week)
    expectNoLeaks([main], allKeys(dg))
  })

  test.each([
    [{ 'usage-report': 'sometimes' }, "Input usage-report: 'sometimes' is not one of auto, true or false."],
    [{ 'usage-since': 'last week', mode: 'report', tags: 'ci' }, "Input usage-since: 'last week' is not understood."],
    [{ 'usage-since': '7d' }, 'Input usage-since: applies to mode: revoke and mode: report only'],
  ])('a bad usage input is one error naming it and its forms, before any request', async (inputs, error) => {
    dg = await startDeepgramEmulator({})
    const main = await runStep('main', { inputs: deepgramInputs(dg, inputs) })
    expect(main.exitCode).toBe(1)
    const errors = main.stdout.split('\n').filter((line) => line.startsWith('::error::'))
    expect(errors).toEqual([expect.stringContaining(error)])
    expect(dg.requests).toEqual([])
  })
})
