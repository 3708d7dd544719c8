// Post after a main cut short while writing secrets: the decision (which targets hold the key, and
// so the key's fate) with an injected clock and GitHub's answers; the record main leaves; the
// reading of GitHub's answers and its clock.
import {
  KNOWN_CLOCK_MARGIN_MS,
  UNKNOWN_CLOCK_MARGIN_MS,
  answerFor,
  fateOf,
  writtenSince,
} from '../../src/action/flow/unconfirmed-secrets.ts'
import { runPost } from '../../src/action/post-step.ts'
import {
  loadRecordedWrites,
  saveWritePlan,
  writePlanOf,
  writeRecorder,
  type TargetWrite,
} from '../../src/action/secret-writes.ts'
import type { SecretPlace, SecretPlan, SecretTarget } from '../../src/github/plan.ts'
import { readSecretMetadata, secretPath } from '../../src/github/secret-metadata.ts'
import { offsetFloor, watchServerClock } from '../../src/github/server-clock.ts'
import { NetworkError, ServiceError, UnusableAnswerError } from '../../src/shared/errors.ts'
import { TransportError, type HttpRequest, type HttpResponse } from '../../src/shared/http.ts'
import { fakeClock, RecordingIO } from '../helpers/fakes.ts'

const APP: SecretPlace = { scope: 'repository', type: 'actions', owner: 'octo-org', repo: 'app' }
const API: SecretPlace = { scope: 'repository', type: 'actions', owner: 'octo-org', repo: 'api' }
const TOKEN = 'ghs_unitTestToken0123456789abcdefABCDEF01'
const ADMIN_KEY = 'dg_admin_key_for_unit_tests'
const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const KEY_ID = 'ad9c6799-d380-4db7-8c22-92c20a291229'
const EXPIRES = '2026-11-28T13:00:00.000Z'
const GITHUB = 'https://api.github.com'

const json = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers: { 'x-github-request-id': 'AB12:CD34', ...headers },
  body: JSON.stringify(body),
})
/** What a promise rejects with; fails the test when it resolves. */
const thrown = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('resolved, and a rejection was expected')
    },
    (error: unknown) => error,
  )
/** GitHub's times: whole seconds. */
const gitHubTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')

describe('writtenSince: does updated_at (GitHub clock) come from a write started at startedAt (runner clock)?', () => {
  const start = Date.parse('2026-11-28T12:00:00.700Z')

  test("with GitHub's lead known: the start moved to GitHub's clock, less 3 s", () => {
    const lead = 42_000
    expect(writtenSince(start + lead, start, lead)).toBe(true)
    // GitHub truncates to whole seconds: the second the write began in counts.
    expect(writtenSince(Math.floor((start + lead) / 1000) * 1000, start, lead)).toBe(true)
    expect(writtenSince(start + lead - KNOWN_CLOCK_MARGIN_MS, start, lead)).toBe(true)
    expect(writtenSince(start + lead - KNOWN_CLOCK_MARGIN_MS - 1, start, lead)).toBe(false)
    // Against the runner's clock alone, the same time would have been minutes off.
    expect(writtenSince(start - 600_000, start, -600_000)).toBe(true)
    expect(writtenSince(start - 600_000, start, undefined)).toBe(false)
  })

  test("without it: 5 minutes' leeway either way", () => {
    expect(writtenSince(start - UNKNOWN_CLOCK_MARGIN_MS, start, undefined)).toBe(true)
    expect(writtenSince(start - UNKNOWN_CLOCK_MARGIN_MS - 1, start, undefined)).toBe(false)
  })
})

