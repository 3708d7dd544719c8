import { mapBounded } from '../shared/concurrency.ts'
import { ActionError, describeFailure } from '../shared/errors.ts'
import type { PublicKey, SecretsApi, WriteOutcome } from './api.ts'
import { describeTarget, type SecretPlan, type SecretTarget } from './plan.ts'
import type { Seal } from './seal.ts'

/**
 * Requests in flight at once. GitHub allows 100 and asks integrators not to burst; ten at a time
 * keeps 20 repositories at two rounds.
 */
export const CONCURRENCY = 10

/** A target whose public key (and, for selected visibility, repository ids) is in hand. */
export interface PreparedTarget {
  target: SecretTarget
  publicKey: PublicKey
  selectedRepositoryIds?: number[]
}

export type TargetResult = { target: SecretTarget; outcome: WriteOutcome } | { target: SecretTarget; error: string }

/**
 * Hears of each write as it starts and as it ends, so that a step cut short (a cancelled job) has
 * recorded which writes were sent and which were confirmed.
 */
export interface WriteWatch {
  started(target: SecretTarget): void
  ended(result: TargetResult): void
}

/**
 * Fetches what every target needs before the key exists. One target that cannot be prepared
 * means nothing is written: the error lists every such target.
 */
export async function prepareTargets(plan: SecretPlan, api: SecretsApi): Promise<PreparedTarget[]> {
  const settled = await mapBounded(plan.targets, CONCURRENCY, async (target) => {
    try {
      const [publicKey, selectedRepositoryIds] = await Promise.all([api.getPublicKey(target), selectedIds(target, api)])
      return { target, publicKey, selectedRepositoryIds }
    } catch (error) {
      return { target, error }
    }
  })
  const failures = settled.flatMap((s) => ('error' in s ? [describeFailure(s.error)] : []))
  if (failures.length > 0) throw new ActionError(`nothing was written to secret ${plan.name}: ${failures.join(' ')}`)
  return settled.filter((s): s is PreparedTarget => !('error' in s))
}

async function selectedIds(target: SecretTarget, api: SecretsApi): Promise<number[] | undefined> {
  if (target.scope !== 'organization' || target.visibility !== 'selected') return undefined
  return Promise.all(target.selectedRepositories.map((repo) => api.repositoryId(target.org, repo)))
}

/**
 * Seals the value for each target's own key and writes it; never throws, reports per target.
 * `progress` hears how many targets are done (written or failed) after each one.
 */
export async function writeToTargets(
  value: string,
  name: string,
  prepared: PreparedTarget[],
  api: SecretsApi,
  seal: Seal,
  progress: (done: number, total: number) => void = () => {},
  watch?: WriteWatch,
): Promise<TargetResult[]> {
  let done = 0
  return mapBounded(
    prepared,
    CONCURRENCY,
    async ({ target, publicKey, selectedRepositoryIds }): Promise<TargetResult> => {
      let result: TargetResult
      try {
        const encryptedValue = seal(value, publicKey.key)
        // Before the write waits for its slot (pacing.ts): an earlier start only widens what later
        // counts as this write's doing.
        watch?.started(target)
        result = {
          target,
          outcome: await api.putSecret({ target, name, encryptedValue, keyId: publicKey.keyId, selectedRepositoryIds }),
        }
      } catch (error) {
        result = { target, error: describeFailure(error) }
      }
      watch?.ended(result)
      progress(++done, prepared.length)
      return result
    },
  )
}

/** Public keys fetched once per target (type, owner, repository, environment or organization). */
export function withPublicKeyCache(api: SecretsApi): SecretsApi {
  const cache = new Map<string, Promise<PublicKey>>()
  return {
    ...api,
    getPublicKey(target) {
      const key = targetKey(target)
      let publicKey = cache.get(key)
      if (publicKey === undefined) {
        publicKey = api.getPublicKey(target)
        cache.set(key, publicKey)
        // A failed fetch is not worth remembering: a later call may succeed.
        publicKey.catch(() => cache.delete(key))
      }
      return publicKey
    },
  }
}

function targetKey(target: SecretTarget): string {
  const place =
    target.scope === 'organization'
      ? [target.org]
      : target.scope === 'environment'
        ? [target.owner, target.repo, target.environment]
        : [target.owner, target.repo]
  return [target.type, target.scope, ...place].join('/').toLowerCase()
}

/**
 * Splits results into the targets that now hold the key and those that failed. Targets that
 * failed for the same reason (such as GitHub's limits) share one entry.
 */
export function splitResults(results: TargetResult[]): { held: string[]; failed: string[] } {
  const held = results.flatMap((r) => ('outcome' in r ? [describeTarget(r.target)] : []))
  const byReason = new Map<string, string[]>()
  for (const r of results)
    if ('error' in r) byReason.set(r.error, [...(byReason.get(r.error) ?? []), describeTarget(r.target)])
  const failed = [...byReason].map(([error, targets]) => `${targets.join(', ')}: ${error}`)
  return { held, failed }
}
