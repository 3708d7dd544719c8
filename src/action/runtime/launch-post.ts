// The post step with the real runner, network and clock: what post.ts runs, and local-action too.
import * as core from '@actions/core'
import { actionsIO } from './actions-io.ts'
import { runPost } from '../post-step.ts'
import { realClock, realHttp, runnerIdToken, USER_AGENT } from './host.ts'

export async function launchPost(): Promise<void> {
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

/** local-action runs the module's `run`. */
export const run = launchPost
