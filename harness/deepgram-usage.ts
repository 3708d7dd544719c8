// The Deepgram emulator's usage side: a small POST /v1/listen that counts each request against the
// key that made it (Deepgram's "accessor"), and the three endpoints that report it, with the
// filters Deepgram's description gives them (specs/deepgram.openapi.yaml):
//   GET /v1/projects/{id}/usage/breakdown    start, end (YYYY-MM-DD), accessor, tag, grouping
//   GET /v1/projects/{id}/billing/breakdown  start, end (YYYY-MM-DD), accessor, tag, grouping
//   GET /v1/projects/{id}/requests           start, end (a day or a date-time), accessor, request_id,
//                                            endpoint, method, status, limit (1 to 1000, default 10), page
// Pages of the request log count from 0 here (Deepgram does not document its base). Dates are UTC
// days, both ends included; a breakdown gives one result per day and group.
import { randomUUID } from 'node:crypto'

/** One request made with a key, as the usage endpoints count it. */
export interface UsageRecord {
  requestId: string
  projectId: string
  /** The key's id (api_key_id), or the stand-in id of an account's own key. */
  accessor: string
  /** Epoch ms. */
  created: number
  /** Seconds of audio. */
  seconds: number
  model: string
  tags: string[]
  endpoint: 'listen' | 'speak' | 'agent' | 'read'
  method: 'sync' | 'async' | 'streaming'
  code: number
  ttsCharacters: number
}

export interface JsonAnswer {
  status: number
  body: unknown
}

/** What an audio hour costs here, in USD (nova-3's pay-as-you-go rate: $0.0043 a minute). */
export const USD_PER_HOUR = 0.258

/** Seconds of audio in a PCM WAV file: its data chunk's size over the format's byte rate; undefined when it is no WAV. */
export function wavSeconds(audio: Buffer): number | undefined {
  if (audio.length < 12 || audio.toString('latin1', 0, 4) !== 'RIFF' || audio.toString('latin1', 8, 12) !== 'WAVE')
    return undefined
  let byteRate: number | undefined
  for (let at = 12; at + 8 <= audio.length;) {
    const id = audio.toString('latin1', at, at + 4)
    const size = audio.readUInt32LE(at + 4)
    if (id === 'fmt ' && at + 16 <= audio.length) byteRate = audio.readUInt32LE(at + 16)
    if (id === 'data') return byteRate ? Math.min(size, audio.length - at - 8) / byteRate : undefined
    at += 8 + size + (size % 2)
  }
  return undefined
}

/** A PCM WAV of silence: 16-bit mono at 8 kHz, `seconds` long. For tests and the demo. */
export function silentWav(seconds: number): Buffer {
  const rate = 8000
  const data = Math.round(seconds * rate) * 2
  const wav = Buffer.alloc(44 + data)
  wav.write('RIFF', 0, 'latin1')
  wav.writeUInt32LE(36 + data, 4)
  wav.write('WAVE', 8, 'latin1')
  wav.write('fmt ', 12, 'latin1')
  wav.writeUInt32LE(16, 16)
  wav.writeUInt16LE(1, 20) // PCM
  wav.writeUInt16LE(1, 22) // mono
  wav.writeUInt32LE(rate, 24)
  wav.writeUInt32LE(rate * 2, 28)
  wav.writeUInt16LE(2, 32)
  wav.writeUInt16LE(16, 34)
  wav.write('data', 36, 'latin1')
  wav.writeUInt32LE(data, 40)
  return wav
}

/** POST /v1/listen for a caller already authenticated: counts the request, answers an empty transcript. */
export function transcribe(
  records: UsageRecord[],
  caller: { projectId: string; accessor: string; tags: string[] },
  audio: Buffer,
  query: Record<string, string>,
  now: number,
  requestId: string,
): JsonAnswer {
  const seconds = wavSeconds(audio)
  if (seconds === undefined)
    return {
      status: 400,
      body: {
        err_code: 'Bad Request',
        err_msg: 'Bad Request: failed to process audio: corrupt or unsupported data',
        request_id: requestId,
      },
    }
  const model = query['model'] ?? 'nova-3'
  const tag = query['tag']
  records.push({
    requestId,
    projectId: caller.projectId,
    accessor: caller.accessor,
    created: now,
    seconds,
    model,
    tags: [...caller.tags, ...(tag ? [tag] : [])],
    endpoint: 'listen',
    method: 'sync',
    code: 200,
    ttsCharacters: 0,
  })
  return {
    status: 200,
    body: {
      metadata: {
        request_id: requestId,
        created: new Date(now).toISOString(),
        duration: seconds,
        channels: 1,
        models: [randomUUID()],
        model_info: {},
      },
      results: { channels: [{ alternatives: [{ transcript: '', confidence: 0, words: [] }] }] },
    },
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2})?$/
const USAGE_GROUPINGS = ['accessor', 'endpoint', 'feature_set', 'models', 'method', 'tags', 'deployment']
const BILLING_GROUPINGS = ['accessor', 'deployment', 'line_item', 'tags']