describe('answerFor and fateOf', () => {
  const started: TargetWrite = { place: APP, startedAt: 1_000_000, confirmed: false }

  test('a confirmed write holds it; one never started does not; GitHub decides the rest', () => {
    expect(answerFor({ ...started, confirmed: true }, undefined, 0)).toEqual({ holds: true })
    expect(answerFor({ place: APP, confirmed: false }, undefined, 0)).toEqual({ holds: false })
    expect(answerFor(started, { exists: false }, 0)).toEqual({ holds: false })
    expect(answerFor(started, { exists: true, updatedAt: 1_000_000 }, 0)).toEqual({ holds: true })
    expect(answerFor(started, { exists: true, updatedAt: 900_000 }, 0)).toEqual({ holds: false })
    expect(answerFor(started, new Error('GitHub answered HTTP 500'), 0)).toEqual({
      holds: 'unknown',
      why: 'GitHub answered HTTP 500',
    })
  })

  test('deleted only when GitHub said of every target that it does not hold it', () => {
    expect(fateOf([{ holds: false }, { holds: false }])).toBe('revoke')
    expect(fateOf([{ holds: false }, { holds: true }])).toBe('keep')
    expect(fateOf([{ holds: false }, { holds: 'unknown', why: 'x' }])).toBe('keep')
    expect(fateOf([])).toBe('revoke')
  })
})

describe("GitHub's clock from Date headers", () => {
  test('a floor of its lead: the header has whole seconds, and came before we read it', () => {
    const received = Date.parse('2026-11-28T12:00:05.900Z')
    expect(offsetFloor('Sat, 28 Nov 2026 12:00:05 GMT', received)).toBe(-900)
    expect(offsetFloor('Sat, 28 Nov 2026 12:10:05 GMT', received)).toBe(599_100)
    expect(offsetFloor(undefined, received)).toBeUndefined()
    expect(offsetFloor('yesterday', received)).toBeUndefined()
  })

  test('the tightest floor of every answer seen', async () => {
    const clock = fakeClock(Date.parse('2026-11-28T12:00:00.500Z'))
    const dates = ['Sat, 28 Nov 2026 12:00:00 GMT', 'Sat, 28 Nov 2026 12:00:01 GMT', '']
    const watched = watchServerClock(() => Promise.resolve(json(200, {}, { date: dates.shift() ?? '' })), clock.now)
    expect(watched.offsetFloorMs()).toBeUndefined()
    await watched.send({ method: 'GET', url: GITHUB, headers: {} })
    expect(watched.offsetFloorMs()).toBe(-500)
    await watched.send({ method: 'GET', url: GITHUB, headers: {} })
    await watched.send({ method: 'GET', url: GITHUB, headers: {} })
    expect(watched.offsetFloorMs()).toBe(500)
  })
})

describe("reading a secret's metadata", () => {
  test.each<[SecretPlace, string]>([
    [APP, '/repos/octo-org/app/actions/secrets/K'],
    [{ ...APP, type: 'dependabot' }, '/repos/octo-org/app/dependabot/secrets/K'],
    [
      { scope: 'environment', type: 'actions', owner: 'octo-org', repo: 'app', environment: 'pr/42 x' },
      '/repos/octo-org/app/environments/pr%2F42%20x/secrets/K',
    ],
    [{ scope: 'organization', type: 'actions', org: 'octo-org' }, '/orgs/octo-org/actions/secrets/K'],
    [{ scope: 'organization', type: 'dependabot', org: 'octo-org' }, '/orgs/octo-org/dependabot/secrets/K'],
  ])('%o: GET %s', (place, path) => {
    expect(secretPath(place, 'K')).toBe(path)
  })

  const read = (answer: HttpResponse | Error) => {
    const sent: HttpRequest[] = []
    const clock = fakeClock()
    const send = (request: HttpRequest) => {
      sent.push(request)
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)
    }
    const link = {
      apiUrl: GITHUB,
      token: TOKEN,
      send,
      now: clock.now,
      userAgent: 'ua',
      deadline: clock.now() + 7_000,
      timeoutMs: 10_000,
    }
    return { result: readSecretMetadata(link, APP, 'DEEPGRAM_API_KEY'), sent }
  }

  test('once, with the token, the API version, and a deadline of what is left', async () => {
    const { result, sent } = read(json(200, { name: 'DEEPGRAM_API_KEY', updated_at: '2026-11-28T12:00:03Z' }))
    expect(await result).toEqual({ exists: true, updatedAt: Date.parse('2026-11-28T12:00:03Z') })
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({
      method: 'GET',
      url: `${GITHUB}/repos/octo-org/app/actions/secrets/DEEPGRAM_API_KEY`,
      timeoutMs: 7_000,
      headers: { authorization: `Bearer ${TOKEN}`, 'x-github-api-version': '2022-11-28', 'user-agent': 'ua' },
    })
  })

  test('404: the secret does not exist', async () => {
    expect(await read(json(404, { message: 'Not Found' })).result).toEqual({ exists: false })
  })

  test('any other answer is an error naming the status, message, request id and, for 403, the permission', async () => {
    const refused = await thrown(read(json(403, { message: 'Resource not accessible by integration' })).result)
    expect(refused).toBeInstanceOf(ServiceError)
    expect((refused as Error).message).toMatch(
      /^GitHub answered HTTP 403 while reading secret DEEPGRAM_API_KEY of repository octo-org\/app: Resource not accessible by integration \(request id AB12:CD34\)\. github-token needs Repository permission "Secrets: write"/,
    )
    const down = await thrown(read({ status: 502, headers: {}, body: '<html>bad gateway</html>' }).result)
    expect((down as Error).message).toContain(
      'HTTP 502 while reading secret DEEPGRAM_API_KEY of repository octo-org/app: HTTP 502 (no request id)',
    )
    const odd = await thrown(read(json(200, { name: 'DEEPGRAM_API_KEY' })).result)
    expect(odd).toBeInstanceOf(UnusableAnswerError)
    const silent = await thrown(read(new TransportError('no complete answer within 7000 ms', true)).result)
    expect(silent).toBeInstanceOf(NetworkError)
    expect((silent as Error).message).toContain('GitHub could not be reached while reading secret DEEPGRAM_API_KEY')
  })
})

