/** How long the new key lives: sent as `time_to_live_in_seconds` or as `expiration_date`. */
export type Expiration = { kind: 'ttl'; seconds: number } | { kind: 'date'; date: Date }

/** The duration forms shown to users: errors here, action.yml's description (a test keeps them equal). */
export const DURATION_EXAMPLES = ['90s', '30m', '2h', '1d', '2w', '1h30m']

const FORMS = `a duration (${DURATION_EXAMPLES.join(', ')}, or seconds such as 3600) or an ISO 8601 date-time with a zone (2026-12-01T12:00:00Z)`

/**
 * The longest life a key may be given: 90 days. A scheduled rotation of 30-day keys is well
 * inside it; a "short-lived" key that outlives a quarter is not short-lived.
 */
export const MAX_EXPIRATION_DAYS = 90
export const MAX_EXPIRATION_SECONDS = MAX_EXPIRATION_DAYS * 86400

const UNIT_SECONDS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 }
const DURATION = /^(?:\d+[wdhms])+$/
const DURATION_PART = /(\d+)([wdhms])/g
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/

/**
 * An expiration that cannot be read, or is out of bounds: what is wrong and the forms accepted.
 * The action words it as an input error, the broker as a refusal of the request.
 */
export class ExpirationError extends Error {
  /** What is wrong, without the forms: "'2h30' is not understood". */
  readonly problem: string
  /** What to give instead, as a sentence: "Give a duration (90s, …) or an ISO 8601 date-time …". */
  readonly accepted: string
  constructor(problem: string, accepted: string) {
    super(`${problem}. ${accepted}.`)
    this.name = 'ExpirationError'
    this.problem = problem
    this.accepted = accepted
  }
}

function refuse(why: string): never {
  throw new ExpirationError(why, `Give ${FORMS}`)
}

/**
 * Parses an expiration as the action's input and the broker's requests write it; ExpirationError
 * when it is not one. `now` is when the key is about to be created; a key may live at
 * most `maxSeconds` from then (90 days unless a stricter policy says less).
 */
export function parseExpiration(text: string, now: Date, maxSeconds = MAX_EXPIRATION_SECONDS): Expiration {
  const expiration = parseLifetime(text, now)
  const seconds = expiration.kind === 'ttl' ? expiration.seconds : (expiration.date.getTime() - now.getTime()) / 1000
  if (seconds > maxSeconds) {
    const limit = maxSeconds % 86400 === 0 ? `${maxSeconds / 86400} days` : describeSeconds(maxSeconds)
    throw new ExpirationError(
      `'${text.trim()}' is longer than the limit of ${limit}`,
      `Give at most ${limit} from now, as ${FORMS}`,
    )
  }
  return expiration
}

function parseLifetime(text: string, now: Date): Expiration {
  const value = text.trim().toLowerCase()
  if (value === '') refuse('is empty')
  if (['never', 'none', 'infinite', 'forever'].includes(value)) {
    refuse(`'${text}' is refused: this action makes short-lived keys, and a key without an expiry lives forever`)
  }
  if (/^\d+$/.test(value)) return ttl(Number(value), text)
  const seconds = durationSeconds(value)
  if (seconds !== undefined) return ttl(seconds, text)
  if (value.startsWith('-')) refuse(`'${text}' is negative`)
  if (DATE_ONLY.test(value)) refuse(`'${text}' is a date without a time and a zone`)
  const date = parseDateTime(text.trim())
  if (date.getTime() <= now.getTime()) refuse(`'${text}' is in the past`)
  return { kind: 'date', date }
}

/** Seconds in a duration of units (`90s`, `1h30m`, `2w`), lower case; undefined when it is not one. */
export function durationSeconds(value: string): number | undefined {
  if (!DURATION.test(value)) return undefined
  let seconds = 0
  for (const [, amount, unit] of value.matchAll(DURATION_PART)) {
    seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1)
  }
  return seconds
}

function ttl(seconds: number, text: string): Expiration {
  if (!Number.isSafeInteger(seconds)) refuse(`'${text}' is too large`)
  if (seconds <= 0) refuse(`'${text}' is not in the future: a key that never expires is refused`)
  return { kind: 'ttl', seconds }
}

function parseDateTime(text: string): Date {
  const match = DATE_TIME.exec(text.toUpperCase())
  if (!match) refuse(`'${text}' is not understood`)
  const [, year, month, day, hour, minute, second = '00', fraction = '', zone] = match
  if (!zone) refuse(`'${text}' has no zone: add Z for UTC or an offset such as +02:00`)
  const offset = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}${offset}`)
  // Date rolls 2026-02-30 over into March; a date that does not survive the trip is not real.
  const wallClock = new Date(date.getTime() + zoneOffsetMinutes(offset) * 60_000)
  if (
    Number.isNaN(date.getTime()) ||
    wallClock.getUTCDate() !== Number(day) ||
    wallClock.getUTCMonth() + 1 !== Number(month)
  ) {
    refuse(`'${text}' is not a valid date-time`)
  }
  return date
}

function zoneOffsetMinutes(offset: string): number {
  if (offset === 'Z') return 0
  const sign = offset.startsWith('-') ? -1 : 1
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)))
}

/** The expiry Deepgram should report for this request, sent at `sentAt`. */
export function expectedExpiry(expiration: Expiration, sentAt: Date): Date {
  return expiration.kind === 'date' ? expiration.date : new Date(sentAt.getTime() + expiration.seconds * 1000)
}

/** Human form for logs: "1h 30m", "2026-12-01T12:00:00.000Z". */
export function describeExpiration(expiration: Expiration): string {
  if (expiration.kind === 'date') return `until ${expiration.date.toISOString()}`
  return `for ${describeSeconds(expiration.seconds)}`
}

/** "90d", "1h 30m": whole days, hours, minutes and seconds. */
export function describeSeconds(seconds: number): string {
  let rest = seconds
  const parts: string[] = []
  for (const [unit, size] of Object.entries(UNIT_SECONDS)) {
    if (unit === 'w') continue
    const amount = Math.floor(rest / size)
    if (amount > 0) parts.push(`${amount}${unit}`)
    rest -= amount * size
  }
  return parts.join(' ')
}
