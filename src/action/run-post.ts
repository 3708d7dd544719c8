import { maskSecret, type ActionIO } from './io.ts'
import { DeepgramClient } from '../deepgram/client.ts'
import { describeFailure, redact } from '../shared/errors.ts'
import type { HttpSend } from '../shared/http.ts'
import { readDeepgramApiUrl } from './inputs.ts'
import { POST_POLICY, type RetryClock } from '../shared/retry.ts'
import { loadPostWork } from './state.ts'
import { revokedSummary } from './summary.ts'
import { isFromThisInvocation } from '../deepgram/mint.ts'
import { formatMarker, type ActionMarker } from '../deepgram/marker.ts'
import { isUuid } from '../deepgram/ids.ts'
import { POST_BUDGET_MS } from './limits.ts'
import { brokerOfState, revokeThroughBroker } from './broker-post.ts'

export interface PostDeps {
  io: ActionIO
  send: HttpSend
  clock: RetryClock
  userAgent: string
}

/**
 * The post step: revoke the key main created, if there is one to revoke. It never fails the job:
 * the key expires on its own, so a failed revocation is a warning. It does not trust the runner's
 * clock to say the key has expired: only Deepgram's answer (404) says it is gone.
 */
export async function runPost(deps: PostDeps): Promise<void> {
  const { io } = deps
  const apiKey = io.getInput('api-key')
  if (apiKey !== '') maskSecret(io, apiKey)
  const work = loadPostWork(io)
  if (work.kind === 'none') {
    io.info(io.getInput('credential').toLowerCase() === 'token' ? 'A temporary token cannot be revoked and leaves nothing behind: nothing to do.' : 'The main step created no key: nothing to revoke.')
    return
  }
  if (work.kind === 'malformed') {
    io.warning(`The main step's saved ${work.what} is not one Deepgram issues, so no request was made. Check the project's keys in the Deepgram console.`)
    return
  }
  if (work.kind === 'key' && !work.revoke) {
    io.info(`Key ${work.keyId} is kept until it expires at ${work.expiresAt}.`)
    return
  }
  // Broker mode: main recorded the key's id and the broker; the broker deletes it for us.
  const broker = brokerOfState(io)
  if (broker !== undefined && work.kind === 'key') return revokeThroughBroker(broker, work, deps)
  const client = new DeepgramClient({
    baseUrl: readDeepgramApiUrl((name) => io.getInput(name)),
    apiKey,
    send: deps.send,
    clock: deps.clock,
    policy: POST_POLICY,
    userAgent: deps.userAgent,
    deadline: deps.clock.now() + POST_BUDGET_MS,
  })
  const why = (error: unknown) => redact(describeFailure(error), apiKey === '' ? [] : [apiKey])
  if (work.kind === 'marker') {
    const ours: ActionMarker = { kind: 'action', invocation: work.invocation }
    const marker = formatMarker(ours).trim()
    try {
      const keys = (await client.listKeys(work.projectId)).filter((key) => isFromThisInvocation(key, ours))
      if (keys.length === 0) io.info(`No key carries this run's marker ${marker}: nothing to revoke.`)
      for (const key of keys) {
        if (!isUuid(key.apiKeyId)) {
          io.warning(`Deepgram listed a key with this run's marker ${marker} whose id is not a UUID; it was not deleted. Delete it in the Deepgram console.`)
          continue
        }
        const outcome = await client.deleteKey(work.projectId, key.apiKeyId)
        io.info(outcome === 'deleted' ? `Revoked key ${key.apiKeyId}, found by this run's marker ${marker}.` : `Key ${key.apiKeyId} was already deleted.`)
        await io.appendSummary(revokedSummary(key.apiKeyId, outcome))
      }
    } catch (error) {
      io.warning(`Could not look for or revoke the key this run may have created: ${why(error)} Delete any key whose name ends with "${marker}" in the Deepgram console.`)
    }
    return
  }
  try {
    const outcome = await client.deleteKey(work.projectId, work.keyId)
    io.info(outcome === 'deleted' ? `Revoked key ${work.keyId}.` : `Key ${work.keyId} was already deleted.`)
    await io.appendSummary(revokedSummary(work.keyId, outcome))
  } catch (error) {
    io.warning(`Could not revoke key ${work.keyId}: ${why(error)} It expires on its own at ${work.expiresAt}.`)
  }
}