describe("main's record of the writes", () => {
  const target = (repo: string): SecretTarget => ({ scope: 'repository', type: 'actions', owner: 'octo-org', repo })
  const plan: SecretPlan = {
    name: 'DEEPGRAM_API_KEY',
    token: TOKEN,
    apiUrl: GITHUB,
    targets: [target('app'), target('api'), target('web')],
  }

  test('the targets without the token, each start and confirmation: what post reads back', () => {
    const io = new RecordingIO()
    const clock = fakeClock()
    saveWritePlan(io, writePlanOf(plan, -1_500))
    const watch = writeRecorder(io, plan.targets, clock.now)
    watch.started(plan.targets[0] as SecretTarget)
    watch.started(plan.targets[1] as SecretTarget)
    watch.ended({ target: plan.targets[0] as SecretTarget, outcome: 'created' })
    watch.ended({ target: plan.targets[1] as SecretTarget, error: 'GitHub answered HTTP 500' })
    expect(JSON.stringify(io.saved)).not.toContain(TOKEN)
    const loaded = loadRecordedWrites(new RecordingIO({}, io.saved))
    expect(loaded).toEqual({
      name: 'DEEPGRAM_API_KEY',
      apiUrl: GITHUB,
      serverOffsetFloorMs: -1_500,
      writes: [
        { place: APP, startedAt: clock.now(), confirmed: true },
        // A failed write may have reached GitHub: post asks about it.
        { place: API, startedAt: clock.now(), confirmed: false },
        { place: { ...APP, repo: 'web' }, confirmed: false },
      ],
    })
  })

  test('a start that cannot be recorded stops the write; a confirmation that cannot is left to post to ask', () => {
    const full = new RecordingIO()
    full.saveState = () => {
      throw new Error('ENOSPC')
    }
    const watch = writeRecorder(full, plan.targets, fakeClock().now)
    expect(() => watch.started(plan.targets[0] as SecretTarget)).toThrow('ENOSPC')
    expect(() => watch.ended({ target: plan.targets[0] as SecretTarget, outcome: 'created' })).not.toThrow()
  })

  test.each([
    ['missing', {}],
    ['not JSON', { 'secret-writes': '{' }],
    ['a secret name that is not one', { 'secret-writes': JSON.stringify({ ...writePlanOf(plan, 0), name: '../x' }) }],
    [
      'an API URL in clear text across the network',
      { 'secret-writes': JSON.stringify({ ...writePlanOf(plan, 0), apiUrl: 'http://evil.example' }) },
    ],
    [
      'a target of no known shape',
      { 'secret-writes': JSON.stringify({ ...writePlanOf(plan, 0), places: [{ scope: 'user' }] }) },
    ],
  ])('a record %s is refused', (_, states) => {
    expect(typeof loadRecordedWrites(new RecordingIO({}, states))).toBe('string')
  })
})