function invalid(details: string, requestId: string): JsonAnswer {
  return {
    status: 400,
    body: { category: 'INVALID_QUERY', message: 'Invalid query string.', details, request_id: requestId },
  }
}

/** [from, to) in epoch ms for start/end days, both days included; end defaults to today, start to 30 days before it. */
function dayRange(
  query: Record<string, string>,
  now: number,
  requestId: string,
): { from: number; to: number; start: string; end: string } | JsonAnswer {
  for (const name of ['start', 'end']) {
    const value = query[name]
    if (value !== undefined && (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))))
      return invalid(`${name}: invalid value: expected a date as YYYY-MM-DD`, requestId)
  }
  const end = query['end'] ?? new Date(now).toISOString().slice(0, 10)
  const start = query['start'] ?? new Date(Date.parse(`${end}T00:00:00Z`) - 30 * 86_400_000).toISOString().slice(0, 10)
  if (start > end) return invalid('start must not be after end', requestId)
  return { from: Date.parse(`${start}T00:00:00Z`), to: Date.parse(`${end}T00:00:00Z`) + 86_400_000, start, end }
}

function groupingOf(query: Record<string, string>, allowed: string[], requestId: string): string[] | JsonAnswer {
  const grouping = (query['grouping'] ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '')
  const bad = grouping.find((g) => !allowed.includes(g))
  return bad === undefined ? grouping : invalid(`grouping: unknown variant \`${bad}\``, requestId)
}

/** Records of the project in the range, with the accessor and tag filters. */
function filtered(records: UsageRecord[], projectId: string, query: Record<string, string>, from: number, to: number) {
  const accessor = query['accessor']?.toLowerCase()
  const tag = query['tag']
  return records.filter(
    (r) =>
      r.projectId === projectId &&
      r.created >= from &&
      r.created < to &&
      (accessor === undefined || r.accessor === accessor) &&
      (tag === undefined || r.tags.includes(tag)),
  )
}

/** One group per day and grouping value: what a breakdown's results list. */
function grouped(
  records: UsageRecord[],
  grouping: string[],
): { day: string; group: Record<string, unknown>; records: UsageRecord[] }[] {
  const groups = new Map<string, { day: string; group: Record<string, unknown>; records: UsageRecord[] }>()
  for (const record of records) {
    const day = new Date(record.created).toISOString().slice(0, 10)
    const group: Record<string, unknown> = {
      accessor: grouping.includes('accessor') ? record.accessor : null,
      tags: grouping.includes('tags') ? record.tags : null,
      ...(grouping.includes('models') ? { models: [record.model] } : {}),
    }
    const key = JSON.stringify([day, group])
    const entry = groups.get(key) ?? { day, group, records: [] }
    entry.records.push(record)
    groups.set(key, entry)
  }
  return [...groups.values()].sort((a, b) => a.day.localeCompare(b.day))
}

export function usageBreakdown(
  records: UsageRecord[],
  projectId: string,
  query: Record<string, string>,
  now: number,
  requestId: string,
): JsonAnswer {
  const range = dayRange(query, now, requestId)
  if ('status' in range) return range
  const grouping = groupingOf(query, USAGE_GROUPINGS, requestId)
  if (!Array.isArray(grouping)) return grouping
  const results = grouped(filtered(records, projectId, query, range.from, range.to), grouping).map(
    ({ day, group, records: rs }) => {
      const hours = rs.reduce((sum, r) => sum + r.seconds, 0) / 3600
      return {
        hours,
        total_hours: hours,
        agent_hours: 0,
        tokens_in: 0,
        tokens_out: 0,
        tts_characters: rs.reduce((sum, r) => sum + r.ttsCharacters, 0),
        requests: rs.length,
        grouping: {
          start: day,
          end: day,
          endpoint: null,
          feature_set: null,
          method: null,
          deployment: null,
          models: [...new Set(rs.map((r) => r.model))],
          ...group,
        },
      }
    },
  )
  return {
    status: 200,
    body: { start: range.start, end: range.end, resolution: { units: 'day', amount: 1 }, results },
  }
}

