import * as core from '@actions/core'
import { actionsIO } from './actions-io.ts'
import { newInvocationId } from '../deepgram/marker.ts'
import { runMain } from './run-main.ts'
import { realClock, realHttp, runContextFromEnv, USER_AGENT } from './wiring.ts'

/** The main step with the real runner, network and clock. Shared by dist/ and local-action. */
export async function run(): Promise<void> {
  const http = realHttp(process.env)
  try {
    await runMain({
      io: actionsIO(core),
      run: runContextFromEnv(process.env),
      send: http.send,
      clock: realClock,
      invocationId: () => newInvocationId(),
      userAgent: USER_AGENT,
    })
  } finally {
    // Closing lets the process end now rather than when idle keep-alive sockets time out.
    await http.close()
  }
}
