// keep-previous: once every target of a secret holds the new key, the earlier keys this action
// minted for that same secret are deleted, but for the newest N of them. "The same secret" is the
// digest in each key's marker (marker.ts, github/plan.ts secretIdentity): the source lists the
// keys of that digest (Deepgram by the marker in its listing, the broker by its own), so a key
// made by hand, or minted for another repository or secret, is never touched.
import { isUuid } from '../../deepgram/ids.ts'
import type { ActionIO } from '../io.ts'
import { describeFailure } from '../../shared/errors.ts'
import type { KnownKey, StepSource } from './key-source.ts'

/** The new key, as the create answer or the listing tells its creation time. */
export interface NewKey {
  apiKeyId: string
  created?: string
}

export interface Selection {
  /** Earlier keys of the secret, oldest first: deleted in that order. */
  remove: KnownKey[]
  /** The newest earlier keys, newest first, left live. */
  keep: KnownKey[]
}

/**
 * Which listed keys go. Only keys marked by this action for the same secret digest, created before
 * the new key (a key a later run made meanwhile may be what the secret holds now), ordered by
 * Deepgram's `created`. Undefined when the new key's creation time is unknown: then which keys are
 * earlier cannot be told, and nothing is deleted.
 */
export function selectPreviousKeys(keys: KnownKey[], newKey: NewKey, keep: number): Selection | undefined {
  const listed = keys.find((k) => sameId(k.apiKeyId, newKey.apiKeyId))
  const newCreated = createdMicros(listed?.created ?? newKey.created)
  if (newCreated === undefined) return undefined
  const earlier = keys
    .flatMap((key) => {
      const created = createdMicros(key.created)
      // Without a creation time a key cannot be ordered; it expires on its own like every key we mint.
      if (created === undefined || created >= newCreated || sameId(key.apiKeyId, newKey.apiKeyId)) return []
      if (!isUuid(key.apiKeyId)) return []
      return [{ key, created }]
    })
    .sort((a, b) => b.created - a.created || b.key.apiKeyId.localeCompare(a.key.apiKeyId))
    .map(({ key }) => key)
  return { keep: earlier.slice(0, keep), remove: earlier.slice(keep).reverse() }
}

function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i

/** Deepgram's timestamps carry microseconds; two keys a millisecond apart still order. */
export function createdMicros(text: string | undefined): number | undefined {
  const match = TIMESTAMP.exec(text ?? '')
  if (match === null) return undefined
  const seconds = Date.parse(`${match[1]}${match[3]}`)
  if (Number.isNaN(seconds)) return undefined
  return seconds * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6))
}

export interface RetiredKey {
  key: KnownKey
  outcome: 'deleted' | 'already-gone' | 'kept' | 'failed'
}

export interface RotationReport {
  secretName: string
  keep: number
  keys: RetiredKey[]
  /** Why nothing could be looked at or deleted (the listing failed, or the new key's time is unknown). */
  problem?: string
}

export interface RotationRequest {
  secretName: string
  digest: string
  keep: number
  newKey: NewKey
}

/**
 * Deletes the earlier keys of the secret. Never throws: the new key is in place whatever happens
 * here, so a key that cannot be listed or deleted is a warning, and it expires on its own.
 */
export async function retirePreviousKeys(
  request: RotationRequest,
  source: Pick<StepSource, 'keysOfSecret' | 'deleteKey' | 'byHand'>,
  io: Pick<ActionIO, 'info' | 'warning'>,
): Promise<RotationReport> {
  const { secretName, keep } = request
  const report: RotationReport = { secretName, keep, keys: [] }
  const giveUp = (problem: string): RotationReport => {
    io.warning(`No earlier key of secret ${secretName} was deleted: ${problem} They expire on their own.`)
    return { ...report, problem }
  }
  let keys: KnownKey[]
  try {
    keys = await source.keysOfSecret(request.digest)
  } catch (error) {
    return giveUp(`listing the secret's keys failed: ${describeFailure(error)}`)
  }
  const selection = selectPreviousKeys(keys, request.newKey, keep)
  if (selection === undefined)
    return giveUp(
      `Deepgram's answers give no creation time for the new key ${request.newKey.apiKeyId}, so which keys are earlier is unknown.`,
    )
  report.keys.push(...selection.keep.map((key): RetiredKey => ({ key, outcome: 'kept' })))
  io.info(
    `Secret ${secretName} had ${selection.keep.length + selection.remove.length} earlier key(s) from this action; keeping the newest ${selection.keep.length}, deleting ${selection.remove.length}.`,
  )
  // One at a time, oldest first: when api-key is itself an earlier key of this secret (the admin key
  // rotating itself with keep-previous: 0), it is the newest of them and goes last.
  for (const key of selection.remove) {
    try {
      const outcome = await source.deleteKey(key.apiKeyId)
      io.info(
        outcome === 'deleted'
          ? `Deleted key ${key.apiKeyId}, an earlier key of secret ${secretName}.`
          : `Key ${key.apiKeyId} of secret ${secretName} was already deleted.`,
      )
      report.keys.push({ key, outcome })
    } catch (error) {
      const until = key.expirationDate ? `until ${key.expirationDate}` : 'until it expires'
      io.warning(
        `Could not delete key ${key.apiKeyId}, an earlier key of secret ${secretName}: ${describeFailure(error)} It stays valid ${until}. ${source.byHand}`,
      )
      report.keys.push({ key, outcome: 'failed' })
    }
  }
  return report
}

/** Create mode's revoked-count and revoked-key-ids: the earlier keys deleted (none after a partial write). */
export function publishRotation(io: Pick<ActionIO, 'setOutput'>, report: RotationReport | undefined): void {
  const deleted = (report?.keys ?? []).filter((k) => k.outcome === 'deleted').map((k) => k.key.apiKeyId)
  io.setOutput('revoked-count', String(deleted.length))
  io.setOutput('revoked-key-ids', deleted.join(','))
}
