import {
  LOG_PAGE_SIZE,
  MAX_LOG_PAGES,
  readUsage,
  usageFromJson,
  usageJson,
  utcDateTime,
  utcDay,
  type KeyUsage,
  type UsageApi,
} from '../../src/deepgram/usage.ts'
import { readUsagePlan, readUsageSince } from '../../src/action/inputs/usage.ts'
import { usageSummary } from '../../src/action/usage/summary.ts'
import { InputError, ServiceError, UnusableAnswerError } from '../../src/shared/errors.ts'
import { thrownBy } from '../helpers/thrown.ts'

const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const KEY = 'ad9c6799-d380-4db7-8c22-92c20a291229'
const window = { since: new Date('2026-11-30T23:30:00.500Z'), until: new Date('2026-12-02T08:00:00Z') }
const OTHER = 'be0c3c1f-1a5e-4f8b-9d3c-2e7a6b5c4d3e'

/** One key's usage over the window. */
async function readKeyUsage(api: UsageApi, projectId: string, keyId: string, w: typeof window): Promise<KeyUsage> {
  const [usage] = await readUsage(api, projectId, [{ keyId, since: w.since }], w.until)
  if (!usage) throw new Error('no usage')
  return usage
}

/** A Deepgram that answers each path with `answer(path, query)`; a ServiceError status when it is a number. */
function fakeDeepgram(answer: (path: string, query: Record<string, string>) => unknown): {
  api: UsageApi
  asked: { path: string; query: Record<string, string> }[]
} {
  const asked: { path: string; query: Record<string, string> }[] = []
  const api: UsageApi = {
    readProject: async (_projectId, path, query, action, read) => {
      asked.push({ path, query })
      const body = await Promise.resolve(answer(path, query))
      if (typeof body === 'number')
        throw new ServiceError({ service: 'Deepgram', action, status: body, message: 'refused' })
      return read(body, (problem) => new UnusableAnswerError('Deepgram', action, 200, problem, 'req-1'))
    },
  }
  return { api, asked }
}

const usageResult = (requests: number, hours: number, models: string[] = []) => ({
  hours,
  total_hours: hours,
  agent_hours: 0,
  tokens_in: 0,
  tokens_out: 0,
  tts_characters: 0,
  requests,
  grouping: { start: '2026-12-01', end: '2026-12-01', models },
})

const logEntry = (n: number, keyId = KEY, duration: unknown = 2) => ({
  request_id: `req-${n}`,
  api_key_id: keyId,
  response: { details: { duration } },
})

function answers(overrides: Record<string, unknown> = {}) {
  return (path: string, query: Record<string, string>): unknown => {
    if (path in overrides) {
      const value = overrides[path]
      return typeof value === 'function' ? (value as (q: Record<string, string>) => unknown)(query) : value
    }
    if (path === 'usage/breakdown') return { results: [usageResult(2, 0.001, ['nova-3']), usageResult(1, 0.002)] }
    if (path === 'billing/breakdown') return { results: [{ dollars: 0.25, grouping: {} }] }
    return { page: Number(query['page']), limit: 1000, requests: [logEntry(1), logEntry(2)] }
  }
}

