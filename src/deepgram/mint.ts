import type { CreateKeyBody, CreatedKey, DeepgramClient, ProjectKey } from './client.ts'
import { transientVerdict } from './client.ts'
import { ActionError, CancelledError, NetworkError, ServiceError, UnusableAnswerError } from '../shared/errors.ts'
import { formatMarker, parseMarker, withMarker, type Marker } from './marker.ts'
import { expectedExpiry, type Expiration } from './expiration.ts'
import { endingBy, withRetry, type RetryClock, type RetryPolicy } from '../shared/retry.ts'
import { isUuid } from './ids.ts'

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
  /**
   * Epoch ms by which the last create attempt must have ended, so that the clean-up after an
   * ambiguous one still fits in the step (the client's own deadline bounds the clean-up).
   */
  createBy?: number
}

/** How far Deepgram's expiry may stray from its own `created` plus the TTL, or the date asked: rounding. */
export const EXPIRY_TOLERANCE_MS = 60_000
/** The same, when the answer has no `created` and the runner's clock must stand in for Deepgram's. */
export const RUNNER_CLOCK_TOLERANCE_MS = 5 * 60_000

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
 * failure (5xx, a reset or timeout once the request was out) the keys that carry this
 * invocation's marker are deleted before trying again. A 2xx that is not a key is ambiguous too,
 * but final: the keys with the marker are deleted and the step fails. A cancelled job does no
 * clean-up here: main must end quickly, and post finds the key by the marker.
 */
export async function createKeyWithoutOrphans(request: MintRequest, deps: MintDeps): Promise<CreatedKey> {
  const body = createKeyBody(request)
  const cleanUpIfAmbiguous = async (error: unknown): Promise<void> => {
    if (isAmbiguous(error)) await deleteInterruptedKeys(request, deps)
  }
  try {
    return await withRetry(
      (n, remainingMs) => deps.client.createKeyOnce(request.projectId, body, { n, remainingMs }),
      transientVerdict,
      endingBy(deps.policy, deps.createBy, deps.clock.now()),
      deps.clock,
      cleanUpIfAmbiguous,
    )
  } catch (error) {
    // The last attempt may have created a key too; nobody will retry it, so nobody may keep it.
    await cleanUpIfAmbiguous(error)
    if (error instanceof UnusableAnswerError) {
      throw new ActionError(`${error.message} Any key it made was found by its marker and deleted; run the job again.`)
    }
    throw error
  }
}

/** Did Deepgram perhaps create the key even though we got no success answer? */
function isAmbiguous(error: unknown): boolean {
  if (error instanceof NetworkError) return error.sent
  if (error instanceof UnusableAnswerError) return true
  return error instanceof ServiceError && error.status >= 500
}

/** After this failure, may a key of this invocation still be alive? Then post looks for it by the marker. */
export function mayHaveLeftKey(error: unknown): boolean {
  return error instanceof CancelledError || error instanceof CleanUpError || isAmbiguous(error)
}

/** The clean-up after an ambiguous create failed: a key with the marker may be alive. */
export class CleanUpError extends ActionError {
  constructor(message: string) {
    super(message)
    this.name = 'CleanUpError'
  }
}

async function deleteInterruptedKeys(request: MintRequest, deps: MintDeps): Promise<void> {
  const byHand = `The post step will look for it again; if that fails too, delete any key whose name ends with "${formatMarker(request.marker).trim()}" in the Deepgram console.`
  let keys: ProjectKey[]
  try {
    keys = await deps.client.listKeys(request.projectId)
  } catch (error) {
    throw new CleanUpError(
      `Creating the key failed in a way that may have created it anyway, and listing the project's keys to check failed too: ${describe(error)} ${byHand}`,
    )
  }
  for (const key of keys.filter((k) => isFromThisInvocation(k, request.marker))) {
    if (!isUuid(key.apiKeyId)) throw new CleanUpError(`Deepgram listed a key with this run's marker whose id is not a UUID, so it was not deleted. ${byHand}`)
    const outcome = await deps.client.deleteKey(request.projectId, key.apiKeyId).catch((error: unknown) => {
      throw new CleanUpError(`An interrupted attempt created key ${key.apiKeyId}, and deleting it failed: ${describe(error)} ${byHand}`)
    })
    deps.log(`Deleted key ${key.apiKeyId}, created by an attempt whose answer was lost (${outcome}).`)
  }
}

/** Ours only when the comment ends with this invocation's own marker: another run's key never is. */
export function isFromThisInvocation(key: ProjectKey, marker: Marker): boolean {
  const found = parseMarker(key.comment)
  // A broker invocation is chosen by its caller, so only the whole marker (whose MAC covers the
  // repository and its issuer) proves a key is this request's, not another repository's.
  if (found?.kind === 'broker') return formatMarker(found) === formatMarker(marker)
  return found !== undefined && found.kind === marker.kind && found.invocation === marker.invocation
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * What is wrong with Deepgram's answer, or undefined when it is the key we asked for. A key
 * without the expiry we asked for would live forever (Deepgram ignores fields it does not know).
 * Deepgram's own clock decides: its expiry must match its own `created` plus the TTL, or the date
 * asked. Only an answer without `created` is checked against the runner's clock (`sentAt` and
 * `receivedAt`), with room for the two clocks to disagree.
 */
export function verifyCreatedKey(key: CreatedKey, expiration: Expiration, sentAt: number, receivedAt: number): string | undefined {
  if (key.expirationDate === undefined) return 'the answer carries no expiration_date: the key would never expire'
  const actual = Date.parse(key.expirationDate)
  if (Number.isNaN(actual)) return 'its expiration_date is not a date'
  const created = key.created === undefined ? Number.NaN : Date.parse(key.created)
  const [earliest, latest, asked] =
    expiration.kind === 'date' || !Number.isNaN(created)
      ? around(expectedExpiry(expiration, new Date(created)).getTime(), EXPIRY_TOLERANCE_MS)
      : [
          expectedExpiry(expiration, new Date(sentAt)).getTime() - RUNNER_CLOCK_TOLERANCE_MS,
          expectedExpiry(expiration, new Date(receivedAt)).getTime() + RUNNER_CLOCK_TOLERANCE_MS,
          expectedExpiry(expiration, new Date(sentAt)).getTime(),
        ]
  if (actual < earliest || actual > latest) {
    const basis = expiration.kind === 'ttl' && !Number.isNaN(created) ? ` (created ${new Date(created).toISOString()} plus the time to live)` : ''
    return `it expires at ${new Date(actual).toISOString()}, not at ${new Date(asked).toISOString()}${basis} as asked`
  }
  return undefined
}

function around(expected: number, tolerance: number): [number, number, number] {
  return [expected - tolerance, expected + tolerance, expected]
}
