// Entry of the main step (action.yml runs.main, bundled into dist/main).
import { launchMain } from './runtime/launch-main.ts'

await launchMain()
// The step is done: whatever is still open (a request nobody waits for any more) must not keep it
// running. process.exitCode is the step's result (core.setFailed sets it).
process.exit()
