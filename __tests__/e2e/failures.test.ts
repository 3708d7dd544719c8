import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { runJob, runStep } from '../../harness/runner.ts'
import { ADMIN_KEY, allKeys, deepgramInputs, expectNoLeaks, PROJECT_ID, theError } from '../helpers/action.ts'

let dg: DeepgramEmulator
beforeEach(async () => {
  dg = await startDeepgramEmulator({
    projects: [
      { projectId: PROJECT_ID, name: 'Demo project' },
      { projectId: 'b9a6e3d2-1c4f-4e5a-9b8c-7d6e5f4a3b2c', name: 'Staging' },
    ],
    accounts: [
      { apiKey: ADMIN_KEY, projectIds: [PROJECT_ID], scopes: ['member'] },
      { apiKey: 'dg_reader_key_0000000000000000000000', projectIds: [PROJECT_ID], scopes: ['keys:read'] },
      {
        apiKey: 'dg_two_projects_key_00000000000000000',
        projectIds: [PROJECT_ID, 'b9a6e3d2-1c4f-4e5a-9b8c-7d6e5f4a3b2c'],
        scopes: ['member'],
      },
    ],
  })
})
afterEach(async () => {
  await dg.close()
})

describe('bad input fails with one clear error before any request', () => {
  test.each([
    [{ 'project-id': 'not-a-uuid' }, 'project-id', /UUID/],
    [{ scopes: '' }, 'scopes', /separated by commas or newlines/],
    [{ expiration: 'never' }, 'expiration', /short-lived/],
    [{ expiration: 'abc' }, 'expiration', /90s, 30m, 2h, 1d, 2w, 1h30m/],
    [{ expiration: '0' }, 'expiration', /not in the future/],
    [{ expiration: '-5m' }, 'expiration', /negative/],
    [{ expiration: '2020-01-01T00:00:00Z' }, 'expiration', /in the past/],
    [{ expiration: '2030-01-01T00:00:00' }, 'expiration', /no zone/],
    [{ revoke: 'maybe' }, 'revoke', /auto, true or false/],
    [
      { tags: 'ci, pr 42' },
      'tags',
      /'pr 42' is not a tag\. Give at most 20 tags of letters, digits and _\.:\/@\+=- \(no commas or spaces\)/,
    ],
    [{ scopes: 'usage::write' }, 'scopes', /not a scope/],
    [{ 'deepgram-api-url': 'http://example.com' }, 'deepgram-api-url', /clear text/],
    [{ 'deepgram-api-url': 'not a url' }, 'deepgram-api-url', /not a URL/],
    [{ 'api-key': '' }, 'api-key', /forks.*Dependabot/s],
    [{ 'key-id': 'ad9c6799-d380-4db7-8c22-92c20a291229' }, 'key-id', /mode: revoke and mode: report only/],
  ])('%p', async (inputs, input, forms) => {
    const main = await runStep('main', { inputs: deepgramInputs(dg, inputs) })
    expect(main.exitCode).toBe(1)
    const error = theError(main)
    expect(error.startsWith(`Input ${input}: `)).toBe(true)
    expect(error).toMatch(forms)
    expect(dg.requests).toEqual([])
    expect(main.outputs).toEqual({})
    expectNoLeaks([main], [ADMIN_KEY])
  })
})

describe('Deepgram refusals name the status, the message, the request id and what to do', () => {
  test('an unknown api-key', async () => {
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'api-key': 'dg_wrong_key_11111111111111111111' }),
    })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Deepgram answered HTTP 401 INVALID_AUTH while creating the key: Invalid credentials\./,
    )
    expect(theError(main)).toMatch(/\(request id [0-9a-f-]{36}\)/)
    expect(theError(main)).toContain('Check the api-key input')
    expectNoLeaks([main], ['dg_wrong_key_11111111111111111111'])
  })

  test('an api-key without keys:write', async () => {
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'api-key': 'dg_reader_key_0000000000000000000000' }),
    })
    expect(theError(main)).toMatch(
      /HTTP 403 INSUFFICIENT_PERMISSIONS .*User does not have sufficient permissions\..*needs keys:write in this project/,
    )
  })

  test('a project api-key does not belong to', async () => {
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'project-id': 'b9a6e3d2-1c4f-4e5a-9b8c-7d6e5f4a3b2c' }),
    })
    expect(theError(main)).toMatch(
      /HTTP 404 NOT_FOUND .*A project with the submitted ID cannot be found\..*Check the project-id input/,
    )
  })

  test('several projects and no project-id: the error lists them', async () => {
    const main = await runStep('main', {
      inputs: deepgramInputs(dg, { 'api-key': 'dg_two_projects_key_00000000000000000', 'project-id': '' }),
    })
    expect(theError(main)).toBe(
      `Input project-id: is empty, and api-key sees 2 projects: Demo project (${PROJECT_ID}), Staging (b9a6e3d2-1c4f-4e5a-9b8c-7d6e5f4a3b2c). Set project-id to one of them.`,
    )
    expect(dg.requests.map((r) => r.method)).toEqual(['GET'])
  })

  test('a 400 is final: no retry', async () => {
    dg.fail({
      route: 'create',
      status: 400,
      body: { category: 'INVALID_JSON', message: 'Invalid JSON submitted.', details: 'bad', request_id: 'req-400' },
    })
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    expect(theError(main)).toBe(
      'Deepgram answered HTTP 400 INVALID_JSON while creating the key: Invalid JSON submitted. bad (request id req-400).',
    )
    expect(dg.requests).toHaveLength(1)
  })
})

