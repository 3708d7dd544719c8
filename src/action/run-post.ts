import { maskSecret, type ActionIO } from './io.ts'
import { DeepgramClient } from '../deepgram/client.ts'
import { describeFailure, redact } from '../shared/errors.ts'
import type { HttpSend } from '../shared/http.ts'
import { readDeepgramApiUrl } from './inputs.ts'
import { POST_POLICY, type RetryClock } from '../shared/retry.ts'
import { loadRevocationState } from './state.ts'
import { revokedSummary } from './summary.ts'
import { brokerOfState, revokeThroughBroker } from './broker-mode.ts'

export interface PostDeps {
  io: ActionIO
  send: HttpSend
  clock: RetryClock
  userAgent: string
}

/**
 * The post step: revoke the key main created, if there is one to revoke. It never fails the job:
 * the key expires on its own, so a failed revocation is a warning.
 */
export async function runPost(deps: PostDeps): Promise<void> {
  const { io } = deps
  const apiKey = io.getInput('api-key')
  if (apiKey !== '') maskSecret(io, apiKey)
  const state = loadRevocationState(io)
  if (state === undefined) {
    io.info('The main step created no key: nothing to revoke.')
    return
  }
  if (!state.revoke) {
    io.info(`Key ${state.keyId} is kept until it expires at ${state.expiresAt}.`)
    return
  }
  const expiresAt = Date.parse(state.expiresAt)
  if (!Number.isNaN(expiresAt) && expiresAt <= deps.clock.now()) {
    io.info(`Key ${state.keyId} expired at ${state.expiresAt}: nothing to revoke.`)
    return
  }
  const broker = brokerOfState(io)
  if (broker !== undefined) return revokeThroughBroker(broker, state, deps)
  try {
    const client = new DeepgramClient({
      baseUrl: readDeepgramApiUrl((name) => io.getInput(name)),
      apiKey,
      send: deps.send,
      clock: deps.clock,
      policy: POST_POLICY,
      userAgent: deps.userAgent,
    })
    const outcome = await client.deleteKey(state.projectId, state.keyId)
    io.info(outcome === 'deleted' ? `Revoked key ${state.keyId}.` : `Key ${state.keyId} was already deleted.`)
    await io.appendSummary(revokedSummary(state.keyId, outcome))
  } catch (error) {
    const why = redact(describeFailure(error), apiKey === '' ? [] : [apiKey])
    io.warning(`Could not revoke key ${state.keyId}: ${why} It expires on its own at ${state.expiresAt}.`)
  }
}
