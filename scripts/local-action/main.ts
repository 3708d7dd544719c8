// Entry of the main step for `npm run local-action` (@github/local-action). local-action imports
// the entrypoint and calls its exported run(), with @actions/core replaced by its own stub; so
// this wires the real network and clock into runMain exactly as src/main.ts does, but on call
// rather than on import.
import * as core from '@actions/core'
import { actionsIO } from '../../src/actions-io.ts'
import { runMain } from '../../src/run-main.ts'
import { randomNonce, realClock, realHttp, runContextFromEnv, USER_AGENT } from '../../src/wiring.ts'

export async function run(): Promise<void> {
  const http = realHttp(process.env)
  try {
    await runMain({
      io: actionsIO(core),
      run: runContextFromEnv(process.env),
      send: http.send,
      clock: realClock,
      nonce: randomNonce,
      userAgent: USER_AGENT,
    })
  } finally {
    await http.close()
  }
}
