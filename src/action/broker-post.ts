import { brokerClient, fetchIdToken } from './sources/broker-client.ts'
import type { BrokerTarget } from './sources/broker-inputs.ts'
import { maskSecret, type ActionIO } from './io.ts'
import type { PostDeps } from './run-post.ts'
import type { RevocationState } from './state.ts'
import { revokedSummary } from './summary.ts'
import { ActionError, describeFailure, redact } from '../shared/errors.ts'
import { POST_POLICY } from '../shared/retry.ts'

// The post step in broker mode: what main left, and the revocation through the broker. Kept apart
// from broker-mode.ts so that post loads none of main's code (secret delivery above all).

/** The broker main saved, or undefined when main ran in direct mode. */
export function brokerOfState(io: ActionIO): BrokerTarget | undefined {
  const url = io.getState('broker-url')
  return url === '' ? undefined : { url, audience: io.getState('broker-audience') }
}

/**
 * The post step's revocation through the broker, with a fresh ID token (main's may have expired).
 * Never fails the job: the key expires on its own, so a failed revocation is a warning.
 */
export async function revokeThroughBroker(broker: BrokerTarget, state: RevocationState, deps: PostDeps): Promise<void> {
  const { io } = deps
  const secrets: string[] = []
  try {
    const idToken = await fetchIdToken(io, broker.audience)
    if (idToken === undefined) throw new ActionError('the post step got no GitHub ID token to show the broker (ACTIONS_ID_TOKEN_REQUEST_URL is not set).')
    maskSecret(io, idToken)
    secrets.push(idToken)
    const outcome = await brokerClient(broker, idToken, deps, POST_POLICY).deleteKey(state.keyId)
    io.info(outcome === 'deleted' ? `Revoked key ${state.keyId} through the broker.` : `Key ${state.keyId} was already deleted.`)
    await io.appendSummary(revokedSummary(state.keyId, outcome))
  } catch (error) {
    io.warning(`Could not revoke key ${state.keyId}: ${redact(describeFailure(error), secrets)} It expires on its own at ${state.expiresAt}.`)
  }
}
