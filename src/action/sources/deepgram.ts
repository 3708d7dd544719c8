// Deepgram itself, with the step's api-key: the source of direct mode, for keys and for tokens.
// Deepgram shows every key of the project, so this source knows its own by the marker at the end
// of each comment (deepgram/marker.ts).
import { isUuid } from '../../deepgram/ids.ts'
import { DeepgramClient, type GrantAnswer, type ProjectKey } from '../../deepgram/client.ts'
import { field } from '../../shared/json.ts'
import { grantToken } from '../../deepgram/grant.ts'
import { formatMarker, parseMarker } from '../../deepgram/marker.ts'
import { createKeyBody, deleteKeysOfInvocation } from '../../deepgram/mint.ts'
import { mapBounded } from '../../shared/concurrency.ts'
import { ActionError, ServiceError } from '../../shared/errors.ts'
import type { HttpSend } from '../../shared/http.ts'
import type { RetryClock, RetryPolicy } from '../../shared/retry.ts'
import { readUsage, type UsageApi } from '../../deepgram/usage.ts'
import type { KeyAdapter, KnownKey, SourceTerms, TaggedRevocation, UsageAdapter, UsageAsk } from '../flow/key-source.ts'
import type { TokenAnswer, TokenSource } from '../flow/token-source.ts'

/** What reaching Deepgram takes, besides the admin key and its URL. */
export interface DeepgramReach {
  send: HttpSend
  clock: RetryClock
  userAgent: string
  cancelled?: AbortSignal
}

/** Deepgram's client for one step: every request ends by `deadline` (epoch ms), or on cancel. */
export function deepgramClient(
  apiKey: string,
  baseUrl: string,
  reach: DeepgramReach,
  policy: RetryPolicy,
  deadline: number,
): DeepgramClient {
  return new DeepgramClient({
    baseUrl,
    apiKey,
    send: reach.send,
    clock: reach.clock,
    policy,
    userAgent: reach.userAgent,
    deadline,
    cancelled: reach.cancelled,
  })
}

/** The single project api-key can see; none or several is a question only the user can answer. */
export async function discoverProject(client: Pick<DeepgramClient, 'listProjects'>): Promise<string> {
  const projects = await client.listProjects()
  if (projects.some((p) => !isUuid(p.projectId))) {
    throw new ActionError(
      "Input project-id: is empty, and Deepgram's project listing holds a project id that is not a UUID. Give the project id.",
    )
  }
  const [only] = projects
  if (projects.length === 1 && only) return only.projectId
  if (projects.length === 0)
    throw new ActionError('Input project-id: is empty, and api-key belongs to no project. Give the project id.')
  const list = projects.map((p) => `${p.name} (${p.projectId})`).join(', ')
  throw new ActionError(
    `Input project-id: is empty, and api-key sees ${projects.length} projects: ${list}. Set project-id to one of them.`,
  )
}

/**
 * Requests in flight at once when reading or deleting many keys: 400 keys at 100 ms each take
 * 2 s instead of 40 s, and a project's worth of keys stays far below Deepgram's rate limits.
 */
export const KEY_CONCURRENCY = 20

type KeysApi = Pick<DeepgramClient, 'createKeyOnce' | 'listKeys' | 'getKey' | 'deleteKey'>

/**
 * Deepgram as a KeySource, in one project. `defaultComment` names the run when the step gives no
 * comment; the marker that follows it is how this source finds its own keys again.
 */
export function deepgramKeySource(
  client: KeysApi,
  projectId: string,
  defaultComment: string,
  tagsRead: TagsRead = new Map(),
): KeyAdapter {
  return {
    locator: { kind: 'deepgram', projectId },
    async createOnce(request, attempt) {
      const body = createKeyBody({
        projectId,
        comment: request.comment ?? defaultComment,
        marker: {
          kind: 'action',
          invocation: request.invocation,
          ...(request.secret ? { secret: request.secret } : {}),
        },
        scopes: request.scopes,
        tags: request.tags,
        expiration: request.expiration,
      })
      return { ...(await client.createKeyOnce(projectId, body, attempt)), projectId }
    },
    deleteInvocationKeys: (invocation) => deleteKeysOfInvocation(client, projectId, { kind: 'action', invocation }),
    deleteKey: (keyId) => client.deleteKey(projectId, keyId),
    async keysOfSecret(digest) {
      const listed = await client.listKeys(projectId)
      return listed.filter((key) => isUuid(key.apiKeyId) && isKeyOfSecret(key, digest)).map(known)
    },
    async deleteTagged(tags) {
      const found = await keysTaggedWithAll(tags, projectId, client, tagsRead)
      const outcomes = await mapBounded(found.ids, KEY_CONCURRENCY, (id) => client.deleteKey(projectId, id))
      const report: TaggedRevocation = {
        revoked: found.ids.filter((_, i) => outcomes[i] === 'deleted'),
        notes: [],
        warnings: [],
      }
      if (found.keysRead > 0) report.notes.push(`Read ${found.keysRead} keys one by one to learn their tags.`)
      if (found.unreadable > 0)
        report.warnings.push(`Left alone ${found.unreadable} listed keys whose ids are not UUIDs.`)
      return report
    },
  }
}

