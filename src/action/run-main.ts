import { maskSecret, type ActionIO } from './io.ts'
import type { HttpSend } from '../shared/http.ts'
import { describeFailure, redact } from '../shared/errors.ts'
import type { RetryClock } from '../shared/retry.ts'
import { missingApiKeyCause, readKeyPlan, readMode, readOnMissingCredentials, type GetInput, type RunContext } from './inputs.ts'
import { readSecretPlan } from '../github/plan.ts'
import { readKeepPrevious } from './rotation.ts'
import { readRevokePlan, revokeMode } from './revoke-mode.ts'
import { createMode } from './create-mode.ts'
import { wantsBroker } from './broker-inputs.ts'
import { brokerMain } from './broker-mode.ts'
import { fetchIdToken } from './broker-client.ts'
import { readCredential } from './token/inputs.ts'
import { tokenMain } from './token/flow.ts'

export interface MainDeps {
  io: ActionIO
  run: RunContext & { apiUrl?: string }
  send: HttpSend
  clock: RetryClock
  /** A fresh invocation id for the key's marker (marker.ts). */
  invocationId: () => string
  userAgent: string
  /** Aborted when the job is cancelled: requests stop, and post cleans up by the marker. */
  cancelled?: AbortSignal
}

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
    if (readCredential(getInput) === 'token') return await tokenMain({ ...deps, idToken: (audience) => fetchIdToken(io, audience) }, secrets)
    const mode = readMode(getInput)
    const onMissingCredentials = readOnMissingCredentials(getInput)
    if (wantsBroker(getInput)) return await brokerMain(mode, onMissingCredentials, deps, secrets)
    const skip = io.getInput('api-key') === '' && onMissingCredentials === 'skip'
    // A skipped run still checks every other input, so that a mistake shows on the first run, not
    // on the first run that has secrets. Missing credentials are what a skipped run is about.
    const standIn = (credentials: string[]): GetInput =>
      skip ? (name) => (credentials.includes(name) && getInput(name) === '' ? 'missing' : getInput(name)) : getInput
    if (mode === 'revoke') {
      const plan = readRevokePlan(standIn(['api-key']), deps.run)
      if (skip) return skipForMissingKey(io, deps.run)
      io.setOutput('skipped', 'false')
      await revokeMode(plan, deps)
      return
    }
    const checked = standIn(['api-key', 'github-token'])
    const plan = readKeyPlan(checked, deps.run, new Date(deps.clock.now()))
    const secretPlan = readSecretPlan(checked, { GITHUB_REPOSITORY: deps.run.repository, GITHUB_API_URL: deps.run.apiUrl })
    const keepPrevious = readKeepPrevious(checked)
    if (skip) return skipForMissingKey(io, deps.run)
    io.setOutput('skipped', 'false')
    await createMode(plan, secretPlan, keepPrevious, deps, secrets)
  } catch (error) {
    io.setFailed(redact(describeFailure(error), secrets))
  }
}

function skipForMissingKey(io: ActionIO, run: RunContext): void {
  io.notice(`Skipped: api-key is empty and on-missing-credentials is skip. ${missingApiKeyCause(run)}`)
  io.setOutput('skipped', 'true')
}
