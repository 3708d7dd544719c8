import type { CreateKeyBody, CreatedKey, DeepgramClient, ProjectKey } from './client.ts'
import { transientVerdict } from './client.ts'
import { ActionError, NetworkError, ServiceError } from '../shared/errors.ts'
import { formatMarker, parseMarker, withMarker, type Marker } from './marker.ts'
import { expectedExpiry, type Expiration } from './expiration.ts'
import { withRetry, type RetryClock, type RetryPolicy } from '../shared/retry.ts'

export interface MintRequest {
  projectId: string
  /** The comment as the user or the default gave it; the marker is appended when sending. */
  comment: string
  /** Unique to this invocation: the only proof that a listed key is ours (see marker.ts). */
  marker: Marker
  scopes: string[]
  tags: string[]
  expiration: Expiration
}

export interface MintDeps {
  client: Pick<DeepgramClient, 'createKeyOnce' | 'listKeys' | 'deleteKey'>
  clock: RetryClock
  policy: RetryPolicy
  log: (message: string) => void
}

/** How far Deepgram's reported expiry may stray from what we asked: clocks and rounding. */
export const EXPIRY_TOLERANCE_MS = 5 * 60_000

export function createKeyBody(request: MintRequest): CreateKeyBody {
  const body: CreateKeyBody = { comment: withMarker(request.comment, request.marker), scopes: request.scopes }
  if (request.tags.length > 0) body.tags = request.tags
  if (request.expiration.kind === 'ttl') body.time_to_live_in_seconds = request.expiration.seconds
  else body.expiration_date = request.expiration.date.toISOString()
  return body
}

/**
 * Creates the key, retrying without ever leaving a duplicate behind. A create is retried at once
 * only when Deepgram certainly did not process it (429, no connection). After an ambiguous
 * failure (5xx, a reset or timeout once the request was out) the key may exist: the keys that
 * carry this invocation's comment are deleted before trying again.
 */
export async function createKeyWithoutOrphans(request: MintRequest, deps: MintDeps): Promise<CreatedKey> {
  const body = createKeyBody(request)
  const cleanUpIfAmbiguous = async (error: unknown): Promise<void> => {
    if (isAmbiguous(error)) await deleteInterruptedKeys(request, deps)
  }
  try {
    return await withRetry(
      () => deps.client.createKeyOnce(request.projectId, body),
      transientVerdict,
      deps.policy,
      deps.clock,
      cleanUpIfAmbiguous,
    )
  } catch (error) {
    // The last attempt may have created a key too; nobody will retry it, so nobody may keep it.
    await cleanUpIfAmbiguous(error)
    throw error
  }
}

/** Did Deepgram perhaps create the key even though we got no success answer? */
function isAmbiguous(error: unknown): boolean {
  if (error instanceof NetworkError) return error.sent
  return error instanceof ServiceError && error.status >= 500
}

async function deleteInterruptedKeys(request: MintRequest, deps: MintDeps): Promise<void> {
  let keys: ProjectKey[]
  try {
    keys = await deps.client.listKeys(request.projectId)
  } catch (error) {
    throw new ActionError(
      `Creating the key failed in a way that may have created it anyway, and listing the project's keys to check failed too: ${describe(error)} ` +
        `Delete any key whose name ends with "${formatMarker(request.marker).trim()}" in the Deepgram console.`,
    )
  }
  const interrupted = keys.filter((key) => isFromThisInvocation(key, request.marker))
  for (const key of interrupted) {
    const outcome = await deps.client.deleteKey(request.projectId, key.apiKeyId).catch((error: unknown) => {
      throw new ActionError(
        `An interrupted attempt created key ${key.apiKeyId}, and deleting it failed: ${describe(error)} Delete it in the Deepgram console.`,
      )
    })
    deps.log(`Deleted key ${key.apiKeyId}, created by an attempt whose answer was lost (${outcome}).`)
  }
}

/** Ours only when the comment ends with this invocation's own marker: another run's key never is. */
export function isFromThisInvocation(key: ProjectKey, marker: Marker): boolean {
  const found = parseMarker(key.comment)
  return found !== undefined && found.kind === marker.kind && found.invocation === marker.invocation
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * What is wrong with Deepgram's answer, or undefined when it is the key we asked for. A key
 * without the expiry we asked for would live forever (Deepgram ignores fields it does not know).
 */
export function verifyCreatedKey(key: CreatedKey, expiration: Expiration, sentAt: number, receivedAt: number): string | undefined {
  if (key.key === '') return 'the answer carries no key'
  if (key.apiKeyId === '') return 'the answer carries no api_key_id'
  if (key.expirationDate === undefined) return 'the answer carries no expiration_date: the key would never expire'
  const actual = Date.parse(key.expirationDate)
  if (Number.isNaN(actual)) return `its expiration_date '${key.expirationDate}' is not a date`
  const earliest = expectedExpiry(expiration, new Date(sentAt)).getTime() - EXPIRY_TOLERANCE_MS
  const latest = expectedExpiry(expiration, new Date(receivedAt)).getTime() + EXPIRY_TOLERANCE_MS
  if (actual < earliest || actual > latest) {
    return `it expires at ${new Date(actual).toISOString()}, not at ${expectedExpiry(expiration, new Date(sentAt)).toISOString()} as asked`
  }
  return undefined
}
