// What keys used, read from Deepgram's usage breakdown, billing breakdown and request log
// (GET /v1/projects/{id}/usage/breakdown, /billing/breakdown, /requests) by the keys' ids
// (Deepgram's "accessor"). For one key the three are read at once: one round trip when its log
// fits in one page. Every answer is checked like any other (size by the HTTP layer, JSON, types),
// and a 403 is an answer here, not a failure: the credential may not read usage (usage:read) or
// cost (billing:read). Deepgram's figures lag behind: what is read is what Deepgram says so far.
import { mapBounded } from '../shared/concurrency.ts'
import { ServiceError, type UnusableAnswerError } from '../shared/errors.ts'
import { field, stringOf } from '../shared/json.ts'
import type { DeepgramClient } from './client.ts'

/** One page of the request log holds at most this many requests (Deepgram's own maximum). */
export const LOG_PAGE_SIZE = 1000
/** Pages of the log read at most per key: past 10,000 requests the log count reads "at least". */
export const MAX_LOG_PAGES = 10
/** A breakdown with more results than this is not one Deepgram would send for one key. */
const MAX_RESULTS = 10_000

/** Deepgram's usage figures for one key, summed over the window. */
export interface UsageFigures {
  requests: number
  /** Audio hours processed. */
  hours: number
  agentHours: number
  ttsCharacters: number
  tokensIn: number
  tokensOut: number
  /** Model names the breakdown named, as Deepgram wrote them (untrusted text). */
  models: string[]
}

/** What the request log lists for the key: the requests found, and their audio. */
export interface RequestLog {
  requests: number
  seconds: number
  /** False when the log went on past MAX_LOG_PAGES pages: the counts are then "at least". */
  complete: boolean
}

export interface KeyUsage {
  keyId: string
  /** First and last UTC day the breakdowns cover (YYYY-MM-DD), both included. */
  start: string
  end: string
  /** Undefined when the credential may not read usage (no usage:read). */
  usage?: UsageFigures
  /** Undefined when the credential may not read billing (no billing:read). */
  usd?: number
  log?: RequestLog
  /** The scopes the credential lacked, as Deepgram's 403 said. */
  denied: ('usage:read' | 'billing:read')[]
}

export type UsageApi = Pick<DeepgramClient, 'readProject'>

