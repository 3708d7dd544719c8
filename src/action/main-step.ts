// The main step: read every input into a plan, get the credential of the source it names, and run
// the plan's flow over that source. Nothing here knows which source it is, nor how it mints.
import type { ActionIO } from './io.ts'
import { Secrets } from './secrets.ts'
import { readCredentialInputs, readStepPlan, type StepPlan } from './inputs/step-plan.ts'
import type { RunContext } from './inputs/source.ts'
import { MAIN_DEEPGRAM_BUDGET_MS } from './time-bounds.ts'
import { createKey } from './flow/create.ts'
import { revokeKeys } from './flow/revoke.ts'
import { grantTemporaryToken } from './flow/token.ts'
import { reportMode } from './usage/report.ts'
import { getCredential, missingCredential, skippedForMissingCredential } from './sources/credentials.ts'
import { ActionError, describeFailure } from '../shared/errors.ts'
import type { HttpSend } from '../shared/http.ts'
import { MAIN_POLICY, type RetryClock } from '../shared/retry.ts'

export interface MainDeps {
  io: ActionIO
  run: RunContext & { apiUrl?: string }
  send: HttpSend
  clock: RetryClock
  /** A fresh invocation id for the key's marker (marker.ts). */
  invocationId: () => string
  userAgent: string
  /** Aborted when the job is cancelled: requests stop, and post cleans up by the invocation. */
  cancelled?: AbortSignal
}

/** The main step: validate everything, then create a key, revoke or report on keys, or grant a token. */
export async function runMain(deps: MainDeps): Promise<void> {
  const { io } = deps
  const secrets = new Secrets(io)
  try {
    const getInput = (name: string) => io.getInput(name)
    // Before anything else can be logged: the credentials, even if other inputs turn out bad.
    for (const value of readCredentialInputs(getInput)) secrets.add(value)
    const plan = readStepPlan(getInput, deps.run, new Date(deps.clock.now()))
    const deadline = deps.clock.now() + MAIN_DEEPGRAM_BUDGET_MS
    const reach = { ...deps, policy: MAIN_POLICY, deadline, budgetMs: MAIN_DEEPGRAM_BUDGET_MS }
    const credentialed = await getCredential(plan.source, reach, secrets)
    if (credentialed === undefined) return skipOrFail(plan, deps)
    if (plan.lackingOnceCredentialed) throw plan.lackingOnceCredentialed
    io.setOutput('skipped', 'false')
    if (plan.flow === 'token') await grantTemporaryToken(plan.token, credentialed.tokens(), { io, secrets })
    else if (plan.flow === 'create') await createKey(plan.create, credentialed.keys, { ...deps, secrets })
    else if (plan.flow === 'revoke')
      await revokeKeys(plan.revoke, await credentialed.keys(), io, { plan: plan.usage, secrets })
    else await reportMode(plan.revoke, await credentialed.keys(), plan.usage, io, secrets)
  } catch (error) {
    io.setFailed(secrets.redact(describeFailure(error)))
  }
}

/** A run without its credential (forks, Dependabot): it fails, or is skipped, as the step asks. */
function skipOrFail(plan: StepPlan, { io, run }: MainDeps): void {
  if (plan.onMissing === 'fail') throw new ActionError(missingCredential(plan.source, run))
  io.notice(skippedForMissingCredential(plan.source, run))
  io.setOutput('skipped', 'true')
}
