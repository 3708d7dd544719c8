// Every input of the main step, read once into a plan before any request: which flow (create,
// revoke, report, token), which source (Deepgram or the broker), and what the flow is to do.
import { InputError } from '../../shared/errors.ts'
import type { GetInput } from '../../shared/input-forms.ts'
import type { SecretPlan } from '../../github/plan.ts'
import {
  readKeyPlan,
  readMode,
  readOnMissingCredentials,
  readRevokePlan,
  type KeyPlan,
  type RevokePlan,
} from './keys.ts'
import { readSourceSpec, type RunContext, type SourceSpec } from './source.ts'
import { missingGithubToken, readKeepPrevious, readSecretPlan, type KeepPrevious } from './secret.ts'
import { readTokenPlan, type TokenPlan } from './token.ts'
import { readUsagePlan, type UsagePlan } from './usage.ts'

/** Everything create mode was asked, validated before any request. */
export interface CreatePlan {
  key: KeyPlan
  secret?: SecretPlan
  keepPrevious: KeepPrevious
}

/** The flows of the main step, each with what it needs. */
export type FlowPlan =
  | { flow: 'create'; create: CreatePlan; usage: UsagePlan }
  | { flow: 'revoke' | 'report'; revoke: RevokePlan; usage: UsagePlan }
  | { flow: 'token'; token: TokenPlan }

/** What the step was asked, validated before any request. */
export type StepPlan = FlowPlan & {
  source: SourceSpec
  /** What to do when the job has no credential (forks, Dependabot): fail, or skip the step. */
  onMissing: 'fail' | 'skip'
  /**
   * on-missing-credentials: skip, and an input a run without secrets lacks too (github-token) is
   * empty: no error while the step may yet be skipped, this one once the credential came.
   */
  lackingOnceCredentialed?: InputError
}

/** The inputs that hold credentials, as given: to be masked before any other input is checked. */
export function readCredentialInputs(getInput: GetInput): string[] {
  return [getInput('api-key'), getInput('github-token')]
}

export type Credential = 'key' | 'token'

export function readCredential(getInput: GetInput): Credential {
  const credential = (getInput('credential') || 'key').toLowerCase()
  if (credential === 'key' || credential === 'token') return credential
  throw new InputError('credential', `'${getInput('credential')}' is not one of key or token.`)
}

/** Reads and checks every input of the main step; throws an InputError for the first bad one. */
export function readStepPlan(getInput: GetInput, run: RunContext & { apiUrl?: string }, now: Date): StepPlan {
  const credential = readCredential(getInput)
  const mode = readMode(getInput)
  const onMissing = readOnMissingCredentials(getInput)
  // A run without its credential (forks, Dependabot) has no secrets either. A run that may be
  // skipped for it still checks every other input, with a stand-in for github-token, so that a
  // mistake shows on the first run, not on the first run that has secrets.
  const standIn = onMissing === 'skip' && credential === 'key' && mode === 'create' && getInput('github-token') === ''
  const read: GetInput = (name) => (standIn && name === 'github-token' ? 'missing' : getInput(name))
  const source = readSourceSpec(read, run, onMissing === 'skip')
  const step = { source, onMissing }
  if (credential === 'token') return { ...step, flow: 'token', token: readTokenPlan(read, now) }
  if (mode !== 'create')
    return { ...step, flow: mode, revoke: readRevokePlan(read, mode), usage: readUsagePlan(read, mode, now) }
  const key = readKeyPlan(read, now)
  const usage = readUsagePlan(read, mode, now)
  const secret = readSecretPlan(read, run)
  const create = { key, keepPrevious: readKeepPrevious(read), ...(secret ? { secret } : {}) }
  return {
    ...step,
    flow: 'create',
    create,
    usage,
    ...(standIn && secret ? { lackingOnceCredentialed: missingGithubToken() } : {}),
  }
}
