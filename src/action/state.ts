import type { ActionIO } from './io.ts'
import type { SourceLocator } from './flow/key-source.ts'
import { isUuid } from '../deepgram/ids.ts'
import { isInvocationId } from '../deepgram/marker.ts'
import { readBaseUrl } from '../shared/input-forms.ts'

// What main hands to post, through the runner's state: only what a revocation needs. Never a key,
// the admin key or an ID token: post reads api-key again from its input, and asks the runner for
// a fresh ID token.

/** The key main recorded, and what post should do with it. */
export interface RevocationState {
  keyId: string
  expiresAt: string
  revoke: boolean
  /** Why the key is kept, when it is: a secret holds it, or may (a cancel while writing one). */
  keptBecause?: string
  /**
   * Kept only because main ended before GitHub confirmed every write (revoke: auto): post asks
   * GitHub which targets hold the key (flow/unconfirmed-secrets.ts), from what secret-writes.ts recorded.
   */
  askGitHub?: boolean
}

/** What post has to do, as main left it. */
export type PostWork =
  | { kind: 'none' }
  | ({ kind: 'key'; locator: SourceLocator } & RevocationState)
  /** The create's answer never reached main: post deletes the keys of this invocation. */
  | { kind: 'invocation'; locator: SourceLocator; invocation: string }
  /** The state holds ids that are not Deepgram's: no request is made with them. */
  | { kind: 'malformed'; what: string }

/**
 * Saved before the create is sent: if its answer never reaches main (a cancelled job, a lost
 * answer whose clean-up failed), post asks the same source to delete this invocation's keys.
 * Throws when the state file cannot be written, and then nothing is created.
 */
export function saveCreationIntent(io: ActionIO, locator: SourceLocator, invocation: string): void {
  if (locator.kind === 'deepgram') {
    io.saveState('source', 'deepgram')
    io.saveState('project-id', locator.projectId)
  } else {
    io.saveState('source', 'broker')
    io.saveState('broker-url', locator.url)
    io.saveState('broker-audience', locator.audience)
  }
  io.saveState('invocation', invocation)
}

/** Main knows no key of this invocation is alive: post need not look for one. */
export function clearCreationIntent(io: ActionIO): void {
  io.saveState('invocation', '')
}

export function saveRevocationState(io: ActionIO, state: RevocationState): void {
  io.saveState('key-id', state.keyId)
  io.saveState('expires-at', state.expiresAt)
  io.saveState('revoke', String(state.revoke))
  io.saveState('kept-because', state.keptBecause ?? '')
  // Written only by the runs that write secrets: true before the writes, false once they are done.
  if (state.askGitHub !== undefined) io.saveState('ask-github', state.askGitHub ? 'true' : '')
}

/** The key main recorded, else the invocation of a create whose answer main never saw, else nothing. */
export function loadPostWork(io: ActionIO): PostWork {
  const keyId = io.getState('key-id')
  const invocation = io.getState('invocation')
  if (keyId === '' && invocation === '') return { kind: 'none' }
  const locator = loadLocator(io)
  if (typeof locator === 'string') return { kind: 'malformed', what: locator }
  if (keyId !== '') {
    if (!isUuid(keyId)) return { kind: 'malformed', what: 'key id' }
    const keptBecause = io.getState('kept-because')
    return {
      kind: 'key',
      locator,
      keyId,
      expiresAt: io.getState('expires-at'),
      revoke: io.getState('revoke') === 'true',
      ...(keptBecause ? { keptBecause } : {}),
      ...(io.getState('ask-github') === 'true' ? { askGitHub: true } : {}),
    }
  }
  if (!isInvocationId(invocation)) return { kind: 'malformed', what: 'marker' }
  return { kind: 'invocation', locator, invocation }
}

/** Where the key came from, or what is wrong with the saved description of it. */
function loadLocator(io: ActionIO): SourceLocator | string {
  if (io.getState('source') === 'broker') {
    try {
      const url = readBaseUrl(() => io.getState('broker-url'), 'broker-url', '')
      return { kind: 'broker', url, audience: io.getState('broker-audience') }
    } catch {
      return 'broker URL'
    }
  }
  const projectId = io.getState('project-id')
  return isUuid(projectId) ? { kind: 'deepgram', projectId } : 'project id'
}
