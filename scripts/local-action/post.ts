// Entry of the post step for `npm run local-action:post`: local-action runs it after main in the
// same process (passed as --post), which is how main's saved state reaches it; it keeps state in
// memory only. Wires the real network and clock into runPost exactly as src/post.ts does.
import * as core from '@actions/core'
import { actionsIO } from '../../src/actions-io.ts'
import { runPost } from '../../src/run-post.ts'
import { realClock, realHttp, USER_AGENT } from '../../src/wiring.ts'

export async function run(): Promise<void> {
  const http = realHttp(process.env)
  try {
    await runPost({ io: actionsIO(core), send: http.send, clock: realClock, userAgent: USER_AGENT })
  } finally {
    await http.close()
  }
}
