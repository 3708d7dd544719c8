import type { ActionIO } from './io.ts'
import { isUuid } from '../deepgram/ids.ts'
import { isInvocationId } from '../deepgram/marker.ts'

/**
 * What main hands to post: only what a revocation needs. Never the key itself; post reads
 * api-key again from its input.
 */
export interface RevocationState {
  projectId: string
  keyId: string
  expiresAt: string
  revoke: boolean
}

/**
 * Saved before the create is sent: if its answer never reaches main (a cancelled job, a lost
 * answer whose clean-up failed), post finds the key by this invocation's marker.
 */
export interface CreationIntent {
  projectId: string
  /** The invocation id of the key's marker (marker.ts). */
  invocation: string
}

/** What post has to do, as main left it. */
export type PostWork =
  | { kind: 'none' }
  | ({ kind: 'key' } & RevocationState)
  | ({ kind: 'marker' } & CreationIntent)
  /** The state holds ids that are not Deepgram's: no request is made with them. */
  | { kind: 'malformed'; what: string }

export function saveCreationIntent(io: ActionIO, intent: CreationIntent): void {
  io.saveState('project-id', intent.projectId)
  io.saveState('invocation', intent.invocation)
}

/** Main knows no key of this invocation is alive: post need not look for one. */
export function clearCreationIntent(io: ActionIO): void {
  io.saveState('invocation', '')
}

export function saveRevocationState(io: ActionIO, state: RevocationState): void {
  io.saveState('project-id', state.projectId)
  io.saveState('key-id', state.keyId)
  io.saveState('expires-at', state.expiresAt)
  io.saveState('revoke', String(state.revoke))
}

/** The key main recorded, else the marker of a create whose answer main never saw, else nothing. */
export function loadPostWork(io: ActionIO): PostWork {
  const projectId = io.getState('project-id')
  const keyId = io.getState('key-id')
  const invocation = io.getState('invocation')
  if (keyId === '' && invocation === '') return { kind: 'none' }
  if (!isUuid(projectId)) return { kind: 'malformed', what: 'project id' }
  if (keyId !== '') {
    if (!isUuid(keyId)) return { kind: 'malformed', what: 'key id' }
    return { kind: 'key', projectId, keyId, expiresAt: io.getState('expires-at'), revoke: io.getState('revoke') === 'true' }
  }
  if (!isInvocationId(invocation)) return { kind: 'malformed', what: 'marker' }
  return { kind: 'marker', projectId, invocation }
}
