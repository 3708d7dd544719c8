import type { DeepgramClient, ProjectKey } from '../../deepgram/client.ts'
import { InputError } from '../../shared/errors.ts'
import { parseList, readApiKey, readDeepgramApiUrl, readProjectId, type GetInput, type RunContext } from '../inputs.ts'
import { SECRET_INPUTS } from '../../github/plan.ts'
import { isUuid } from '../../deepgram/ids.ts'
import { mapBounded } from '../../shared/concurrency.ts'
import { discoverProject, mainDeepgramClient } from '../sources/deepgram.ts'
import type { MainDeps } from '../run-main.ts'
import { revokeModeSummary } from '../summary.ts'

/** Revoke mode: which keys to delete, validated before any request. */
export interface RevokePlan {
  apiKey: string
  projectId?: string
  /** Delete these keys… */
  keyIds: string[]
  /** …or every key whose tags include all of these. */
  tags: string[]
  deepgramApiUrl: string
}

/** Create-mode inputs and their defaults: in revoke mode anything else is a mistake worth saying. */
const CREATE_ONLY_INPUTS: Record<string, string> = { scopes: 'usage:write', 'allow-key-management': 'false', expiration: '1h', comment: '', revoke: 'auto', 'secret-name': '', ...SECRET_INPUTS }

export function readRevokePlan(getInput: GetInput, run: RunContext = {}): RevokePlan {
  const apiKey = readApiKey(getInput, run)
  for (const [input, fallback] of Object.entries(CREATE_ONLY_INPUTS)) {
    const value = getInput(input)
    if (value !== '' && value !== fallback) {
      throw new InputError(input, `applies to mode: create only, and mode is revoke. Remove it from this step.`)
    }
  }
  const keyIds = [...new Set(parseList(getInput('key-id')).map((id) => id.toLowerCase()))]
  const tags = [...new Set(parseList(getInput('tags')))]
  if (keyIds.length === 0 && tags.length === 0) {
    throw new InputError('key-id', 'and tags are both empty, and mode revoke needs one of them: key ids separated by commas or newlines, or tags that every key to delete carries.')
  }
  if (keyIds.length > 0 && tags.length > 0) {
    throw new InputError('key-id', 'and tags are both set: give key ids, or tags, not both, so that what gets deleted is plain.')
  }
  for (const id of keyIds) {
    if (!isUuid(id)) throw new InputError('key-id', `'${id}' is not a key id. Give api_key_id values (UUIDs), such as the key-id output of a create step.`)
  }
  return { apiKey, projectId: readProjectId(getInput), keyIds, tags, deepgramApiUrl: readDeepgramApiUrl(getInput) }
}

export interface RevokeReport {
  revoked: string[]
  alreadyGone: string[]
  /** Keys read one by one to learn their tags (the listing carries none). */
  keysRead: number
  /** Listed keys left alone because their id is not a UUID. */
  unreadable: number
}

type KeysApi = Pick<DeepgramClient, 'listKeys' | 'getKey' | 'deleteKey'>

/**
 * Requests in flight at once when reading or deleting many keys: 400 keys at 100 ms each take
 * 2 s instead of 40 s, and a project's worth of keys stays far below Deepgram's rate limits.
 */
export const KEY_CONCURRENCY = 20

/** Deletes the keys the plan names; 404 counts as already gone. */
export async function revokeKeys(plan: RevokePlan, projectId: string, client: KeysApi): Promise<RevokeReport> {
  const found = plan.keyIds.length > 0 ? { ids: plan.keyIds, keysRead: 0, unreadable: 0 } : await keysTaggedWithAll(plan.tags, projectId, client)
  const outcomes = await mapBounded(found.ids, KEY_CONCURRENCY, (id) => client.deleteKey(projectId, id))
  const report: RevokeReport = { revoked: [], alreadyGone: [], keysRead: found.keysRead, unreadable: found.unreadable }
  found.ids.forEach((id, i) => report[outcomes[i] === 'deleted' ? 'revoked' : 'alreadyGone'].push(id))
  return report
}

/**
 * Keys whose tags include every one of `tags`, never one that matches only some. Deepgram's
 * current description has no tags in list items, so a key listed without them is read alone,
 * KEY_CONCURRENCY at a time.
 */
export async function keysTaggedWithAll(
  tags: string[],
  projectId: string,
  client: Pick<KeysApi, 'listKeys' | 'getKey'>,
): Promise<{ ids: string[]; keysRead: number; unreadable: number }> {
  const listed = await client.listKeys(projectId)
  const usable = listed.filter((key) => isUuid(key.apiKeyId))
  const toRead = usable.filter((key) => key.tags === undefined)
  const read = await mapBounded(toRead, KEY_CONCURRENCY, (key) => client.getKey(projectId, key.apiKeyId))
  const tagsOf = new Map<string, string[]>(toRead.map((key, i) => [key.apiKeyId, read[i]?.tags ?? []]))
  const ids = usable
    .filter((key: ProjectKey) => {
      const keyTags = key.tags ?? tagsOf.get(key.apiKeyId) ?? []
      return tags.every((tag) => keyTags.includes(tag))
    })
    .map((key) => key.apiKeyId)
  return { ids, keysRead: toRead.length, unreadable: listed.length - usable.length }
}

/** Revoke mode: delete the keys named by id, or every key carrying all the tags. */
export async function revokeMode(plan: RevokePlan, deps: MainDeps): Promise<void> {
  const { io } = deps
  const client = mainDeepgramClient(plan.apiKey, plan.deepgramApiUrl, deps)
  const projectId = plan.projectId ?? (await discoverProject(client))
  const what = plan.keyIds.length > 0 ? `keys ${plan.keyIds.join(', ')}` : `keys tagged ${plan.tags.join(', ')}`
  io.info(`Revoking ${what} in project ${projectId}.`)
  const report = await revokeKeys(plan, projectId, client)
  for (const id of report.revoked) io.info(`Revoked key ${id}.`)
  for (const id of report.alreadyGone) io.info(`Key ${id} was already deleted.`)
  if (report.keysRead > 0) io.info(`Read ${report.keysRead} keys one by one to learn their tags.`)
  if (report.unreadable > 0) io.warning(`Left alone ${report.unreadable} listed keys whose ids are not UUIDs.`)
  if (report.revoked.length + report.alreadyGone.length === 0) io.info(`No key matched ${what}.`)
  io.setOutput('revoked-count', String(report.revoked.length))
  io.setOutput('revoked-key-ids', report.revoked.join(','))
  await io.appendSummary(revokeModeSummary(projectId, what, report))
}
