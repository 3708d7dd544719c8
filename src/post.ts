// Entry of the post step: wires the real runner, network and clock into runPost.
import * as core from '@actions/core'
import { actionsIO } from './actions-io.ts'
import { runPost } from './run-post.ts'
import { realClock, realHttp, USER_AGENT } from './wiring.ts'

const http = realHttp(process.env)
await runPost({ io: actionsIO(core), send: http.send, clock: realClock, userAgent: USER_AGENT })
await http.close()
