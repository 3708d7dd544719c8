import * as core from '@actions/core'
import { actionsIO } from './actions-io.ts'
import { newInvocationId } from '../deepgram/marker.ts'
import { runMain } from './run-main.ts'
import { abortOnSignals, cancellableClock, realHttp, runContextFromEnv, runnerIdToken, USER_AGENT } from './wiring.ts'

/** The main step with the real runner, network and clock. Shared by dist/ and local-action. */
export async function run(): Promise<void> {
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