describe('runPost after a main cut short while writing secrets (revoke: auto)', () => {
  // No usage report: these tests count post's requests, and the report has tests of its own.
  const inputs = {
    'api-key': ADMIN_KEY,
    'github-token': TOKEN,
    'deepgram-api-url': 'https://api.deepgram.com',
    'usage-report': 'false',
  }
  const start = Date.parse('2026-11-28T12:00:00.000Z')
  /** Main's state: the key kept only until GitHub is asked, each target's write as given. */
  const mainState = (writes: Record<string, string>, places: SecretPlace[] = [APP, API], offset?: number) => ({
    'project-id': PROJECT,
    'key-id': KEY_ID,
    'expires-at': EXPIRES,
    revoke: 'false',
    'kept-because': 'the job ended while writing secret DEEPGRAM_API_KEY, so some of its targets may hold it',
    'ask-github': 'true',
    'secret-writes': JSON.stringify({
      name: 'DEEPGRAM_API_KEY',
      apiUrl: GITHUB,
      places,
      ...(offset === undefined ? {} : { serverOffsetFloorMs: offset }),
    }),
    ...writes,
  })

  /** GitHub's answers by repository (a function of the request, or an error), and Deepgram's delete. */
  async function post(
    states: Record<string, string>,
    github: Record<string, HttpResponse | Error>,
    io = new RecordingIO(inputs, states),
  ) {
    const sent: HttpRequest[] = []
    let inFlight = 0
    let mostInFlight = 0
    const send = async (request: HttpRequest): Promise<HttpResponse> => {
      sent.push(request)
      const url = new URL(request.url)
      if (url.origin === GITHUB) {
        inFlight++
        mostInFlight = Math.max(mostInFlight, inFlight)
        await Promise.resolve()
        inFlight--
        const answer = github[url.pathname.split('/')[3] ?? '']
        if (answer === undefined) throw new Error(`unexpected ${request.url}`)
        if (answer instanceof Error) throw answer
        return answer
      }
      if (request.method === 'DELETE') return { status: 200, headers: {}, body: '{}' }
      throw new Error(`unexpected ${request.method} ${request.url}`)
    }
    await runPost({ io, send, clock: fakeClock(start + 5_000), userAgent: 'test' })
    const asked = sent.filter((r) => r.url.startsWith(GITHUB))
    const deleted = sent.filter((r) => r.method === 'DELETE')
    const said = io.log.filter((line) => /^(info|warning) /.test(line))
    return { io, asked, deleted, said, mostInFlight }
  }
  const secret = (updatedAt: number) => json(200, { name: 'DEEPGRAM_API_KEY', updated_at: gitHubTime(updatedAt) })
  const absent = json(404, { message: 'Not Found' })

  test('no target holds the key: it is deleted, and post says so', async () => {
    const { asked, deleted, said, io } = await post(
      mainState({ 'secret-write-0': `started ${start}`, 'secret-write-1': `started ${start}` }),
      { app: absent, api: secret(start - 86_400_000) },
    )
    expect(asked).toHaveLength(2)
    expect(deleted).toHaveLength(1)
    expect(said).toEqual([
      `info The job ended while writing secret DEEPGRAM_API_KEY, and GitHub shows that no target holds key ${KEY_ID} (not written: repository octo-org/app, repository octo-org/api): deleting it (revoke: auto).`,
      `info Revoked key ${KEY_ID}.`,
    ])
    expect(io.masked).toContain(TOKEN)
  })

  test('one target holds it (confirmed), the other not: kept, both named, only the unconfirmed one asked', async () => {
    const { asked, deleted, said } = await post(
      mainState({ 'secret-write-0': `confirmed ${start}`, 'secret-write-1': `started ${start}` }),
      { api: secret(start - 3_600_000) },
    )
    expect(asked.map((r) => new URL(r.url).pathname)).toEqual(['/repos/octo-org/api/actions/secrets/DEEPGRAM_API_KEY'])
    expect(deleted).toEqual([])
    expect(said).toEqual([
      `warning Key ${KEY_ID} is kept until it expires at ${EXPIRES}: secret DEEPGRAM_API_KEY holds it in repository octo-org/app, but the job ended before writing it to every target. Not written: repository octo-org/api. Run the job again to write them.`,
    ])
  })

  test('a write GitHub processed though main never heard back, on a runner clock 10 minutes fast: kept', async () => {
    const { deleted, said } = await post(mainState({ 'secret-write-0': `started ${start}` }, [APP], -600_000), {
      app: secret(start - 600_000 + 400),
    })
    expect(deleted).toEqual([])
    expect(said).toEqual([
      `info Key ${KEY_ID} is kept until it expires at ${EXPIRES}: secret DEEPGRAM_API_KEY holds it in repository octo-org/app.`,
    ])
  })

  test.each([
    [
      'answers 500',
      json(500, { message: 'Server Error' }),
      'GitHub answered HTTP 500 while reading secret DEEPGRAM_API_KEY of repository octo-org/app: Server Error',
    ],
    [
      'gives no answer in time',
      new TransportError('no complete answer within 7000 ms', true),
      'GitHub could not be reached while reading secret DEEPGRAM_API_KEY of repository octo-org/app',
    ],
  ])('GitHub %s: kept, with one warning giving why and the expiry', async (_, answer, why) => {
    const { deleted, said } = await post(
      mainState({ 'secret-write-0': `started ${start}`, 'secret-write-1': `started ${start}` }),
      {
        app: answer,
        api: absent,
      },
    )
    expect(deleted).toEqual([])
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(
      new RegExp(
        `^warning Key ${KEY_ID} is kept until it expires at ${EXPIRES}: the job ended while writing secret DEEPGRAM_API_KEY, and GitHub could not say which targets hold it: repository octo-org/app: `,
      ),
    )
    expect(said[0]).toContain(why)
    expect(said[0]).toContain('Not written: repository octo-org/api.')
  })

  test("the questions end within 7 s of post's start, leaving the rest of its 15 s to the deletion", async () => {
    const { asked } = await post(mainState({ 'secret-write-0': `started ${start}` }, [APP]), { app: absent })
    expect(asked[0]?.timeoutMs).toBe(7_000)
  })

  test('github-token empty in post: nothing asked, kept, with one warning', async () => {
    const { asked, said } = await post(
      mainState({ 'secret-write-0': `started ${start}` }, [APP]),
      {},
      new RecordingIO({ 'api-key': ADMIN_KEY }, mainState({ 'secret-write-0': `started ${start}` }, [APP])),
    )
    expect(asked).toEqual([])
    expect(said).toEqual([
      `warning Key ${KEY_ID} is kept until it expires at ${EXPIRES}: the job ended while writing secret DEEPGRAM_API_KEY, and GitHub could not say which targets hold it: repository octo-org/app: github-token is empty in the post step.`,
    ])
  })

  test("main's record unreadable: nothing asked, kept, with one warning", async () => {
    const { asked, said } = await post({ ...mainState({}), 'secret-writes': 'not json' }, {})
    expect(asked).toEqual([])
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(
      /^warning Key .* is kept until it expires at .*: the job ended while writing it to a secret, and the main step's record of the secret writes is missing or not JSON/,
    )
  })

  test('one question per unconfirmed target, at most 10 at a time; never-started targets are not asked', async () => {
    const repos = Array.from({ length: 25 }, (_, i) => `r${i}`)
    const places = repos.map((repo): SecretPlace => ({ ...APP, repo }))
    const writes = Object.fromEntries(repos.slice(0, 24).map((_, i) => [`secret-write-${i}`, `started ${start}`]))
    const { asked, deleted, mostInFlight } = await post(
      mainState(writes, places),
      Object.fromEntries(repos.map((r) => [r, absent])),
    )
    expect(asked).toHaveLength(24)
    expect(new Set(asked.map((r) => r.url)).size).toBe(24)
    expect(mostInFlight).toBeLessThanOrEqual(10)
    expect(deleted).toHaveLength(1)
  })

  test('revoke: true saved no question: post deletes without asking GitHub', async () => {
    const { asked, deleted } = await post(
      { ...mainState({ 'secret-write-0': `started ${start}` }), revoke: 'true', 'ask-github': '' },
      {},
    )
    expect(asked).toEqual([])
    expect(deleted).toHaveLength(1)
  })
})