/** A day as Deepgram's breakdowns take it: YYYY-MM-DD in UTC. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}

/** A time as the request log takes it: YYYY-MM-DDTHH:MM:SS+00:00 (no fraction, which it does not list). */
export function utcDateTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}+00:00`
}

/** A key and when its report starts. */
export interface KeySince {
  keyId: string
  since: Date
}

/** Distinct start days read at once: each is two requests (usage and cost). */
const DAY_CONCURRENCY = 5

/**
 * What each key used from its `since` until `until`. The breakdowns are grouped by accessor, so
 * keys whose reports start on the same UTC day share one usage and one cost request, however
 * many they are. The request log, one key's detail, is read when there is one key: that is the
 * post step's case, and then all three reads go at once.
 */
export async function readUsage(api: UsageApi, projectId: string, keys: KeySince[], until: Date): Promise<KeyUsage[]> {
  const byDay = new Map<string, KeySince[]>()
  for (const key of keys) byDay.set(utcDay(key.since), [...(byDay.get(utcDay(key.since)) ?? []), key])
  const [only] = keys
  const [days, log] = await Promise.all([
    mapBounded([...byDay], DAY_CONCURRENCY, ([start, group]) => readDay(api, projectId, start, group, until)),
    keys.length === 1 && only ? unlessForbidden(() => readLog(api, projectId, only.keyId, only, until)) : undefined,
  ])
  const read = new Map(days.flat().map((usage) => [usage.keyId, usage]))
  return keys.map((key) => {
    const usage = read.get(key.keyId) ?? { keyId: key.keyId, start: utcDay(key.since), end: utcDay(until), denied: [] }
    if (log === undefined) return usage
    if (log === FORBIDDEN)
      return { ...usage, denied: usage.denied.includes('usage:read') ? usage.denied : ['usage:read', ...usage.denied] }
    return { ...usage, log }
  })
}

/** One start day's keys: a usage and a cost breakdown, grouped by accessor, from that day to `until`. */
async function readDay(
  api: UsageApi,
  projectId: string,
  start: string,
  keys: KeySince[],
  until: Date,
): Promise<KeyUsage[]> {
  // A runner whose clock is behind Deepgram's must not ask for an end before the start.
  const end = [utcDay(until), start].sort().at(-1) ?? start
  const [only] = keys
  const query = { start, end, grouping: 'accessor', ...(keys.length === 1 && only ? { accessor: only.keyId } : {}) }
  const what = keys.length === 1 && only ? `key ${only.keyId}` : `${keys.length} keys`
  const [usage, usd] = await Promise.all([
    unlessForbidden(() =>
      api.readProject(projectId, 'usage/breakdown', query, `reading the usage of ${what}`, usageResults),
    ),
    unlessForbidden(() =>
      api.readProject(projectId, 'billing/breakdown', query, `reading the cost of ${what}`, costResults),
    ),
  ])
  return keys.map((key) => {
    const id = key.keyId.toLowerCase()
    // With one key asked, a result that names no accessor is that key's (Deepgram filtered it).
    const ours = (accessor: string | undefined) => accessor === id || (accessor === undefined && keys.length === 1)
    const denied: KeyUsage['denied'] = []
    if (usage === FORBIDDEN) denied.push('usage:read')
    if (usd === FORBIDDEN) denied.push('billing:read')
    return {
      keyId: key.keyId,
      start,
      end,
      ...(usage === FORBIDDEN ? {} : { usage: sumFigures(usage.filter((r) => ours(r.accessor))) }),
      ...(usd === FORBIDDEN ? {} : { usd: usd.filter((r) => ours(r.accessor)).reduce((sum, r) => sum + r.dollars, 0) }),
      denied,
    }
  })
}

const FORBIDDEN = Symbol('forbidden')

/** Deepgram's 403: the credential lacks the scope. Anything else is thrown as it came. */
async function unlessForbidden<T>(read: () => Promise<T>): Promise<T | typeof FORBIDDEN> {
  try {
    return await read()
  } catch (error) {
    if (error instanceof ServiceError && error.status === 403) return FORBIDDEN
    throw error
  }
}

type Unusable = (problem: string) => UnusableAnswerError

/** A usage result: its figures, and the accessor it is grouped under (lower case) when it names one. */
interface UsageResult extends Omit<UsageFigures, 'models'> {
  accessor?: string
  models: string[]
}

function usageResults(body: unknown, unusable: Unusable): UsageResult[] {
  return resultsOf(body, unusable).map((result) => {
    const models = field(field(result, 'grouping'), 'models')
    if (models !== undefined && models !== null && !Array.isArray(models))
      throw unusable('a result has models that are not a list')
    return {
      accessor: accessorOf(result, unusable),
      requests: amount(result, 'requests', unusable, true),
      hours: amount(result, 'hours', unusable, true),
      agentHours: amount(result, 'agent_hours', unusable),
      ttsCharacters: amount(result, 'tts_characters', unusable),
      tokensIn: amount(result, 'tokens_in', unusable),
      tokensOut: amount(result, 'tokens_out', unusable),
      models: (Array.isArray(models) ? models : []).flatMap((m) => stringOf(m) ?? []),
    }
  })
}

function sumFigures(results: UsageResult[]): UsageFigures {
  const figures: UsageFigures = {
    requests: 0,
    hours: 0,
    agentHours: 0,
    ttsCharacters: 0,
    tokensIn: 0,
    tokensOut: 0,
    models: [],
  }
  for (const result of results) {
    figures.requests += result.requests
    figures.hours += result.hours
    figures.agentHours += result.agentHours
    figures.ttsCharacters += result.ttsCharacters
    figures.tokensIn += result.tokensIn
    figures.tokensOut += result.tokensOut
    for (const model of result.models)
      if (!figures.models.includes(model) && figures.models.length < 20) figures.models.push(model)
  }
  return figures
}

function costResults(body: unknown, unusable: Unusable): { accessor?: string; dollars: number }[] {
  return resultsOf(body, unusable).map((result) => ({
    accessor: accessorOf(result, unusable),
    dollars: amount(result, 'dollars', unusable, true),
  }))
}

/** The accessor a result is grouped under: a string, or null or absent when it names none. */
function accessorOf(result: unknown, unusable: Unusable): string | undefined {
  const accessor = field(field(result, 'grouping'), 'accessor')
  if (accessor === undefined || accessor === null) return undefined
  if (typeof accessor !== 'string') throw unusable("a result's accessor is not a string")
  return accessor.toLowerCase()
}

function resultsOf(body: unknown, unusable: Unusable): unknown[] {
  if (typeof body !== 'object' || body === null) throw unusable('the answer is not a JSON object')
  const results = field(body, 'results')
  if (!Array.isArray(results)) throw unusable('the answer has no results list')
  if (results.length > MAX_RESULTS) throw unusable(`the answer has over ${MAX_RESULTS} results`)
  return results
}

/** A figure of a result: a finite number, not negative; absent counts 0 unless `required`. */
function amount(result: unknown, name: string, unusable: Unusable, required = false): number {
  const value = field(result, name)
  if (value === undefined && !required) return 0
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw unusable(`a result's ${name} is not a number of zero or more`)
  return value
}

/**
 * The key's requests in the log, page after page until a short page, a page with nothing new or
 * MAX_LOG_PAGES. The base of `page` is not documented, so requests are counted once by their id,
 * and only those of this key (should the filter be ignored).
 */
