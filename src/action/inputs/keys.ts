// The inputs of keys: the mode, what key create mode mints, and which keys revoke and report mode name.
import { parseList, type GetInput } from '../../shared/input-forms.ts'
import { isUuid } from '../../deepgram/ids.ts'
import { InputError } from '../../shared/errors.ts'
import type { Expiration } from '../../deepgram/expiration.ts'
import { isManagementScope, isScope, whyManagement } from '../../deepgram/scopes.ts'
import { unprintableIn } from '../../shared/printable.ts'
import { readExpiration, readTags } from './domain-forms.ts'
import { SECRET_INPUTS } from './secret.ts'

export type RevokePolicy = 'auto' | 'true' | 'false'

/** What key to mint, validated: nothing here has been sent anywhere yet. The source is read apart. */
export interface KeyPlan {
  /** Management scopes only when allow-key-management is true (scopes.ts). */
  scopes: string[]
  tags: string[]
  expiration: Expiration
  /** The key's name in the console as the step gives it; undefined: the source's own, naming the run. */
  comment?: string
  revoke: RevokePolicy
}

/** Revoke mode: which keys to delete, validated before any request. */
export interface RevokePlan {
  /** Delete these keys… */
  keyIds: string[]
  /** …or every key whose tags include all of these. */
  tags: string[]
}

export type Mode = 'create' | 'revoke' | 'report'

export function readMode(getInput: GetInput): Mode {
  const mode = (getInput('mode') || 'create').toLowerCase()
  if (mode === 'create' || mode === 'revoke' || mode === 'report') return mode
  throw new InputError('mode', `'${getInput('mode')}' is not one of create, revoke or report.`)
}

/** What to do when the job has no credential (api-key empty, or no ID token): fail (the default) or skip the step. */
export function readOnMissingCredentials(getInput: GetInput): 'fail' | 'skip' {
  const value = (getInput('on-missing-credentials') || 'fail').toLowerCase()
  if (value === 'fail' || value === 'skip') return value
  throw new InputError('on-missing-credentials', `'${getInput('on-missing-credentials')}' is not one of fail or skip.`)
}

/**
 * The new key's scopes. One that can manage keys or the project needs allow-key-management: a
 * leaked key that can mint keys could mint one that never expires.
 */
export function readScopes(getInput: GetInput): string[] {
  const allowKeyManagement = readFlag(getInput, 'allow-key-management')
  const scopes = parseList(getInput('scopes'))
  if (scopes.length === 0) {
    throw new InputError(
      'scopes',
      'is empty. Give one or more scopes separated by commas or newlines, such as usage:write.',
    )
  }
  for (const scope of scopes) {
    if (!isScope(scope)) {
      throw new InputError(
        'scopes',
        `'${scope}' is not a scope. Scopes are words such as usage:write or usage:read, separated by commas or newlines.`,
      )
    }
  }
  const management = scopes.find(isManagementScope)
  if (management !== undefined && !allowKeyManagement) {
    throw new InputError(
      'scopes',
      `'${management}' can manage keys or the project (${whyManagement(management)}), and allow-key-management is false. ` +
        'A leaked key with it could mint keys that never expire, so short-lived would mean nothing. ' +
        'For the speech APIs usage:write is enough; set allow-key-management: true only for a job that must manage keys.',
    )
  }
  return [...new Set(scopes)]
}

/** A true/false input; empty is false. */
export function readFlag(getInput: GetInput, name: string): boolean {
  const value = (getInput(name) || 'false').toLowerCase()
  if (value === 'true' || value === 'false') return value === 'true'
  throw new InputError(name, `'${getInput(name)}' is not one of true or false.`)
}

export function readRevoke(getInput: GetInput): RevokePolicy {
  const revoke = (getInput('revoke') || 'auto').toLowerCase()
  if (revoke === 'auto' || revoke === 'true' || revoke === 'false') return revoke
  throw new InputError('revoke', `'${getInput('revoke')}' is not one of auto, true or false.`)
}

/** Reads and validates the key of create mode. Throws InputError on the first bad one. */
export function readKeyPlan(getInput: GetInput, now: Date): KeyPlan {
  if (getInput('key-id') !== '') {
    throw new InputError(
      'key-id',
      'applies to mode: revoke and mode: report only, and mode is create. Set mode: revoke to delete keys, or remove key-id.',
    )
  }
  const scopes = readScopes(getInput)
  const tags = readTags(getInput)
  const expiration = readExpiration(getInput('expiration') || '1h', now)
  const revoke = readRevoke(getInput)
  const comment = getInput('comment')
  const unprintable = unprintableIn(comment)
  if (unprintable)
    throw new InputError(
      'comment',
      `holds ${unprintable}. Give printable text only: no control, bidirectional-text or zero-width characters.`,
    )
  return { scopes, tags, expiration, revoke, ...(comment === '' ? {} : { comment }) }
}

/** Create-mode inputs and their defaults: in revoke mode anything else is a mistake worth saying. */
const CREATE_ONLY_INPUTS: Record<string, string> = {
  scopes: 'usage:write',
  'allow-key-management': 'false',
  expiration: '1h',
  comment: '',
  revoke: 'auto',
  'secret-name': '',
  ...SECRET_INPUTS,
}

/** The keys of revoke mode, or of report mode (which reads the same inputs and deletes nothing). */
export function readRevokePlan(getInput: GetInput, mode: 'revoke' | 'report' = 'revoke'): RevokePlan {
  for (const [input, fallback] of Object.entries(CREATE_ONLY_INPUTS)) {
    const value = getInput(input)
    if (value !== '' && value !== fallback) {
      throw new InputError(input, `applies to mode: create only, and mode is ${mode}. Remove it from this step.`)
    }
  }
  const keyIds = [...new Set(parseList(getInput('key-id')).map((id) => id.toLowerCase()))]
  const tags = readTags(getInput)
  if (keyIds.length === 0 && tags.length === 0) {
    throw new InputError(
      'key-id',
      `and tags are both empty, and mode ${mode} needs one of them: key ids separated by commas or newlines, or tags that every key to ${mode === 'revoke' ? 'delete' : 'report on'} carries.`,
    )
  }
  if (keyIds.length > 0 && tags.length > 0) {
    throw new InputError(
      'key-id',
      `and tags are both set: give key ids, or tags, not both, so that what gets ${mode === 'revoke' ? 'deleted' : 'reported'} is plain.`,
    )
  }
  for (const id of keyIds) {
    if (!isUuid(id))
      throw new InputError(
        'key-id',
        `'${id}' is not a key id. Give api_key_id values (UUIDs), such as the key-id output of a create step.`,
      )
  }
  return { keyIds, tags }
}
