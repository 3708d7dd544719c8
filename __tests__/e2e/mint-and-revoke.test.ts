import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { runJob, runStep } from '../../harness/runner.ts'
import { requestSchema, schemaErrors } from '../helpers/schema.ts'
import { ADMIN_KEY, allKeys, deepgramInputs, expectNoLeaks, PROJECT_ID, warningLines } from '../helpers/action.ts'

let dg: DeepgramEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({})
})
afterEach(async () => {
  await dg.close()
})

const createSchema = requestSchema('deepgram', 'POST /v1/projects/{project_id}/keys')
const creates = () => dg.requests.filter((r) => r.method === 'POST')

describe('a job that mints a key and revokes it when it ends', () => {
  test('masks, outputs and revokes the key, and never shows it', async () => {
    const { main, post } = await runJob({
      inputs: deepgramInputs(dg, { scopes: 'usage:write, keys:write', 'allow-key-management': 'true', tags: 'ci' }),
    })
    expect(main.exitCode).toBe(0)
    const [key] = dg.keys
    if (!key) throw new Error('no key was created')

    // The admin key is masked first thing, the new key before anything else is written.
    const lines = main.stdout.split('\n').filter((line) => line !== '')
    expect(lines[0]).toBe(`::add-mask::${ADMIN_KEY}`)
    const keyMask = lines.indexOf(`::add-mask::${key.key}`)
    expect(keyMask).toBeGreaterThan(0)
    expect(lines.slice(1, keyMask).every((line) => !line.startsWith('::') || line.startsWith('::add-mask::'))).toBe(
      true,
    )

    expect(main.outputs).toEqual({
      key: key.key,
      'key-id': key.apiKeyId,
      'project-id': PROJECT_ID,
      'expires-at': new Date(Date.parse(key.expirationDate ?? '')).toISOString(),
      skipped: 'false',
    })
    expect(main.state).toEqual({
      source: 'deepgram',
      'project-id': PROJECT_ID,
      invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
      'key-id': key.apiKeyId,
      'expires-at': main.outputs['expires-at'],
      revoke: 'true',
      'kept-because': '',
      'key-created': key.created,
      'key-tags': 'ci',
    })
    expect(main.stdout).toContain(
      `Created key ${key.apiKeyId} in project ${PROJECT_ID}: scopes usage:write, keys:write, keys:read (Deepgram added keys:read)`,
    )
    expect(main.summary).toContain(key.apiKeyId)
    expect(main.summary).toContain('`keys:read`')
    expect(main.summary).toContain('revoked when the job ends')

    const [create] = creates()
    expect(create?.headers.authorization).toBe(`Token ${ADMIN_KEY}`)
    expect(schemaErrors(create?.body, createSchema)).toEqual([])
    expect(create?.body).toMatchObject({
      scopes: ['usage:write', 'keys:write'],
      tags: ['ci'],
      time_to_live_in_seconds: 3600,
    })
    expect((create?.body as { comment: string }).comment).toMatch(
      /^GitHub Actions: octo-org\/app \/ workflow CI \/ run 4242\.1 \/ job test \[dgk:[0-9a-f]{16}\]$/,
    )

    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(`Revoked key ${key.apiKeyId}.`)
    expect(post.summary).toContain('revoked')
    expect(dg.liveKeys()).toEqual([])
    expectNoLeaks([main, post], allKeys(dg))
  })

  test('gives each invocation its own comment', async () => {
    await runStep('main', { inputs: deepgramInputs(dg) })
    await runStep('main', { inputs: deepgramInputs(dg) })
    const [first, second] = dg.keys.map((k) => k.comment)
    expect(first).not.toBe(second)
  })

  test('sends an expiration date, and omits tags when there are none', async () => {
    const when = new Date(Date.now() + 2 * 3600_000)
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { expiration: when.toISOString(), comment: 'nightly' }),
    })
    expect(main.exitCode).toBe(0)
    const body = creates()[0]?.body
    expect(schemaErrors(body, createSchema)).toEqual([])
    expect(body).toEqual({
      comment: expect.stringMatching(/^nightly \[dgk:[0-9a-f]{16}\]$/),
      scopes: ['usage:write'],
      expiration_date: when.toISOString(),
    })
    expect(main.outputs['expires-at']).toBe(when.toISOString())
  })

  test('uses the only project api-key can see when project-id is empty', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg, { 'project-id': '' }) })
    expect(main.exitCode).toBe(0)
    expect(dg.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/projects',
      `POST /v1/projects/${PROJECT_ID}/keys`,
    ])
    expect(main.outputs['project-id']).toBe(PROJECT_ID)
  })

  test('keeps the key when revoke is false: post sends nothing', async () => {
    const { main, post } = await runJob({ inputs: deepgramInputs(dg, { revoke: 'false' }) })
    expect(main.state.revoke).toBe('false')
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('is kept until it expires')
    expect(dg.requests.filter((r) => r.method === 'DELETE')).toEqual([])
    expect(dg.liveKeys()).toHaveLength(1)
  })

  test('post sends nothing when main created no key', async () => {
    const { main, post } = await runJob({ inputs: deepgramInputs(dg, { scopes: '' }) })
    expect(main.exitCode).toBe(1)
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('nothing to revoke')
    expect(dg.requests).toEqual([])
  })

  test("post asks Deepgram even when the runner's clock says the key has expired", async () => {
    const state = {
      'project-id': PROJECT_ID,
      'key-id': 'b5b3e4a0-0000-4000-8000-000000000001',
      'expires-at': '2026-01-01T00:00:00.000Z',
      revoke: 'true',
    }
    const post = await runStep('post', { inputs: deepgramInputs(dg, { 'usage-report': 'false' }), state })
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain('Key b5b3e4a0-0000-4000-8000-000000000001 was already deleted.')
    expect(dg.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['DELETE 404'])
  })

  test('post takes a key deleted elsewhere as already gone', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    const keyId = main.outputs['key-id'] ?? ''
    await fetch(`${dg.url}/v1/projects/${PROJECT_ID}/keys/${keyId}`, {
      method: 'DELETE',
      headers: { authorization: `Token ${ADMIN_KEY}` },
    })
    const post = await runStep('post', { inputs: deepgramInputs(dg), state: main.state })
    expect(post.exitCode).toBe(0)
    expect(post.stdout).toContain(`Key ${keyId} was already deleted.`)
    expect(warningLines(post)).toEqual([])
  })

  test('post retries a transient failure, then revokes', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    dg.fail({ route: 'delete', status: 503, times: 2 })
    const post = await runStep('post', { inputs: deepgramInputs(dg), state: main.state })
    expect(post.exitCode).toBe(0)
    expect(dg.requests.filter((r) => r.method === 'DELETE').map((r) => r.status)).toEqual([503, 503, 200])
    expect(dg.liveKeys()).toEqual([])
  })

  test('a revocation that keeps failing is a warning with status, message and request id, not a failure', async () => {
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    dg.fail({ route: 'delete', status: 500, times: 10 })
    const post = await runStep('post', { inputs: deepgramInputs(dg), state: main.state })
    expect(post.exitCode).toBe(0)
    const [warning] = warningLines(post)
    expect(warning).toMatch(
      /Could not revoke key [0-9a-f-]+: Deepgram answered HTTP 500 INTERNAL_SERVER_ERROR while deleting key/,
    )
    expect(warning).toMatch(/\(request id [0-9a-f-]{36}\)/)
    expect(warning).toContain('It expires on its own at')
    expectNoLeaks([main, post], allKeys(dg))
  })
})
