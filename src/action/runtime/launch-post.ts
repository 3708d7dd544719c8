import * as core from '@actions/core'
import { actionsIO } from './actions-io.ts'
import { runPost } from './run-post.ts'
import { realClock, realHttp, runnerIdToken, USER_AGENT } from './wiring.ts'

/** The post step with the real runner, network and clock. Shared by dist/ and local-action. */
export async function run(): Promise<void> {
  const http = realHttp(process.env)
  try {
    await runPost({
      io: actionsIO(core, runnerIdToken(http.send, process.env)),
      send: http.send,
      clock: realClock,
      userAgent: USER_AGENT,
    })
  } finally {
    await http.close()
  }
}
