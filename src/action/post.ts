// Entry of the post step (action.yml runs.post, bundled into dist/post).
import { run } from './post-step.ts'

await run()
// The step is done: whatever is still open (a request nobody waits for any more) must not keep it
// running. process.exitCode is the step's result (core.setFailed sets it).
process.exit()