/** How messages name Deepgram's project, and what a person can do about its keys. */
export function deepgramTerms(projectId: string): SourceTerms {
  return {
    service: 'Deepgram',
    where: `in project ${projectId}`,
    byHand: 'Delete it in the Deepgram console.',
    orphanAdvice: (invocation) =>
      `delete any key whose name ends with "${formatMarker({ kind: 'action', invocation }).trim()}" in the Deepgram console.`,
  }
}

/**
 * Temporary tokens from Deepgram (POST /v1/auth/grant). A grant belongs to no project and leaves
 * nothing behind, so it is retried like a read.
 */
export function deepgramTokenSource(client: DeepgramClient): TokenSource {
  return { grant: async ({ seconds }) => tokenAnswerOf(await grantToken(client, seconds)) }
}

/** Either service's answer to a grant, its two fields as they came, for checkToken. */
export function tokenAnswerOf(answer: GrantAnswer): TokenAnswer {
  return {
    accessToken: field(answer.body, 'access_token'),
    expiresIn: field(answer.body, 'expires_in'),
    sentAt: answer.sentAt,
    status: answer.status,
    requestId: answer.requestId,
  }
}

/** Ours, for this secret: the comment ends in an action marker carrying this digest. */
export function isKeyOfSecret(key: ProjectKey, digest: string): boolean {
  const marker = parseMarker(key.comment)
  return marker?.kind === 'action' && marker.secret === digest
}

function known(key: ProjectKey): KnownKey {
  return { apiKeyId: key.apiKeyId, created: key.created, expirationDate: key.expirationDate }
}

/**
 * Tags of keys read one by one, by key id: a key's tags never change, so what revoke mode's usage
 * report read need not be read again to delete the same keys.
 */
export type TagsRead = Map<string, string[]>

/**
 * Keys whose tags include every one of `tags`, never one that matches only some. Deepgram's
 * current description has no tags in list items, so a key listed without them is read alone,
 * KEY_CONCURRENCY at a time.
 */
export async function keysTaggedWithAll(
  tags: string[],
  projectId: string,
  client: Pick<KeysApi, 'listKeys' | 'getKey'>,
  tagsRead: TagsRead = new Map(),
): Promise<{ ids: string[]; keysRead: number; unreadable: number; created: Map<string, string | undefined> }> {
  const listed = await client.listKeys(projectId)
  const usable = listed.filter((key) => isUuid(key.apiKeyId))
  const toRead = usable.filter((key) => key.tags === undefined && !tagsRead.has(key.apiKeyId))
  const read = await mapBounded(toRead, KEY_CONCURRENCY, (key) => client.getKey(projectId, key.apiKeyId))
  toRead.forEach((key, i) => tagsRead.set(key.apiKeyId, read[i]?.tags ?? []))
  const ids = usable
    .filter((key) => {
      const keyTags = key.tags ?? tagsRead.get(key.apiKeyId) ?? []
      return tags.every((tag) => keyTags.includes(tag))
    })
    .map((key) => key.apiKeyId)
  const created = new Map(usable.map((key) => [key.apiKeyId, key.created]))
  const keysRead = usable.filter((key) => key.tags === undefined).length
  return { ids, keysRead, unreadable: listed.length - usable.length, created }
}

/** How far back a usage report reaches for a key whose creation is unknown (a deleted key, say). */
export const USAGE_DAYS_WHEN_UNKNOWN = 7

/**
 * Usage straight from Deepgram: any key id of the project, a deleted one too (Deepgram keeps usage
 * after the key is gone). A key asked without `since` is read from its creation, which costs one
 * more request; a key Deepgram no longer knows is read from 7 days back.
 */
export function deepgramUsage(
  client: UsageApi & Pick<KeysApi, 'listKeys' | 'getKey'>,
  projectId: string,
  now: () => number,
  tagsRead: TagsRead = new Map(),
): UsageAdapter {
  const sinceOf = async (ask: UsageAsk): Promise<Date> => {
    if (ask.since !== undefined) return ask.since
    const created = await client.getKey(projectId, ask.keyId).then(
      (key) => key.created,
      (error: unknown) => {
        if (error instanceof ServiceError && error.status === 404) return undefined
        throw error
      },
    )
    return createdOrDefault(created, now())
  }
  const read = async (asks: UsageAsk[]) => {
    const sinces = await mapBounded(asks, KEY_CONCURRENCY, sinceOf)
    const keys = asks.map((ask, i) => ({ keyId: ask.keyId, since: sinces[i] ?? createdOrDefault(undefined, now()) }))
    return { keys: await readUsage(client, projectId, keys, new Date(now())), unknown: [] }
  }
  return {
    usageOf: read,
    async usageTagged(tags, since) {
      const found = await keysTaggedWithAll(tags, projectId, client, tagsRead)
      return read(
        found.ids.map((keyId) => ({ keyId, since: since ?? createdOrDefault(found.created.get(keyId), now()) })),
      )
    },
  }
}

/** A key's creation as a date; 7 days back from `now` when it is unknown or unreadable. */
export function createdOrDefault(created: string | undefined, now: number): Date {
  const at = created === undefined ? NaN : Date.parse(created)
  return Number.isNaN(at) ? new Date(now - USAGE_DAYS_WHEN_UNKNOWN * 86_400_000) : new Date(at)
}
