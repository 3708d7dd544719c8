import type { ActionIO } from './io.ts'

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

export function saveRevocationState(io: ActionIO, state: RevocationState): void {
  io.saveState('project-id', state.projectId)
  io.saveState('key-id', state.keyId)
  io.saveState('expires-at', state.expiresAt)
  io.saveState('revoke', String(state.revoke))
}

/** Undefined when main created no key (it failed before, or ran in another mode). */
export function loadRevocationState(io: ActionIO): RevocationState | undefined {
  const keyId = io.getState('key-id')
  const projectId = io.getState('project-id')
  if (keyId === '' || projectId === '') return undefined
  return { projectId, keyId, expiresAt: io.getState('expires-at'), revoke: io.getState('revoke') === 'true' }
}
