// Entry of the post step (action.yml runs.post, bundled into dist/post).
import { launchPost } from './runtime/launch-post.ts'

await launchPost()
// The step is done: whatever is still open (a request nobody waits for any more) must not keep it
// running. process.exitCode is the step's result (core.setFailed sets it).
process.exit()
