import type { CreateKeyBody, CreatedKey, DeepgramClient, ProjectKey } from './client.ts'
import { transientVerdict } from '../shared/json-service.ts'
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
 * Where a key is created: one create attempt at a time, and the deletion of every key this
 * invocation may have created. Deepgram itself is one (createKeyWithoutOrphans below); the action's
 * create flow makes another of whichever source it was given: the same retry and clean-up rules
 * hold for both.
 */
export interface Minter<K extends CreatedKey = CreatedKey> {
  createOnce(attempt: { n: number; remainingMs: number }): Promise<K>
  /** Deletes every key carrying this invocation's marker; the ids it deleted. */
  deleteInvocationKeys(): Promise<string[]>
  /** How a person finds the key by hand when the clean-up fails too. */
  byHand: string
}

export type MintOptions = Omit<MintDeps, 'client'>

/**
 * Creates the key, retrying without ever leaving a duplicate behind. A create is retried at once
 * only when it certainly was not processed (429, no connection). After an ambiguous failure (5xx,
 * a reset or timeout once the request was out) the keys that carry this invocation's marker are
 * deleted before trying again. A 2xx that is not a key is ambiguous too, but final: the keys with
 * the marker are deleted and the step fails. A cancelled job does no clean-up here: main must end
 * quickly, and post finds the key by the marker.
 */
export async function mintWithoutOrphans<K extends CreatedKey>(minter: Minter<K>, options: MintOptions): Promise<K> {
  const cleanUpIfAmbiguous = async (error: unknown): Promise<void> => {
    if (!isAmbiguous(error)) return
    let deleted: string[]
    try {
      deleted = await minter.deleteInvocationKeys()
    } catch (cleanUp) {
      if (cleanUp instanceof CleanUpError) throw cleanUp
      throw new CleanUpError(
        `Creating the key failed in a way that may have created it anyway, and deleting what it may have created failed too: ${describe(cleanUp)} ${minter.byHand}`,
      )
    }
    for (const id of deleted) options.log(`Deleted key ${id}, created by an attempt whose answer was lost.`)
  }
  try {
    return await withRetry(
      (n, remainingMs) => minter.createOnce({ n, remainingMs }),
      transientVerdict,
      endingBy(options.policy, options.createBy, options.clock.now()),
      options.clock,
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

/** mintWithoutOrphans with Deepgram as the minter: the marker finds the keys of an interrupted create. */
export async function createKeyWithoutOrphans(request: MintRequest, deps: MintDeps): Promise<CreatedKey> {
  const body = createKeyBody(request)
  return mintWithoutOrphans(
    {
      createOnce: (attempt) => deps.client.createKeyOnce(request.projectId, body, attempt),
      deleteInvocationKeys: () => deleteKeysOfInvocation(deps.client, request.projectId, request.marker),
      byHand: byHandFor(request.marker),
    },
    deps,
  )
}

/** Did the service perhaps create the key even though we got no success answer? */
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

function byHandFor(marker: Marker): string {
  return `The post step will look for it again; if that fails too, delete any key whose name ends with "${formatMarker(marker).trim()}" in the Deepgram console.`
}

/**
 * Lists the project's keys and deletes those carrying this invocation's marker: the ids deleted.
 * A listed key with the marker but an id that is not a UUID is never sent anywhere.
 */
export async function deleteKeysOfInvocation(
  client: Pick<DeepgramClient, 'listKeys' | 'deleteKey'>,
  projectId: string,
  marker: Marker,
): Promise<string[]> {
  const byHand = byHandFor(marker)
  let keys: ProjectKey[]
  try {
    keys = await client.listKeys(projectId)
  } catch (error) {
    throw new CleanUpError(
      `Creating the key failed in a way that may have created it anyway, and listing the project's keys to check failed too: ${describe(error)} ${byHand}`,
    )
  }
  const deleted: string[] = []
  for (const key of keys.filter((k) => isFromThisInvocation(k, marker))) {
    if (!isUuid(key.apiKeyId))
      throw new CleanUpError(
        `Deepgram listed a key with this run's marker whose id is not a UUID, so it was not deleted. ${byHand}`,
      )
    const outcome = await client.deleteKey(projectId, key.apiKeyId).catch((error: unknown) => {
      throw new CleanUpError(
        `An interrupted attempt created key ${key.apiKeyId}, and deleting it failed: ${describe(error)} ${byHand}`,
      )
    })
    if (outcome === 'deleted') deleted.push(key.apiKeyId)
  }
  return deleted
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
export function verifyCreatedKey(
  key: CreatedKey,
  expiration: Expiration,
  sentAt: number,
  receivedAt: number,
): string | undefined {
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
    const basis =
      expiration.kind === 'ttl' && !Number.isNaN(created)
        ? ` (created ${new Date(created).toISOString()} plus the time to live)`
        : ''
    return `it expires at ${new Date(actual).toISOString()}, not at ${new Date(asked).toISOString()}${basis} as asked`
  }
  return undefined
}

function around(expected: number, tolerance: number): [number, number, number] {
  return [expected - tolerance, expected + tolerance, expected]
}