describe('readUsage', () => {
  test('sums the breakdowns over the UTC days of the window, and counts the log', async () => {
    const { api, asked } = fakeDeepgram(answers())
    const usage = await readKeyUsage(api, PROJECT, KEY, window)
    expect(usage).toEqual({
      keyId: KEY,
      start: '2026-11-30',
      end: '2026-12-02',
      usage: {
        requests: 3,
        hours: 0.003,
        agentHours: 0,
        ttsCharacters: 0,
        tokensIn: 0,
        tokensOut: 0,
        models: ['nova-3'],
      },
      usd: 0.25,
      log: { requests: 2, seconds: 4, complete: true },
      denied: [],
    })
    expect(asked).toEqual([
      {
        path: 'usage/breakdown',
        query: { start: '2026-11-30', end: '2026-12-02', grouping: 'accessor', accessor: KEY },
      },
      {
        path: 'billing/breakdown',
        query: { start: '2026-11-30', end: '2026-12-02', grouping: 'accessor', accessor: KEY },
      },
      {
        path: 'requests',
        query: {
          accessor: KEY,
          start: '2026-11-30T23:30:00+00:00',
          end: '2026-12-02T08:00:00+00:00',
          limit: '1000',
          page: '0',
        },
      },
    ])
  })

  test('several keys share the breakdowns of their start day, each counting only what names it; no log', async () => {
    const grouped = (accessor: string, requests: number) => ({
      ...usageResult(requests, requests / 100),
      grouping: { accessor },
    })
    const { api, asked } = fakeDeepgram(
      answers({
        'usage/breakdown': { results: [grouped(KEY.toUpperCase(), 2), grouped(OTHER, 5), grouped(KEY, 1)] },
        'billing/breakdown': {
          results: [
            { dollars: 1, grouping: { accessor: OTHER } },
            { dollars: 2, grouping: {} },
          ],
        },
      }),
    )
    const later = new Date('2026-12-01T10:00:00Z')
    const third = '00000000-0000-4000-8000-000000000003'
    const usage = await readUsage(
      api,
      PROJECT,
      [
        { keyId: KEY, since: window.since },
        { keyId: OTHER, since: new Date('2026-11-30T01:00:00Z') },
        { keyId: third, since: later },
      ],
      window.until,
    )
    expect(usage.map((u) => [u.keyId, u.start, u.usage?.requests, u.usd, u.log])).toEqual([
      [KEY, '2026-11-30', 3, 0, undefined],
      [OTHER, '2026-11-30', 5, 1, undefined],
      // Alone on its day, it is asked by accessor: a result naming none is its own.
      [third, '2026-12-01', 0, 2, undefined],
    ])
    expect(asked.map((a) => `${a.path} ${a.query['start']} ${a.query['accessor'] ?? 'all'}`).sort()).toEqual([
      'billing/breakdown 2026-11-30 all',
      `billing/breakdown 2026-12-01 ${third}`,
      'usage/breakdown 2026-11-30 all',
      `usage/breakdown 2026-12-01 ${third}`,
    ])
  })

  test('a 403 means the credential may not read: usage:read, billing:read', async () => {
    const noBilling = await readKeyUsage(fakeDeepgram(answers({ 'billing/breakdown': 403 })).api, PROJECT, KEY, window)
    expect(noBilling.usd).toBeUndefined()
    expect(noBilling.usage?.requests).toBe(3)
    expect(noBilling.denied).toEqual(['billing:read'])
    const nothing = await readKeyUsage(fakeDeepgram(() => 403).api, PROJECT, KEY, window)
    expect(nothing).toEqual({
      keyId: KEY,
      start: '2026-11-30',
      end: '2026-12-02',
      denied: ['usage:read', 'billing:read'],
    })
  })

  test('any other refusal is thrown', async () => {
    const failing = fakeDeepgram(answers({ 'usage/breakdown': 500 }))
    await expect(readKeyUsage(failing.api, PROJECT, KEY, window)).rejects.toThrow(ServiceError)
  })

  test('follows the log page after page, counting each request once and only those of the key', async () => {
    const pages = [
      Array.from({ length: LOG_PAGE_SIZE }, (_, i) => logEntry(i)),
      // A page that repeats one request and holds another key's: neither counts.
      [logEntry(999), logEntry(1000), logEntry(1001, OTHER)],
    ]
    const { api, asked } = fakeDeepgram(
      answers({ requests: (q: Record<string, string>) => ({ requests: pages[Number(q['page'])] ?? [] }) }),
    )
    const usage = await readKeyUsage(api, PROJECT, KEY, window)
    expect(usage.log).toEqual({ requests: 1001, seconds: 2002, complete: true })
    expect(asked.filter((a) => a.path === 'requests').map((a) => a.query['page'])).toEqual(['0', '1'])
  })

  test(`stops after ${MAX_LOG_PAGES} full pages, and then says the count is at least`, async () => {
    let next = 0
    const full = () => ({ requests: Array.from({ length: LOG_PAGE_SIZE }, () => logEntry(next++)) })
    const { api, asked } = fakeDeepgram(answers({ requests: full }))
    const usage = await readKeyUsage(api, PROJECT, KEY, window)
    expect(usage.log).toEqual({
      requests: MAX_LOG_PAGES * LOG_PAGE_SIZE,
      seconds: MAX_LOG_PAGES * LOG_PAGE_SIZE * 2,
      complete: false,
    })
    expect(asked.filter((a) => a.path === 'requests')).toHaveLength(MAX_LOG_PAGES)
    expect(usageSummary([usage], [], { tags: [], what: 'key x' })).toContain('at least 10000 requests')
  })

  test.each([
    ['usage/breakdown', 'not JSON', 'the answer is not a JSON object'],
    ['usage/breakdown', { results: 'all' }, 'the answer has no results list'],
    ['usage/breakdown', { results: [{ ...usageResult(1, 1), requests: '2' }] }, "a result's requests is not a number"],
    ['usage/breakdown', { results: [{ ...usageResult(1, 1), hours: -1 }] }, "a result's hours is not a number"],
    ['usage/breakdown', { results: [{ ...usageResult(1, 1), tokens_in: null }] }, "a result's tokens_in"],
    ['billing/breakdown', { results: [{ dollars: Infinity }] }, "a result's dollars"],
    ['requests', { requests: [{ api_key_id: KEY }] }, 'a request has no request_id'],
    ['requests', { requests: [logEntry(1, KEY, '12s')] }, "a request's duration"],
    ['requests', { requests: Array.from({ length: LOG_PAGE_SIZE + 1 }, (_, i) => logEntry(i)) }, 'over 1000'],
  ])('an answer of %s that is not the right shape is unusable (#%#)', async (path, body, problem) => {
    const { api } = fakeDeepgram(answers({ [path]: body }))
    const error = await readKeyUsage(api, PROJECT, KEY, window).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnusableAnswerError)
    expect((error as Error).message).toContain(problem)
    expect((error as Error).message).toContain('request id req-1')
  })

  test('an end before the start (a runner whose clock is behind) asks the start day alone', async () => {
    const { api, asked } = fakeDeepgram(answers())
    await readKeyUsage(api, PROJECT, KEY, {
      since: new Date('2026-12-02T00:00:01Z'),
      until: new Date('2026-12-01T23:59:00Z'),
    })
    expect(asked[0]?.query).toMatchObject({ start: '2026-12-02', end: '2026-12-02' })
  })

  test('UTC days and times, whatever the zone of the runner', () => {
    expect(utcDay(new Date('2026-12-01T23:59:59-05:00'))).toBe('2026-12-02')
    expect(utcDateTime(new Date('2026-12-01T12:00:00.999+01:00'))).toBe('2026-12-01T11:00:00+00:00')
  })
})

