// The main step: read every input into a plan, choose the source of keys, and run the mode's flow
// over it. Nothing here knows how a source mints or deletes.
import { maskSecret, type ActionIO } from './io.ts'
import {
  readKeyPlan,
  readMode,
  readOnMissingCredentials,
  readRevokePlan,
  type Mode,
  type RevokePlan,
  type RunContext,
} from './inputs.ts'
import { MAIN_DEEPGRAM_BUDGET_MS } from './limits.ts'
import { createKey, type CreatePlan } from './flow/create.ts'
import { revokeKeys } from './flow/revoke.ts'
import { readKeepPrevious } from './flow/rotation.ts'
import { readUsagePlan, type UsagePlan } from './usage/inputs.ts'
import { reportMode } from './usage/report.ts'
import {
  acquireCredential,
  missingCredential,
  skippedForMissingCredential,
  openSource,
  readSourceSpec,
  type SourceDeps,
  type SourceSpec,
} from './sources/choose.ts'
import { wantsBroker } from './sources/broker-inputs.ts'
import { fetchIdToken } from './sources/broker.ts'
import { readCredential } from './token/inputs.ts'
import { tokenMain } from './token/flow.ts'
import { readSecretPlan } from '../github/plan.ts'
import { ActionError, describeFailure, redact } from '../shared/errors.ts'
import type { HttpSend } from '../shared/http.ts'
import type { GetInput } from '../shared/input-forms.ts'
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

/** What the step was asked, validated before any request. */
type StepPlan =
  | { mode: 'revoke' | 'report'; source: SourceSpec; revoke: RevokePlan; usage: UsagePlan }
  | { mode: 'create'; source: SourceSpec; create: CreatePlan; usage: UsagePlan }

/** The main step: validate everything, then create a key or revoke keys, as `mode` says. */
export async function runMain(deps: MainDeps): Promise<void> {
  const { io } = deps
  const secrets: string[] = []
  try {
    // Before anything else can be logged: the credentials, even if other inputs turn out bad.
    for (const name of ['api-key', 'github-token']) {
      const value = io.getInput(name)
      if (value !== '') {
        maskSecret(io, value)
        secrets.push(value)
      }
    }
    const getInput: GetInput = (name) => io.getInput(name)
    if (readCredential(getInput) === 'token')
      return await tokenMain(
        { ...deps, idToken: (audience, deadline) => fetchIdToken(io, audience, deadline, deps.clock.now) },
        secrets,
      )
    const mode = readMode(getInput)
    const onMissing = readOnMissingCredentials(getInput)
    // A run without its credential (forks, Dependabot) has no secrets either. A skipped run still
    // checks every other input, with stand-ins for those, so that a mistake shows on the first run,
    // not on the first run that has secrets; the real values are read once the credential came.
    const lacking = [...(wantsBroker(getInput) ? [] : ['api-key']), ...(mode === 'create' ? ['github-token'] : [])]
    const standIns: GetInput = (name) => (lacking.includes(name) && getInput(name) === '' ? 'missing' : getInput(name))
    const checked = readStepPlan(mode, onMissing === 'skip' ? standIns : getInput, deps)
    const sourceDeps: SourceDeps = {
      ...deps,
      policy: MAIN_POLICY,
      deadline: deps.clock.now() + MAIN_DEEPGRAM_BUDGET_MS,
      budgetMs: MAIN_DEEPGRAM_BUDGET_MS,
    }
    const noApiKey = checked.source.kind === 'deepgram' && getInput('api-key') === ''
    const credentialed = noApiKey ? undefined : await acquireCredential(checked.source, sourceDeps)
    if (credentialed === undefined) {
      if (onMissing === 'fail') throw new ActionError(missingCredential(checked.source.kind, deps.run))
      io.notice(skippedForMissingCredential(checked.source.kind, deps.run))
      io.setOutput('skipped', 'true')
      return
    }
    secrets.push(credentialed.credential)
    const plan = onMissing === 'skip' ? readStepPlan(mode, getInput, deps) : checked
    io.setOutput('skipped', 'false')
    const open = () => openSource({ spec: plan.source, credential: credentialed.credential }, sourceDeps)
    if (plan.mode === 'create') await createKey(plan.create, open, deps, secrets)
    else if (plan.mode === 'revoke') await revokeKeys(plan.revoke, await open(), io, { plan: plan.usage, secrets })
    else await reportMode(plan.revoke, await open(), plan.usage, io, secrets)
  } catch (error) {
    io.setFailed(redact(describeFailure(error), secrets))
  }
}

function readStepPlan(mode: Mode, getInput: GetInput, deps: MainDeps): StepPlan {
  const source = readSourceSpec(getInput, deps.run)
  const now = new Date(deps.clock.now())
  if (mode !== 'create')
    return { mode, source, revoke: readRevokePlan(getInput, mode), usage: readUsagePlan(getInput, mode, now) }
  const key = readKeyPlan(getInput, now)
  const usage = readUsagePlan(getInput, mode, now)
  const secret = readSecretPlan(getInput, { GITHUB_REPOSITORY: deps.run.repository, GITHUB_API_URL: deps.run.apiUrl })
  return {
    mode,
    source,
    usage,
    create: { key, keepPrevious: readKeepPrevious(getInput), ...(secret ? { secret } : {}) },
  }
}
