// What the broker answers about usage: only for keys it minted for the caller's repository, the
// same rule as deleting (ownership.ts). A key is read first, so a key of another repository is a
// 403 and an unknown or deleted one a 404, before any usage is asked: never another's figures.
// The figures come from the same reader as the action's direct mode (deepgram/usage.ts).
import type { DeepgramClient, ProjectKey } from '../deepgram/client.ts'
import { isUuid } from '../deepgram/ids.ts'
import { readUsage, usageJson, type KeyUsage, type UsageApi } from '../deepgram/usage.ts'
import { mapBounded } from '../shared/concurrency.ts'
import { callDeepgram } from './deepgram-failures.ts'
import { isTag, MAX_TAGS } from '../deepgram/tags.ts'
import { badRequest, forbidden } from './refusal.ts'

/** A JSON answer of the broker's (service.ts's Answer). */
interface Answer {
  status: number
  body: unknown
}

/** Keys read alone at once for GET /v1/usage, when Deepgram's listing leaves their tags out. */
const KEY_CONCURRENCY = 5
/** How far back `since` may reach, as the action's usage-since. */
const MAX_SINCE_DAYS = 366
/** Without `since`, and without the key's creation, the report reaches this far back. */
const DAYS_WHEN_UNKNOWN = 7
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/

export interface UsageDeps {
  deepgram: UsageApi & Pick<DeepgramClient, 'getKey'>
  projectId: string
  /** Whether this broker minted the key for the caller. */
  owns: (key: ProjectKey) => boolean
  now: number
}

/** `since` as the action sends it (ISO 8601 UTC, as toISOString writes it): in the past, at most 366 days back. */
export function parseSince(text: string | null, now: number): Date | undefined {
  if (text === null) return undefined
  const at = ISO_TIME.test(text) ? Date.parse(text) : NaN
  if (Number.isNaN(at) || at > now || now - at > MAX_SINCE_DAYS * 86_400_000)
    throw badRequest(
      'since must be an ISO 8601 UTC date-time such as 2026-12-01T12:00:00.000Z, in the past and at most 366 days back.',
    )
  return new Date(at)
}

/** The tags of ?tags=a,b: 1 to 20, each a tag the policy accepts. */
export function parseTagQuery(tagList: string): string[] {
  const tags = [
    ...new Set(
      tagList
        .split(',')
        .map((tag) => tag.trim())
        .filter((tag) => tag !== ''),
    ),
  ]
  if (tags.length === 0 || tags.length > MAX_TAGS || !tags.every(isTag)) {
    throw badRequest(
      'tags must be 1 to 20 tags separated by commas, each of letters, digits and _.:/@+=-, such as ?tags=ci,pr-42.',
    )
  }
  return tags
}

/** GET /v1/keys/{key_id}/usage: one key of the caller's, from `since` or its creation. */
export async function ownedKeyUsage(deps: UsageDeps, keyId: string, since: Date | undefined): Promise<Answer> {
  if (!isUuid(keyId))
    throw badRequest(
      `'${keyId.slice(0, 64)}' is not a key id: give the key_id (a UUID) the broker answered when it minted the key.`,
    )
  const key = await callDeepgram(() => deps.deepgram.getKey(deps.projectId, keyId), keyId)
  if (!deps.owns(key))
    throw forbidden('not_yours', `Key ${keyId} was not minted by this broker for the caller's repository.`)
  return { status: 200, body: { keys: (await usageOf(deps, [key], since)).map(usageJson) } }
}

/** GET /v1/usage?tags=…: every key of the caller's that carries all the tags. */
export async function taggedUsage(
  deps: UsageDeps,
  owned: ProjectKey[],
  tags: string[],
  since: Date | undefined,
): Promise<{ answer: Answer; keyIds: string[] }> {
  // Deepgram's listing may leave tags out; then the key is read alone.
  const keys = await mapBounded(owned, KEY_CONCURRENCY, (candidate) =>
    candidate.tags === undefined
      ? callDeepgram(() => deps.deepgram.getKey(deps.projectId, candidate.apiKeyId))
      : Promise.resolve(candidate),
  )
  const tagged = keys.filter((key) => tags.every((tag) => (key.tags ?? []).includes(tag)))
  const usage = await usageOf(deps, tagged, since)
  return { answer: { status: 200, body: { keys: usage.map(usageJson) } }, keyIds: tagged.map((key) => key.apiKeyId) }
}

/** The keys' usage, each from `since`, else from its creation (7 days back when unknown). */
function usageOf(deps: UsageDeps, keys: ProjectKey[], since: Date | undefined): Promise<KeyUsage[]> {
  const from = (key: ProjectKey): Date => {
    const created = key.created === undefined ? NaN : Date.parse(key.created)
    return since ?? (Number.isNaN(created) ? new Date(deps.now - DAYS_WHEN_UNKNOWN * 86_400_000) : new Date(created))
  }
  const asks = keys.map((key) => ({ keyId: key.apiKeyId, since: from(key) }))
  return callDeepgram(() => readUsage(deps.deepgram, deps.projectId, asks, new Date(deps.now)))
}