describe('usage as JSON', () => {
  const usage: KeyUsage = {
    keyId: KEY,
    start: '2026-12-01',
    end: '2026-12-02',
    usage: { requests: 2, hours: 0.5, agentHours: 0, ttsCharacters: 10, tokensIn: 1, tokensOut: 2, models: ['nova-3'] },
    log: { requests: 2, seconds: 1800, complete: true },
    denied: ['billing:read'],
  }

  test('reads back what it writes, unknown figures as null', () => {
    const json = usageJson(usage)
    expect(json['usd']).toBeNull()
    expect(usageFromJson(JSON.parse(JSON.stringify(json)))).toEqual(usage)
  })

  test.each([
    [{ key_id: KEY }, 'no key_id, start or end'],
    [{ ...usageJson(usage), start: 'yesterday' }, 'not a day'],
    [{ ...usageJson(usage), requests: -1 }, "a key's requests"],
    [{ ...usageJson(usage), usd: '1' }, "a key's usd"],
    [{ ...usageJson(usage), denied: ['keys:write'] }, 'no denied list'],
  ])('names what is wrong with a broker answer (#%#)', (value, problem) => {
    expect(usageFromJson(value)).toContain(problem)
  })
})

describe('the summary', () => {
  test('escapes model names and tags from answers and inputs', () => {
    const usage: KeyUsage = {
      keyId: KEY,
      start: '2026-12-01',
      end: '2026-12-01',
      usage: {
        requests: 1,
        hours: 1,
        agentHours: 0,
        ttsCharacters: 0,
        tokensIn: 0,
        tokensOut: 0,
        models: ['x|<img src=y>\n::warning::z'],
      },
      denied: [],
    }
    const markdown = usageSummary([usage], [], { tags: ['a`b'], what: 'key <b>x</b>' })
    expect(markdown).not.toMatch(/[^\\]</)
    expect(markdown).not.toMatch(/\n::warning::/)
    expect(markdown).toContain('x\\|\\<img src=y\\>\\\\n::warning::z')
  })
})

describe('usage inputs', () => {
  const now = new Date('2026-12-07T10:00:00Z')
  const since = (value: string) => readUsageSince((name) => (name === 'usage-since' ? value : ''), now)

  test.each([
    ['7d', '2026-11-30T10:00:00.000Z'],
    ['36h', '2026-12-05T22:00:00.000Z'],
    ['1w1d', '2026-11-29T10:00:00.000Z'],
    ['2026-12-01', '2026-12-01T00:00:00.000Z'],
    ['2026-12-01T12:00:00+02:00', '2026-12-01T10:00:00.000Z'],
  ])('usage-since %s is %s', (value, iso) => {
    expect(since(value)?.toISOString()).toBe(iso)
  })

  test.each([
    ['last week', 'is not understood'],
    ['2026-02-30', 'is not a real day'],
    ['2026-12-08', 'is in the future'],
    ['400d', 'is more than 366 days back'],
    ['2026-12-01T12:00:00', 'is not understood'],
  ])('usage-since %s is refused: it %s, and the error names every form', (value, why) => {
    const error = thrownBy(InputError, () => since(value))
    expect(error.message).toBe(
      `Input usage-since: '${value}' ${why}. Give a duration back from now (7d, 2w, 36h, 1d12h), a UTC day (2026-12-01), or an ISO 8601 date-time with a zone (2026-12-01T12:00:00Z), at most 366 days back; or leave it empty for each key since its creation.`,
    )
  })

  test('usage-report false in report mode, and usage-since in create mode, are mistakes', () => {
    const input = (values: Record<string, string>) => (name: string) => values[name] ?? ''
    expect(
      thrownBy(InputError, () => readUsagePlan(input({ 'usage-report': 'false' }), 'report', now)).message,
    ).toContain('Input usage-report: is false, and mode: report does nothing else')
    expect(thrownBy(InputError, () => readUsagePlan(input({ 'usage-since': '7d' }), 'create', now)).message).toContain(
      'Input usage-since: applies to mode: revoke and mode: report only',
    )
    expect(readUsagePlan(input({}), 'create', now)).toEqual({ report: 'auto' })
  })
})
