import type { DeepgramClient, DeleteOutcome, ProjectKey } from '../deepgram/client.ts'
import { InputError } from '../shared/errors.ts'
import { parseList, readApiKey, readDeepgramApiUrl, readProjectId, type GetInput, type RunContext } from './inputs.ts'
import { SECRET_INPUTS } from '../github/plan.ts'

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

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

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
    if (!KEY_ID.test(id)) throw new InputError('key-id', `'${id}' is not a key id. Give api_key_id values (UUIDs), such as the key-id output of a create step.`)
  }
  return { apiKey, projectId: readProjectId(getInput), keyIds, tags, deepgramApiUrl: readDeepgramApiUrl(getInput) }
}

export interface RevokeReport {
  revoked: string[]
  alreadyGone: string[]
}

type KeysApi = Pick<DeepgramClient, 'listKeys' | 'getKey' | 'deleteKey'>

/** Deletes the keys the plan names; 404 counts as already gone. */
export async function revokeKeys(plan: RevokePlan, projectId: string, client: KeysApi): Promise<RevokeReport> {
  const ids = plan.keyIds.length > 0 ? plan.keyIds : await keysTaggedWithAll(plan.tags, projectId, client)
  const report: RevokeReport = { revoked: [], alreadyGone: [] }
  for (const id of ids) {
    const outcome: DeleteOutcome = await client.deleteKey(projectId, id)
    report[outcome === 'deleted' ? 'revoked' : 'alreadyGone'].push(id)
  }
  return report
}

/**
 * Keys whose tags include every one of `tags`, never one that matches only some. Deepgram's
 * current description has no tags in list items, so a key listed without them is read alone.
 */
export async function keysTaggedWithAll(tags: string[], projectId: string, client: Pick<KeysApi, 'listKeys' | 'getKey'>): Promise<string[]> {
  const listed = await client.listKeys(projectId)
  const matches: string[] = []
  for (const key of listed) {
    const known: ProjectKey = key.tags === undefined ? await client.getKey(projectId, key.apiKeyId) : key
    const keyTags = known.tags ?? []
    if (tags.every((tag) => keyTags.includes(tag))) matches.push(key.apiKeyId)
  }
  return matches
}
