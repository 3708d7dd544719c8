// The usage report's inputs: whether to report (usage-report) and from when (usage-since).
// Read by main in every mode, so that a mistake fails the step before any request.
import { durationSeconds } from '../../deepgram/expiration.ts'
import { InputError } from '../../shared/errors.ts'
import type { GetInput } from '../../shared/input-forms.ts'

/** auto: report when the credential may read usage, quietly skip when not; true: warn when not; false: never ask. */
export type UsageReportPolicy = 'auto' | 'true' | 'false'

export interface UsagePlan {
  report: UsageReportPolicy
  /** From when; undefined: each key's creation (7 days back when unknown). */
  since?: Date
}

/** How far back usage-since may reach: a year. Deepgram keeps its request log 90 days, its summaries longer. */
export const MAX_USAGE_DAYS = 366

const SINCE_FORMS =
  'Give a duration back from now (7d, 2w, 36h, 1d12h), a UTC day (2026-12-01), or an ISO 8601 date-time with a zone (2026-12-01T12:00:00Z), at most 366 days back; or leave it empty for each key since its creation'

export function readUsageReport(getInput: GetInput): UsageReportPolicy {
  const value = (getInput('usage-report') || 'auto').toLowerCase()
  if (value === 'auto' || value === 'true' || value === 'false') return value
  throw new InputError('usage-report', `'${getInput('usage-report')}' is not one of auto, true or false.`)
}

/** usage-since as a time in the past, or undefined when empty. */
export function readUsageSince(getInput: GetInput, now: Date): Date | undefined {
  const text = getInput('usage-since')
  if (text === '') return undefined
  const refuse = (why: string): never => {
    throw new InputError('usage-since', `'${text}' ${why}. ${SINCE_FORMS}.`)
  }
  const value = text.toLowerCase()
  const seconds = durationSeconds(value)
  let since: Date
  if (seconds !== undefined) {
    if (seconds <= 0) refuse('is no time back from now')
    since = new Date(now.getTime() - seconds * 1000)
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    since = new Date(`${value}T00:00:00Z`)
    if (Number.isNaN(since.getTime()) || since.toISOString().slice(0, 10) !== value) refuse('is not a real day')
  } else if (/^\d{4}-\d{2}-\d{2}t\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:\d{2})$/.test(value)) {
    since = new Date(value.toUpperCase())
    if (Number.isNaN(since.getTime())) refuse('is not a real date-time')
  } else {
    return refuse('is not understood')
  }
  if (since.getTime() > now.getTime()) refuse('is in the future')
  if (now.getTime() - since.getTime() > MAX_USAGE_DAYS * 86_400_000) refuse('is more than 366 days back')
  return since
}

/** Both usage inputs, checked. usage-since applies to revoke and report mode: create reports each key since its creation. */
export function readUsagePlan(getInput: GetInput, mode: 'create' | 'revoke' | 'report', now: Date): UsagePlan {
  const report = readUsageReport(getInput)
  if (mode === 'create' && getInput('usage-since') !== '')
    throw new InputError(
      'usage-since',
      'applies to mode: revoke and mode: report only; in create mode the post step reports the key since its creation. Remove it from this step.',
    )
  const since = readUsageSince(getInput, now)
  if (report === 'false' && mode === 'report')
    throw new InputError(
      'usage-report',
      'is false, and mode: report does nothing else than report usage. Set usage-report: auto or true, or remove the step.',
    )
  return { report, ...(since === undefined ? {} : { since }) }
}
