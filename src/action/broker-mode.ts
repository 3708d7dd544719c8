// Broker mode (issue 10): the step holds no Deepgram credential. It shows the broker this job's
// GitHub OIDC token and gets a key the broker's policy allows; revocations go through the broker
// too, the post step's with a fresh token. Everything else (inputs, outputs, secrets, summary)
// is what direct mode does.
import { maskSecret } from './io.ts'
import { brokerClient, fetchIdToken, type BrokerClient, type BrokerKey } from './sources/broker-client.ts'
import { readBrokerKeyPlan, readBrokerRevokePlan, type BrokerKeyPlan, type BrokerRevokePlan } from './sources/broker-inputs.ts'
import type { GetInput, Mode, RunContext } from './inputs.ts'
import type { MainDeps } from './run-main.ts'
import { startDelivery } from './flow/create.ts'
import { describeExpiration } from '../deepgram/expiration.ts'
import { verifyCreatedKey } from '../deepgram/mint.ts'
import { grantProblem } from '../deepgram/scopes.ts'
import type { DeleteOutcome } from '../deepgram/client.ts'
import { splitResults, type TargetResult } from '../github/deliver.ts'
import { readSecretPlan, type SecretPlan } from '../github/plan.ts'
import { ActionError, describeFailure } from '../shared/errors.ts'
import { MAIN_POLICY } from '../shared/retry.ts'
import { saveRevocationState, type RevocationState } from './state.ts'
import { code, mintSummary, secretsSummary, table } from './summary.ts'

/**
 * The main step in broker mode. Every input is checked before the first request; `secrets`
 * collects what must never be shown (the ID token, the key), for the caller's redaction.
 */
export async function brokerMain(mode: Mode, onMissing: 'fail' | 'skip', deps: MainDeps, secrets: string[]): Promise<void> {
  const { io } = deps
  const getInput: GetInput = (name) => io.getInput(name)
  // A run without an ID token (forks, Dependabot) has no secrets either: a skipped run checks its
  // other inputs with a stand-in github-token, and the real one is checked once a token came.
  const standIn: GetInput = (name) => (name === 'github-token' && getInput(name) === '' ? 'missing' : getInput(name))
  const read = (get: GetInput) => (mode === 'revoke' ? { mode, plan: readBrokerRevokePlan(get, deps.run) } : { mode, ...readCreatePlans(get, deps) })
  const plans = read(onMissing === 'skip' ? standIn : getInput)
  const idToken = await fetchIdToken(io, plans.plan.broker.audience)
  if (idToken === undefined) {
    if (onMissing === 'fail') throw new ActionError(`${NO_ID_TOKEN} ${missingIdTokenCause(deps.run)} To skip this step when there is none, set on-missing-credentials: skip.`)
    io.notice(`Skipped: ${NO_ID_TOKEN} on-missing-credentials is skip. ${missingIdTokenCause(deps.run)}`)
    io.setOutput('skipped', 'true')
    return
  }
  maskSecret(io, idToken)
  secrets.push(idToken)
  const checked = onMissing === 'skip' ? read(getInput) : plans
  io.setOutput('skipped', 'false')
  if (checked.mode === 'revoke') await revokeMode(checked.plan, brokerClient(checked.plan.broker, idToken, deps, MAIN_POLICY), deps)
  else await createMode(checked.plan, checked.secretPlan, brokerClient(checked.plan.broker, idToken, deps, MAIN_POLICY), deps, secrets)
}

function readCreatePlans(getInput: GetInput, deps: MainDeps): { plan: BrokerKeyPlan; secretPlan: SecretPlan | undefined } {
  const plan = readBrokerKeyPlan(getInput, deps.run, new Date(deps.clock.now()))
  const secretPlan = readSecretPlan(getInput, { GITHUB_REPOSITORY: deps.run.repository, GITHUB_API_URL: deps.run.apiUrl })
  return { plan, secretPlan }
}

const NO_ID_TOKEN =
  'This job has no GitHub ID token to show the broker: ACTIONS_ID_TOKEN_REQUEST_URL is not set, because the job lacks the permission id-token: write. Add "permissions: id-token: write" (and contents: read) to the job or the workflow.'

/** Why there is no ID token, in this run's own terms. */
export function missingIdTokenCause(run: RunContext): string {
  if (run.forkRepository) return `This run is for a pull request from the fork ${run.forkRepository}, and GitHub gives no ID token to workflows run for pull requests from forks.`
  if (run.actor === 'dependabot[bot]') return 'This run was started by Dependabot, and GitHub gives Dependabot runs no ID token.'
  return 'Pull requests from forks and Dependabot runs never get one.'
}