async function readLog(
  api: UsageApi,
  projectId: string,
  keyId: string,
  window: { since: Date },
  until: Date,
): Promise<RequestLog> {
  const seen = new Set<string>()
  let seconds = 0
  const query = {
    accessor: keyId,
    start: utcDateTime(window.since),
    end: utcDateTime(until),
    limit: String(LOG_PAGE_SIZE),
  }
  for (let page = 0; page < MAX_LOG_PAGES; page++) {
    const action = `reading the request log of key ${keyId} (page ${page})`
    const entries = await api.readProject(projectId, 'requests', { ...query, page: String(page) }, action, logEntries)
    let fresh = 0
    for (const entry of entries) {
      if (entry.keyId !== keyId.toLowerCase() || seen.has(entry.requestId)) continue
      seen.add(entry.requestId)
      seconds += entry.seconds
      fresh++
    }
    if (entries.length < LOG_PAGE_SIZE || fresh === 0) return { requests: seen.size, seconds, complete: true }
  }
  return { requests: seen.size, seconds, complete: false }
}

interface LogEntry {
  requestId: string
  keyId: string
  seconds: number
}

function logEntries(body: unknown, unusable: Unusable): LogEntry[] {
  if (typeof body !== 'object' || body === null) throw unusable('the answer is not a JSON object')
  const requests = field(body, 'requests')
  if (!Array.isArray(requests)) throw unusable('the answer has no requests list')
  if (requests.length > LOG_PAGE_SIZE) throw unusable(`the page holds over ${LOG_PAGE_SIZE} requests`)
  return requests.map((item): LogEntry => {
    const requestId = stringOf(field(item, 'request_id'))
    if (requestId === undefined) throw unusable('a request has no request_id')
    const duration = field(field(field(item, 'response'), 'details'), 'duration')
    if (duration !== undefined && (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0))
      throw unusable("a request's duration is not a number of zero or more")
    return {
      requestId,
      keyId: (stringOf(field(item, 'api_key_id')) ?? '').toLowerCase(),
      seconds: duration ?? 0,
    }
  })
}

// ---------------------------------------------------------------------------------------------
// As JSON: the broker's answer and the action's usage-json output, one shape for both

/** One key's figures as JSON: snake_case, null for what could not be read. */
export function usageJson(usage: KeyUsage): Record<string, unknown> {
  const figures = usage.usage
  return {
    key_id: usage.keyId,
    start: usage.start,
    end: usage.end,
    requests: figures?.requests ?? null,
    hours: figures?.hours ?? null,
    agent_hours: figures?.agentHours ?? null,
    tts_characters: figures?.ttsCharacters ?? null,
    tokens_in: figures?.tokensIn ?? null,
    tokens_out: figures?.tokensOut ?? null,
    models: figures?.models ?? null,
    usd: usage.usd ?? null,
    logged_requests: usage.log?.requests ?? null,
    logged_seconds: usage.log?.seconds ?? null,
    log_complete: usage.log?.complete ?? null,
    denied: usage.denied,
  }
}

/** Reads usageJson's shape back (from the broker), checking every field; a problem as text when it is not that shape. */
export function usageFromJson(value: unknown): KeyUsage | string {
  const keyId = stringOf(field(value, 'key_id'))
  const start = stringOf(field(value, 'start'))
  const end = stringOf(field(value, 'end'))
  if (keyId === undefined || start === undefined || end === undefined) return 'a key has no key_id, start or end'
  if (!DAY.test(start) || !DAY.test(end)) return 'a start or end is not a day (YYYY-MM-DD)'
  const denied = field(value, 'denied')
  if (!Array.isArray(denied) || !denied.every((scope) => scope === 'usage:read' || scope === 'billing:read'))
    return 'a key has no denied list'
  const numbers: Record<string, number | null> = {}
  for (const name of NUMBERS) {
    const n = field(value, name)
    if (n !== null && (typeof n !== 'number' || !Number.isFinite(n) || n < 0))
      return `a key's ${name} is neither null nor a number of zero or more`
    numbers[name] = n
  }
  const models = field(value, 'models')
  const complete = field(value, 'log_complete')
  const usage: KeyUsage = { keyId, start, end, denied: denied as KeyUsage['denied'] }
  if (numbers['requests'] !== null && numbers['hours'] !== null) {
    usage.usage = {
      requests: numbers['requests'] ?? 0,
      hours: numbers['hours'] ?? 0,
      agentHours: numbers['agent_hours'] ?? 0,
      ttsCharacters: numbers['tts_characters'] ?? 0,
      tokensIn: numbers['tokens_in'] ?? 0,
      tokensOut: numbers['tokens_out'] ?? 0,
      models: Array.isArray(models) ? models.filter((m): m is string => typeof m === 'string').slice(0, 20) : [],
    }
  }
  if (numbers['usd'] !== null) usage.usd = numbers['usd']
  if (numbers['logged_requests'] !== null && typeof complete === 'boolean')
    usage.log = { requests: numbers['logged_requests'] ?? 0, seconds: numbers['logged_seconds'] ?? 0, complete }
  return usage
}

const DAY = /^\d{4}-\d{2}-\d{2}$/
const NUMBERS = [
  'requests',
  'hours',
  'agent_hours',
  'tts_characters',
  'tokens_in',
  'tokens_out',
  'usd',
  'logged_requests',
  'logged_seconds',
]
