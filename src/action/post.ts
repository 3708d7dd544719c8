// Entry of the post step (action.yml runs.post, bundled into dist/post).
import { run } from './post-step.ts'

await run()
