// The usage report, written once for every mode and source: ask the source what the keys used,
// within a budget of its own, and write it to the summary (and, in revoke and report mode, the
// outputs). It never fails the step: what it cannot read is a debug line (usage-report: auto) or
// one warning (true), and the step goes on to what it came for.
import { usageJson, type KeyUsage } from '../../deepgram/usage.ts'
import { describeFailure } from '../../shared/errors.ts'
import type { StepSource, UsageAnswer, UsageAsk } from '../flow/key-source.ts'
import type { ActionIO } from '../io.ts'
import type { Secrets } from '../secrets.ts'
import { REPORT_BUDGET_MS } from '../time-bounds.ts'
import type { UsagePlan } from '../inputs/usage.ts'
import { usageSummary, usageTotals, type UsageContext } from './summary.ts'

/** Which keys: these ids (each from its own `since`), or every key of the source's with all the tags. */
export type UsageTarget = { kind: 'keys'; asks: UsageAsk[] } | { kind: 'tags'; tags: string[]; since?: Date }

export interface UsageReportOptions {
  /** The report's own budget: its requests end this long from now, and never after the source's deadline. */
  budgetMs: number
  /** Whether to set the usage-* outputs (revoke and report mode; the post step has no one to read them). */
  outputs: boolean
  context: UsageContext
  /** Kept out of messages, should an error carry one. */
  secrets: Pick<Secrets, 'redact'>
}

/** Reads and reports; the keys' figures, or undefined when there are none to give. Never throws. */
export async function reportUsage(
  target: UsageTarget,
  source: StepSource,
  plan: UsagePlan,
  io: ActionIO,
  options: UsageReportOptions,
): Promise<KeyUsage[] | undefined> {
  if (plan.report === 'false') return undefined
  const say = (message: string, quietly: (m: string) => void): void =>
    plan.report === 'true' ? io.warning(message) : quietly(message)
  let answer: UsageAnswer
  try {
    const bounded = source.within(options.budgetMs)
    answer =
      target.kind === 'keys' ? await bounded.usageOf(target.asks) : await bounded.usageTagged(target.tags, target.since)
  } catch (error) {
    say(
      `Could not read the usage of ${options.context.what} ${source.where}: ${options.secrets.redact(describeFailure(error))} See the Usage page of the Deepgram console instead.`,
      (m) => io.info(m),
    )
    return undefined
  }
  const { keys, unknown } = answer
  const readable = keys.filter((k) => k.usage !== undefined)
  if (keys.length > 0 && readable.length === 0) {
    say(
      `No usage report: ${whose(source)} may not read usage (Deepgram refused with 403; it takes the scope usage:read, which the Member role and above have). Set usage-report: false to stop asking.`,
      (m) => io.debug(m),
    )
    return undefined
  }
  if (plan.report === 'true' && readable.some((k) => k.usd === undefined))
    io.info(
      `The cost is not reported: ${whose(source)} may not read billing (it takes billing:read, which only the Admin and Owner roles have).`,
    )
  for (const usage of readable) io.info(usageLine(usage))
  await io.appendSummary(usageSummary(readable, unknown, options.context))
  try {
    if (options.outputs) setUsageOutputs(io, readable)
  } catch (error) {
    // A runner file that cannot be written must not stop the deletes that follow.
    io.warning(`The usage outputs were not set: ${describeFailure(error)}`)
  }
  return readable
}

/** The outputs of revoke and report mode: totals, and every key's figures as JSON (unset when nothing could be read). */
function setUsageOutputs(io: ActionIO, keys: KeyUsage[]): void {
  const totals = usageTotals(keys)
  io.setOutput('usage-requests', String(totals.requests))
  io.setOutput('usage-hours', String(round(totals.hours)))
  io.setOutput('usage-usd', totals.usd === undefined ? '' : String(round(totals.usd)))
  io.setOutput('usage-json', JSON.stringify(keys.map(usageJson)))
}

function usageLine(usage: KeyUsage): string {
  const figures = usage.usage
  const cost = usage.usd === undefined ? 'cost unknown' : `$${usage.usd.toFixed(4)}`
  return `Key ${usage.keyId} used ${figures?.requests ?? 0} requests and ${round((figures?.hours ?? 0) * 3600)} s of audio (${cost}) from ${usage.start} to ${usage.end} (UTC), so far as Deepgram reports it now.`
}

function whose(source: StepSource): string {
  return source.locator.kind === 'broker' ? "the broker's admin key" : 'api-key'
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6
}

/** The keys revoke and report mode name: by id, each from `since` (else its creation), or by tags. */
export function namedKeys(keys: { keyIds: string[]; tags: string[] }, since: Date | undefined): UsageTarget {
  if (keys.keyIds.length > 0)
    return { kind: 'keys', asks: keys.keyIds.map((keyId) => (since === undefined ? { keyId } : { keyId, since })) }
  return since === undefined ? { kind: 'tags', tags: keys.tags } : { kind: 'tags', tags: keys.tags, since }
}

/** What the report of revoke and report mode covers, and where its final figures are. */
export function namedContext(
  source: StepSource,
  keys: { keyIds: string[]; tags: string[] },
  since?: Date,
): UsageContext {
  const which = keys.keyIds.length > 0 ? `keys ${keys.keyIds.join(', ')}` : `the keys tagged ${keys.tags.join(', ')}`
  return {
    ...(source.locator.kind === 'deepgram' ? { projectId: source.locator.projectId } : {}),
    tags: keys.tags,
    what: `${which} ${since === undefined ? 'since their creation' : `since ${since.toISOString()}`}`,
  }
}

/**
 * mode: report: what the named keys used, deleting nothing. Reporting is all it does, so a
 * credential that may not read usage is a warning even with usage-report: auto.
 */
export async function reportMode(
  keys: { keyIds: string[]; tags: string[] },
  source: StepSource,
  plan: UsagePlan,
  io: ActionIO,
  secrets: Pick<Secrets, 'redact'>,
): Promise<void> {
  io.info(
    `Reporting the usage of ${keys.keyIds.length > 0 ? `keys ${keys.keyIds.join(', ')}` : `the keys tagged ${keys.tags.join(', ')}`} ${source.where}; nothing is deleted.`,
  )
  await reportUsage(namedKeys(keys, plan.since), source, { ...plan, report: 'true' }, io, {
    budgetMs: REPORT_BUDGET_MS,
    outputs: true,
    context: namedContext(source, keys, plan.since),
    secrets,
  })
}
