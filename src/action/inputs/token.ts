// The inputs of `credential: token`: the token's lifetime, and every input that cannot apply to a
// token, refused before any request.
import { InputError } from '../../shared/errors.ts'
import type { Expiration } from '../../deepgram/expiration.ts'
import { readExpiration } from './domain-forms.ts'
import { MAX_TOKEN_SECONDS, tokenSeconds } from '../../deepgram/grant.ts'
import { readFlag, readMode, readRevoke } from './keys.ts'
import { parseList, type GetInput } from '../../shared/input-forms.ts'

/** What a token asks for, validated: nothing has been sent anywhere yet. */
export interface TokenPlan {
  expiration: Expiration
  /** The expiration as written, for the broker, which reads the same forms. */
  expirationText: string
  /** Seconds the token may live (ttl_seconds): 1 to 3600. */
  seconds: number
}

const USE_A_KEY = 'use credential: key'

/**
 * Refuses every input that means something for a key but not for a token. A token carries
 * usage::write only, has no name or tags in the console, cannot be revoked and lives an hour at most.
 */
export function readTokenPlan(getInput: GetInput, now: Date): TokenPlan {
  if (readMode(getInput) === 'revoke') {
    throw new InputError(
      'mode',
      `revoke deletes keys, and credential is token: a token cannot be revoked, and expires on its own. Remove credential: token to revoke keys.`,
    )
  }
  const scopes = parseList(getInput('scopes'))
  if (scopes.some((scope) => scope !== 'usage:write')) {
    throw new InputError(
      'scopes',
      `'${getInput('scopes')}' cannot apply to a token: a temporary token always carries usage:write (the speech APIs) and nothing else. Give usage:write or leave scopes out, or ${USE_A_KEY} for other scopes.`,
    )
  }
  if (readFlag(getInput, 'allow-key-management')) {
    throw new InputError(
      'allow-key-management',
      `cannot apply to a token: a token can never manage keys or the project. Remove it, or ${USE_A_KEY}.`,
    )
  }
  for (const name of ['tags', 'comment']) {
    if (getInput(name) !== '')
      throw new InputError(
        name,
        `cannot apply to a token: a token is not a key, and has no ${name === 'tags' ? 'tags' : 'name'} in the Deepgram console. Remove ${name}, or ${USE_A_KEY}.`,
      )
  }
  if (getInput('secret-name') !== '') {
    throw new InputError(
      'secret-name',
      `cannot apply to a token: a secret outlives the token's hour at most. Remove secret-name, or ${USE_A_KEY} to seed secrets.`,
    )
  }
  if (!['', 'all'].includes(getInput('keep-previous'))) {
    throw new InputError(
      'keep-previous',
      `cannot apply to a token: it deletes earlier keys of a secret, and a token writes no secret. Remove keep-previous (or give all).`,
    )
  }
  if (readRevoke(getInput) === 'true') {
    throw new InputError(
      'revoke',
      'true cannot apply to a token: a token cannot be revoked, and expires on its own. Remove revoke (or give auto or false).',
    )
  }
  if (getInput('key-id') !== '') {
    throw new InputError('key-id', `applies to mode: revoke only, and credential is token. Remove key-id.`)
  }
  const expirationText = getInput('expiration') || '1h'
  const expiration = readExpiration(expirationText, now)
  const seconds = tokenSeconds(expiration, now.getTime())
  if (seconds > MAX_TOKEN_SECONDS) {
    throw new InputError(
      'expiration',
      `'${expirationText}' is longer than a token's limit of one hour (3600 s). Give at most 1h (or a date-time at most an hour ahead), or ${USE_A_KEY} for longer.`,
    )
  }
  if (seconds < 1)
    throw new InputError('expiration', `'${expirationText}' is less than a second from now: give a token 1 s to 1 h.`)
  return { expiration, expirationText, seconds }
}
