// The post step's usage report: before it deletes the key main created, what the key used since
// its creation. Main saves what that needs (when the key was created, its tags: neither is
// secret); post reads usage-report again from its input.
import type { KeySource } from '../flow/key-source.ts'
import type { ActionIO } from '../io.ts'
import { USAGE_BUDGET_MS } from '../limits.ts'
import { readUsageReport, type UsagePlan } from './inputs.ts'
import { reportUsage } from './report.ts'

/** Main, once the key is made: what post's report needs of it. */
export function saveUsageFacts(io: ActionIO, key: { created?: string; tags: string[] }): void {
  io.saveState('key-created', key.created ?? '')
  io.saveState('key-tags', key.tags.join(','))
}

/** Post, before the delete: the key's usage since its creation, within USAGE_BUDGET_MS. Never throws. */
export async function reportBeforeDelete(
  io: ActionIO,
  source: KeySource,
  keyId: string,
  secrets: string[],
): Promise<void> {
  let plan: UsagePlan
  try {
    plan = { report: readUsageReport((name) => io.getInput(name)) }
  } catch {
    // Main refused the same value before it created anything; a key here means it was not refused.
    return
  }
  const created = Date.parse(io.getState('key-created'))
  const tags = io
    .getState('key-tags')
    .split(',')
    .filter((tag) => tag !== '')
  await reportUsage(
    { kind: 'keys', asks: [Number.isNaN(created) ? { keyId } : { keyId, since: new Date(created) }] },
    source,
    plan,
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
