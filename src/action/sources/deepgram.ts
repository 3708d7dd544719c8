import { isUuid } from '../../deepgram/ids.ts'
import { DeepgramClient } from '../../deepgram/client.ts'
import { ActionError } from '../../shared/errors.ts'
import { MAIN_POLICY } from '../../shared/retry.ts'
import { MAIN_DEEPGRAM_BUDGET_MS } from '../limits.ts'
import type { MainDeps } from '../run-main.ts'

// The main step's Deepgram client, with the step's deadline, and the project it works in: both
// create and revoke mode start here.

/** Deepgram's client for main: every request ends within the step's Deepgram budget, or on cancel. */
export function mainDeepgramClient(apiKey: string, baseUrl: string, deps: MainDeps): DeepgramClient {
  const deadline = deps.clock.now() + MAIN_DEEPGRAM_BUDGET_MS
  return new DeepgramClient({ baseUrl, apiKey, send: deps.send, clock: deps.clock, policy: MAIN_POLICY, userAgent: deps.userAgent, deadline, cancelled: deps.cancelled })
}

/** The single project api-key can see; none or several is a question only the user can answer. */
export async function discoverProject(client: DeepgramClient): Promise<string> {
  const projects = await client.listProjects()
  if (projects.some((p) => !isUuid(p.projectId))) {
    throw new ActionError("Input project-id: is empty, and Deepgram's project listing holds a project id that is not a UUID. Give the project id.")
  }
  const [only] = projects
  if (projects.length === 1 && only) return only.projectId
  if (projects.length === 0) throw new ActionError('Input project-id: is empty, and api-key belongs to no project. Give the project id.')
  const list = projects.map((p) => `${p.name} (${p.projectId})`).join(', ')
  throw new ActionError(`Input project-id: is empty, and api-key sees ${projects.length} projects: ${list}. Set project-id to one of them.`)
}
