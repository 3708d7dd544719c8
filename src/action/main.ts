// Entry of the main step (action.yml runs.main, bundled into dist/main).
import { run } from './main-step.ts'

await run()
