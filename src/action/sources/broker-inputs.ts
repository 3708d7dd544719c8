import { InputError } from '../../shared/errors.ts'
import type { Expiration } from '../../deepgram/expiration.ts'
import type { BrokerCreateBody } from './broker-client.ts'
import { readBaseUrl, readDeepgramApiUrl, readKeyPlan, type GetInput, type RevokePolicy, type RunContext } from '../inputs.ts'
import { readRevokePlan } from '../flow/revoke.ts'

/** Where the broker is, and the audience its policy requires of every ID token. */
export interface BrokerTarget {
  url: string
  audience: string
}

/** Create mode through the broker: what to ask for, validated before any request. */
export interface BrokerKeyPlan {
  broker: BrokerTarget
  body: BrokerCreateBody
  /** The expiration asked for, to check the broker's answer against. */
  expiration: Expiration
  revoke: RevokePolicy
}

/** Revoke mode through the broker: keys by id, or every key of this repository with all the tags. */
export interface BrokerRevokePlan {
  broker: BrokerTarget
  keyIds: string[]
  tags: string[]
}

/** True when the step asks for broker mode (either broker input set; the other is then checked). */
export function wantsBroker(getInput: GetInput): boolean {
  return getInput('broker-url') !== '' || getInput('broker-audience') !== ''
}

const AUDIENCE = /^[\x21-\x7e]{1,256}$/

/**
 * broker-url and broker-audience, and the direct-mode inputs that have no place next to them:
 * the broker holds the Deepgram key, chooses the project and calls Deepgram itself.
 */
export function readBrokerTarget(getInput: GetInput): BrokerTarget {
  if (getInput('broker-url') === '') {
    throw new InputError('broker-url', "is empty, and broker-audience needs it. Give the broker's URL (https://...), or remove broker-audience.")
  }
  const url = readBaseUrl(getInput, 'broker-url', '')
  for (const name of ['api-key', 'project-id']) {
    if (getInput(name) !== '') {
      throw new InputError(name, `must be empty with broker-url: the broker holds the Deepgram key and chooses the project. Remove ${name} from this step, or remove broker-url to mint with a key of your own.`)
    }
  }
  const deepgramApiUrl = getInput('deepgram-api-url')
  if (deepgramApiUrl !== '' && deepgramApiUrl.replace(/\/+$/, '') !== readDeepgramApiUrl(() => '')) {
    throw new InputError('deepgram-api-url', 'has no effect with broker-url: the broker calls Deepgram itself (its DEEPGRAM_API_URL). Remove it from this step.')
  }
  const audience = getInput('broker-audience') || new URL(url).origin
  if (!AUDIENCE.test(audience)) {
    throw new InputError('broker-audience', "is not an audience. Give the audience of the broker's policy (its audience field), such as https://deepgram-broker.example.com, or leave it empty for the origin of broker-url.")
  }
  return { url, audience }
}

/**
 * The direct-mode rules read everything but the credentials, so both modes take the same scopes,
 * expirations, tags and so on; api-key, which must be empty here, gets a stand-in for them.
 */
function withBrokerCredentials(getInput: GetInput): GetInput {
  return (name) => (name === 'api-key' ? 'held-by-the-broker' : getInput(name))
}

export function readBrokerKeyPlan(getInput: GetInput, run: RunContext, now: Date): BrokerKeyPlan {
  const broker = readBrokerTarget(getInput)
  const plan = readKeyPlan(withBrokerCredentials(getInput), run, now)
  // Rotation lists the project's keys, which only the broker could do; it offers no such call.
  if (!['', 'all'].includes(getInput('keep-previous'))) {
    throw new InputError('keep-previous', 'has no effect with broker-url: the broker deletes keys by id or by tags only. Remove it, and delete earlier keys with mode: revoke and their tags.')
  }
  const body: BrokerCreateBody = { scopes: plan.scopes, expiration: getInput('expiration') || '1h' }
  if (plan.tags.length > 0) body.tags = plan.tags
  // Without a comment of ours the broker writes one naming the repository, run and rule.
  if (getInput('comment') !== '') body.comment = getInput('comment')
  return { broker, body, expiration: plan.expiration, revoke: plan.revoke }
}

export function readBrokerRevokePlan(getInput: GetInput, run: RunContext): BrokerRevokePlan {
  const broker = readBrokerTarget(getInput)
  const { keyIds, tags } = readRevokePlan(withBrokerCredentials(getInput), run)
  return { broker, keyIds, tags }
}
