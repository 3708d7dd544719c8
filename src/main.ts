// Entry of the main step: wires the real runner, network and clock into runMain.
import * as core from '@actions/core'
import { actionsIO } from './actions-io.ts'
import { runMain } from './run-main.ts'
import { randomNonce, realClock, realHttp, runContextFromEnv, USER_AGENT } from './wiring.ts'

const http = realHttp(process.env)
await runMain({
  io: actionsIO(core),
  run: runContextFromEnv(process.env),
  send: http.send,
  clock: realClock,
  nonce: randomNonce,
  userAgent: USER_AGENT,
})
await http.close()
