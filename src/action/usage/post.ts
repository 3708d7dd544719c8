// The post step's usage report: before it deletes the key main created, what the key used since
// its creation. Main saves what that needs (when the key was created, its tags: neither is
// secret); post reads usage-report again from its input (inputs/post.ts).
import type { StepSource } from '../flow/key-source.ts'
import type { ActionIO } from '../io.ts'
import type { Secrets } from '../secrets.ts'
import { USAGE_BUDGET_MS } from '../time-bounds.ts'
import type { UsageReportPolicy } from '../inputs/usage.ts'
import { reportUsage } from './report.ts'

/** Main, once the key is made: what post's report needs of it. */
export function saveUsageFacts(io: ActionIO, key: { created?: string; tags: string[] }): void {
  io.saveState('key-created', key.created ?? '')
  io.saveState('key-tags', key.tags.join(','))
}

/** Post, before the delete: the key's usage since its creation, within USAGE_BUDGET_MS. Never throws. */
export async function reportBeforeDelete(
  io: ActionIO,
  source: StepSource,
  keyId: string,
  { report, secrets }: { report: UsageReportPolicy | undefined; secrets: Pick<Secrets, 'redact'> },
): Promise<void> {
  // Main refused a value it does not know before it created anything; a key here means it was not refused.
  if (report === undefined) return
  const created = Date.parse(io.getState('key-created'))
  const tags = io
    .getState('key-tags')
    .split(',')
    .filter((tag) => tag !== '')
  await reportUsage(
    { kind: 'keys', asks: [Number.isNaN(created) ? { keyId } : { keyId, since: new Date(created) }] },
    source,
    { report },
    io,
    {
      budgetMs: USAGE_BUDGET_MS,
      outputs: false,
      context: {
        ...(source.locator.kind === 'deepgram' ? { projectId: source.locator.projectId } : {}),
        tags,
        what: `key ${keyId} since its creation`,
      },
      secrets,
    },
  )
}
