// Revoke mode, written once for every source of keys: delete the keys named by id, or every key of
// the source's own that carries all the tags. A key the source does not know (already deleted, or
// one of another project) is a warning, never counted as deleted.
import type { ActionIO } from '../io.ts'
import type { Secrets } from '../secrets.ts'
import type { RevokePlan } from '../inputs/keys.ts'
import type { UsagePlan } from '../inputs/usage.ts'
import { revokeModeSummary } from '../summary.ts'
import type { StepSource } from './key-source.ts'
import { mapBounded } from '../../shared/concurrency.ts'
import { USAGE_BUDGET_MS } from '../time-bounds.ts'
import { namedContext, namedKeys, reportUsage } from '../usage/report.ts'

/** Deletes by id this many at a time: far below either service's rate limits. */
const DELETE_CONCURRENCY = 20

export interface RevokeReport {
  revoked: string[]
  /** Ids the source does not know: already deleted, or not its own (another project's). */
  notFound: string[]
}

/** Revokes; first, unless usage-report is false, reports what the keys used (within its own short budget). */
export async function revokeKeys(
  plan: RevokePlan,
  source: StepSource,
  io: ActionIO,
  usage: { plan: UsagePlan; secrets: Pick<Secrets, 'redact'> },
): Promise<void> {
  const what = plan.keyIds.length > 0 ? `keys ${plan.keyIds.join(', ')}` : `keys tagged ${plan.tags.join(', ')}`
  await reportUsage(namedKeys(plan, usage.plan.since), source, usage.plan, io, {
    budgetMs: USAGE_BUDGET_MS,
    outputs: true,
    context: namedContext(source, plan, usage.plan.since),
    secrets: usage.secrets,
  })
  io.info(`Revoking ${what} ${source.where}.`)
  const report: RevokeReport = { revoked: [], notFound: [] }
  if (plan.keyIds.length > 0) {
    const outcomes = await mapBounded(plan.keyIds, DELETE_CONCURRENCY, (id) => source.deleteKey(id))
    plan.keyIds.forEach((id, i) => report[outcomes[i] === 'deleted' ? 'revoked' : 'notFound'].push(id))
  } else {
    const tagged = await source.deleteTagged(plan.tags)
    report.revoked.push(...tagged.revoked)
    for (const note of tagged.notes) io.info(note)
    for (const warning of tagged.warnings) io.warning(warning)
  }
  for (const id of report.revoked) io.info(`Revoked key ${id}.`)
  for (const id of report.notFound) {
    io.warning(
      `Key ${id} was not found ${source.where}: it was deleted already, or it belongs to another project. Nothing was deleted; check the id.`,
    )
  }
  if (report.revoked.length + report.notFound.length === 0) io.info(`No key matched ${what}.`)
  io.setOutput('revoked-count', String(report.revoked.length))
  io.setOutput('revoked-key-ids', report.revoked.join(','))
  await io.appendSummary(revokeModeSummary(source.where, what, report))
}
