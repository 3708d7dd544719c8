// The main step with the real runner, network and clock: what main.ts runs, and local-action too.
import * as core from '@actions/core'
import { actionsIO } from './actions-io.ts'
import { newInvocationId } from '../../deepgram/marker.ts'
import { runMain } from '../main-step.ts'
import { abortOnSignals, cancellableClock, realHttp, runContextFromEnv, runnerIdToken, USER_AGENT } from './host.ts'

export async function launchMain(): Promise<void> {
  const http = realHttp(process.env)
  // A cancelled job: the in-flight request is aborted and main ends, leaving post to delete the
  // key by id or, when the create's answer never came, by the marker saved before it was sent.
  const cancel = new AbortController()
  const stopListening = abortOnSignals(cancel)
  try {
    await runMain({
      io: actionsIO(core, runnerIdToken(http.send, process.env)),
      run: runContextFromEnv(process.env),
      send: http.send,
      clock: cancellableClock(cancel.signal),
      invocationId: () => newInvocationId(),
      userAgent: USER_AGENT,
      cancelled: cancel.signal,
    })
  } finally {
    stopListening()
    await http.close()
  }
}

/** local-action runs the module's `run`. */
export const run = launchMain