export function billingBreakdown(
  records: UsageRecord[],
  projectId: string,
  query: Record<string, string>,
  now: number,
  requestId: string,
): JsonAnswer {
  const range = dayRange(query, now, requestId)
  if ('status' in range) return range
  const grouping = groupingOf(query, BILLING_GROUPINGS, requestId)
  if (!Array.isArray(grouping)) return grouping
  const results = grouped(filtered(records, projectId, query, range.from, range.to), grouping).map(
    ({ day, group, records: rs }) => ({
      dollars: costOf(rs),
      grouping: {
        start: day,
        end: day,
        deployment: null,
        line_item: null,
        accessor: group['accessor'],
        tags: group['tags'],
      },
    }),
  )
  return {
    status: 200,
    body: { start: range.start, end: range.end, resolution: { units: 'day', amount: 1 }, results },
  }
}

function costOf(records: UsageRecord[]): number {
  return records.reduce((sum, r) => sum + (r.seconds / 3600) * USD_PER_HOUR, 0)
}

/** A start or end of the request log: a day (its start, or the end of the end day) or a date-time. */
function logBound(value: string | undefined, end: boolean): number | undefined | 'bad' {
  if (value === undefined) return undefined
  if (DAY.test(value)) {
    const at = Date.parse(`${value}T00:00:00Z`)
    return Number.isNaN(at) ? 'bad' : end ? at + 86_400_000 : at
  }
  if (!DATE_TIME.test(value)) return 'bad'
  const at = Date.parse(/[+-]\d{2}:\d{2}$/.test(value) ? value : `${value}Z`)
  return Number.isNaN(at) ? 'bad' : end ? at + 1000 : at
}

export function listRequests(
  records: UsageRecord[],
  projectId: string,
  query: Record<string, string>,
  requestId: string,
): JsonAnswer {
  const from = logBound(query['start'], false)
  const to = logBound(query['end'], true)
  if (from === 'bad' || to === 'bad')
    return invalid('start and end take YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DDTHH:MM:SS+HH:MM', requestId)
  const limit = query['limit'] === undefined ? 10 : Number(query['limit'])
  const page = query['page'] === undefined ? 0 : Number(query['page'])
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return invalid('limit: must be 1 to 1000', requestId)
  if (!Number.isInteger(page) || page < 0) return invalid('page: must be 0 or more', requestId)
  const accessor = query['accessor']?.toLowerCase()
  const status = query['status']
  const matching = records
    .filter(
      (r) =>
        r.projectId === projectId &&
        (from === undefined || r.created >= from) &&
        (to === undefined || r.created < to) &&
        (accessor === undefined || r.accessor === accessor) &&
        (query['request_id'] === undefined || r.requestId === query['request_id']) &&
        (query['endpoint'] === undefined || r.endpoint === query['endpoint']) &&
        (query['method'] === undefined || r.method === query['method']) &&
        (status === undefined || (status === 'succeeded' ? r.code < 300 : r.code >= 400)),
    )
    // Newest first; of two in the same millisecond, the one recorded later.
    .reverse()
    .sort((a, b) => b.created - a.created)
  const requests = matching.slice(page * limit, (page + 1) * limit).map((r) => ({
    request_id: r.requestId,
    project_uuid: r.projectId,
    created: new Date(r.created).toISOString(),
    path: `/v1/${r.endpoint}?model=${r.model}`,
    api_key_id: r.accessor,
    response: {
      details: {
        usd: costOf([r]),
        duration: r.seconds,
        total_audio: r.seconds,
        channels: 1,
        streams: 1,
        method: r.method,
        models: [r.model],
        tags: r.tags,
        features: [],
      },
      code: r.code,
      completed: new Date(r.created).toISOString(),
    },
    code: r.code,
    deployment: 'hosted',
    callback: null,
  }))
  return { status: 200, body: { page, limit, requests } }
}