describe('transient failures are retried, and leave no orphan key', () => {
  test('a 429 with Retry-After is waited out and retried', async () => {
    dg.fail({ route: 'create', status: 429, headers: { 'retry-after': '1' } })
    const started = Date.now()
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(0)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    expect(dg.requests.map((r) => r.status)).toEqual([429, 200])
    expect(dg.liveKeys()).toHaveLength(1)
  })

  test('a create that succeeded but answered 503 is deleted before the retry', async () => {
    dg.commitThenFail(503)
    const { main, post } = await runJob({ inputs: deepgramInputs(dg, { 'usage-report': 'false' }) })
    expect(main.exitCode).toBe(0)
    expect(dg.keys).toHaveLength(2)
    expect(dg.liveKeys()).toEqual([])
    expect(dg.keys[0]?.deleted).toBe(true)
    expect(main.outputs['key-id']).toBe(dg.keys[1]?.apiKeyId)
    expect(main.stdout).toContain(`Deleted key ${dg.keys[0]?.apiKeyId}, created by an attempt whose answer was lost`)
    expect(dg.requests.map((r) => `${r.method} ${r.status}`)).toEqual([
      'POST 503',
      'GET 200',
      'DELETE 200',
      'POST 200',
      'DELETE 200',
    ])
    expectNoLeaks([main, post], allKeys(dg))
  })

  test('a connection reset after the create went through leaves one key', async () => {
    dg.commitThenReset()
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(0)
    expect(dg.liveKeys().map((k) => k.apiKeyId)).toEqual([main.outputs['key-id']])
    expectNoLeaks([main], allKeys(dg))
  })

  test('when every attempt fails after creating a key, none survives and the step fails', async () => {
    dg.commitThenFail(502, 10)
    const main = await runStep('main', { inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(/HTTP 502 .*while creating the key/)
    expect(dg.keys.length).toBeGreaterThan(1)
    expect(dg.liveKeys()).toEqual([])
    expectNoLeaks([main], allKeys(dg))
  })

  test('a key created without the expiry asked for is deleted and the step fails', async () => {
    dg.ignoreExpiry()
    const { main, post } = await runJob({ inputs: deepgramInputs(dg) })
    expect(main.exitCode).toBe(1)
    const key = dg.keys[0]
    expect(theError(main)).toBe(
      `Deepgram created key ${key?.apiKeyId}, but the answer carries no expiration_date: the key would never expire. The key was deleted.`,
    )
    expect(dg.liveKeys()).toEqual([])
    expect(main.outputs).toEqual({ skipped: 'false' })
    // Main saved the marker before the create; post checks by it that nothing is left.
    expect(main.state).toEqual({
      source: 'deepgram',
      'project-id': PROJECT_ID,
      invocation: expect.stringMatching(/^[0-9a-f]{16}$/),
    })
    expect(post.stdout).toContain('nothing to revoke')
    expectNoLeaks([main, post], allKeys(dg))
  })

  test('an unreachable Deepgram fails with the cause, after retrying', async () => {
    const url = dg.url
    await dg.close()
    const main = await runStep('main', { inputs: { ...deepgramInputs(dg), 'deepgram-api-url': url } })
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toMatch(
      /^Deepgram could not be reached while creating the key after 4 attempts: .*ECONNREFUSED.*Check that the runner can reach 127\.0\.0\.1:\d+/,
    )
    dg = await startDeepgramEmulator({})
  })
})