async function createMode(plan: BrokerKeyPlan, secretPlan: SecretPlan | undefined, client: BrokerClient, deps: MainDeps, secrets: string[]): Promise<void> {
  const { io, clock } = deps
  // Public keys are fetched while the key is being minted, as in direct mode.
  const delivery = secretPlan ? startDelivery(secretPlan, deps) : undefined
  io.info(`Asking the broker at ${plan.broker.url} for a key ${describeExpiration(plan.expiration)} with scopes ${plan.body.scopes?.join(', ')}.`)
  const sentAt = clock.now()
  const key = await client.createKey(plan.body)
  if (key.key !== '') {
    maskSecret(io, key.key)
    secrets.push(key.key)
  }
  const problem =
    verifyCreatedKey({ apiKeyId: key.keyId, key: key.key, scopes: key.scopes, tags: key.tags, expirationDate: key.expiresAt }, plan.expiration, sentAt, clock.now()) ??
    grantProblem(plan.body.scopes ?? [], key.scopes) ??
    (key.projectId === '' ? 'the answer carries no project_id' : undefined)
  if (problem !== undefined) throw await deleteAfterFailure(client, key, `The broker minted key ${key.keyId || '(no id)'}, but ${problem}.`)
  const expiresAt = new Date(key.expiresAt ?? '').toISOString()
  const state = (revoke: boolean): RevocationState => ({ projectId: key.projectId, keyId: key.keyId, expiresAt, revoke })
  // Post finds the broker here; the ID token is never saved (post asks for a fresh one).
  io.saveState('broker-url', plan.broker.url)
  io.saveState('broker-audience', plan.broker.audience)
  let results: TargetResult[] = []
  if (secretPlan && delivery) {
    const ready = await delivery
    if (ready instanceof Error) throw await deleteAfterFailure(client, key, `The broker minted key ${key.keyId}, but ${ready.message}`)
    // A cancelled job killed while writing secrets still has post revoke the key.
    saveRevocationState(io, state(plan.revoke !== 'false'))
    results = await ready.write(key.key)
  }
  const { held, failed } = splitResults(results)
  if (secretPlan && held.length === 0) {
    throw await deleteAfterFailure(client, key, `The broker minted key ${key.keyId}, but writing secret ${secretPlan.name} failed everywhere: ${failed.join(' ')}`)
  }
  const revoke = plan.revoke === 'auto' ? held.length === 0 : plan.revoke === 'true'
  const fate = revoke ? 'revoked through the broker when the job ends' : held.length > 0 ? 'kept until it expires (a secret holds it)' : 'kept until it expires (revoke: false)'
  io.setOutput('key', key.key)
  io.setOutput('key-id', key.keyId)
  io.setOutput('project-id', key.projectId)
  io.setOutput('expires-at', expiresAt)
  saveRevocationState(io, state(revoke))
  io.info(`Created key ${key.keyId} in project ${key.projectId} through the broker: scopes ${key.scopes.join(', ')}; expires at ${expiresAt}; ${fate}.`)
  await io.appendSummary(
    mintSummary({ keyId: key.keyId, projectId: key.projectId, scopes: key.scopes, tags: key.tags, expiresAt, revokePolicy: fate }) +
      (secretPlan ? secretsSummary(secretPlan.name, results) : ''),
  )
  if (failed.length > 0) {
    const then = revoke ? 'It will be revoked when the job ends (revoke: true).' : 'The key was kept, since those secrets hold it.'
    throw new ActionError(`Secret ${secretPlan?.name} now holds the new key in ${held.join(', ')}, but writing it failed in ${failed.join(' ')} ${then} Run the job again to write the rest.`)
  }
}

/** Deletes, through the broker, a key we will not hand out; the error says how that went. */
async function deleteAfterFailure(client: BrokerClient, key: BrokerKey, why: string): Promise<ActionError> {
  if (key.keyId === '') return new ActionError(`${why} The broker gave no key id, so ask its operators to check the project's keys.`)
  try {
    await client.deleteKey(key.keyId)
    return new ActionError(`${why} The key was deleted.`)
  } catch (error) {
    return new ActionError(`${why} Deleting key ${key.keyId} failed too: ${describeFailure(error)} It expires on its own; ask the broker's operators to delete it sooner.`)
  }
}

async function revokeMode(plan: BrokerRevokePlan, client: BrokerClient, deps: MainDeps): Promise<void> {
  const { io } = deps
  const what = plan.keyIds.length > 0 ? `keys ${plan.keyIds.join(', ')}` : `this repository's keys tagged ${plan.tags.join(', ')}`
  io.info(`Revoking ${what} through the broker at ${plan.broker.url}.`)
  const revoked: string[] = []
  const alreadyGone: string[] = []
  if (plan.keyIds.length === 0) revoked.push(...(await client.deleteTagged(plan.tags)))
  for (const id of plan.keyIds) {
    const outcome: DeleteOutcome = await client.deleteKey(id)
    ;(outcome === 'deleted' ? revoked : alreadyGone).push(id)
  }
  for (const id of revoked) io.info(`Revoked key ${id}.`)
  for (const id of alreadyGone) io.info(`Key ${id} was already deleted.`)
  if (revoked.length + alreadyGone.length === 0) io.info(`No key matched ${what}.`)
  io.setOutput('revoked-count', String(revoked.length))
  io.setOutput('revoked-key-ids', revoked.join(','))
  const rows = [...revoked.map((id): [string, string] => [code(id), 'revoked']), ...alreadyGone.map((id): [string, string] => [code(id), 'already deleted'])]
  const body = rows.length > 0 ? table(rows, ['Key id', 'Result']) : `No key matched ${what}.`
  await io.appendSummary(`### Deepgram keys revoked\n\nThrough the broker at ${code(plan.broker.url)}, ${what}: ${revoked.length} revoked.\n\n${body}\n`)
}

