import { isUuid } from '../deepgram/ids.ts'
import { maskSecret, type ActionIO } from './io.ts'
import { DeepgramClient, type CreatedKey } from '../deepgram/client.ts'
import { ActionError, describeFailure, redact } from '../shared/errors.ts'
import { describeExpiration } from '../deepgram/expiration.ts'
import type { HttpSend } from '../shared/http.ts'
import { missingApiKeyCause, readKeyPlan, readMode, readOnMissingCredentials, type GetInput, type KeyPlan, type RunContext } from './inputs.ts'
import { createKeyWithoutOrphans, mayHaveLeftKey, verifyCreatedKey } from '../deepgram/mint.ts'
import { grantProblem } from '../deepgram/scopes.ts'
import { MAIN_POLICY, type RetryClock } from '../shared/retry.ts'
import { CLEAN_UP_RESERVE_MS, MAIN_DEEPGRAM_BUDGET_MS } from './limits.ts'
import { readRevokePlan, revokeKeys, type RevokePlan } from './revoke-mode.ts'
import { splitResults, type TargetResult } from '../github/deliver.ts'
import type { SecretDelivery } from '../github/load.ts'
import { readSecretPlan, secretIdentity, type SecretPlan } from '../github/plan.ts'
import { publishRotation, readKeepPrevious, retirePreviousKeys, type KeepPrevious, type RotationReport } from './rotation.ts'
import { secretDigest } from '../deepgram/marker.ts'
import { clearCreationIntent, saveCreationIntent, saveRevocationState } from './state.ts'
import { mintSummary, revokeModeSummary, rotationSummary, secretsSummary } from './summary.ts'
import { wantsBroker } from './broker-inputs.ts'
import { brokerMain } from './broker-mode.ts'

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

function deepgramClient(apiKey: string, baseUrl: string, deps: MainDeps): DeepgramClient {
  const deadline = deps.clock.now() + MAIN_DEEPGRAM_BUDGET_MS
  return new DeepgramClient({ baseUrl, apiKey, send: deps.send, clock: deps.clock, policy: MAIN_POLICY, userAgent: deps.userAgent, deadline, cancelled: deps.cancelled })
}

async function createMode(plan: KeyPlan, secretPlan: SecretPlan | undefined, keepPrevious: KeepPrevious, deps: MainDeps, secrets: string[]): Promise<void> {
  const { io } = deps
  const client = deepgramClient(plan.apiKey, plan.deepgramApiUrl, deps)
  // Every key written to a secret names that secret in its marker, so a later rotation finds it.
  const digest = secretPlan ? secretDigest(secretIdentity(secretPlan)) : undefined
  // Public keys are fetched while the key is being created: two round trips, not three.
  const delivery = secretPlan ? startDelivery(secretPlan, deps) : undefined
  const projectId = plan.projectId ?? (await discoverProject(client))
  const key = await mint(plan, projectId, digest, client, deps, secrets)
  // Should this step be killed (a cancelled job) while writing secrets, only the post step could
  // still delete the key: tell it now. The final decision, saved by publish(), replaces this.
  const beforeWriting = () =>
    saveRevocationState(io, { projectId, keyId: key.apiKeyId, expiresAt: isoUtc(key.expirationDate), revoke: plan.revoke !== 'false' })
  const results = secretPlan && delivery ? await writeSecrets(secretPlan, delivery, key, client, projectId, beforeWriting) : []
  const { held, failed } = splitResults(results)
  const revoke = plan.revoke === 'auto' ? held.length === 0 : plan.revoke === 'true'
  try {
    publish(io, plan, projectId, key, revoke)
  } catch (error) {
    // Outputs or state could not be written. A key no secret holds is of no use to anyone.
    if (held.length > 0) throw new ActionError(`${describeFailure(error)} Secret ${secretPlan?.name} holds key ${key.apiKeyId} in ${held.join(', ')}; delete it by hand once those are replaced.`)
    throw await deleteAfterFailure(client, projectId, key, describeFailure(error))
  }
  // Earlier keys go only once every target holds the new one: a target still on an old key needs it.
  let rotation: RotationReport | undefined
  if (secretPlan && digest && keepPrevious !== 'all') {
    if (failed.length === 0) rotation = await retirePreviousKeys({ secretName: secretPlan.name, digest, keep: keepPrevious, projectId, newKey: key }, client, io)
    publishRotation(io, rotation)
  }
  await io.appendSummary(
    mintSummary({
      keyId: key.apiKeyId,
      projectId,
      scopes: key.scopes,
      tags: key.tags,
      expiresAt: isoUtc(key.expirationDate),
      revokePolicy: revokeSentence(revoke, held.length > 0),
    }) +
      (secretPlan ? secretsSummary(secretPlan.name, results) : '') +
      (rotation ? rotationSummary(rotation) : ''),
  )
  if (failed.length > 0) {
    const fate = revoke ? 'It will be revoked when the job ends (revoke: true).' : 'The key was kept, since those secrets hold it.'
    const earlier = keepPrevious === 'all' ? '' : ' No earlier key of the secret was deleted (keep-previous waits until every target holds the new key).'
    throw new ActionError(
      `Secret ${secretPlan?.name} now holds the new key in ${held.join(', ')}, but writing it failed in ${failed.join(' ')} ${fate}${earlier} ` +
        'Run the job again to write the rest.',
    )
  }
}

/** Revoke mode: delete the keys named by id, or every key carrying all the tags. */
async function revokeMode(plan: RevokePlan, deps: MainDeps): Promise<void> {
  const { io } = deps
  const client = deepgramClient(plan.apiKey, plan.deepgramApiUrl, deps)
  const projectId = plan.projectId ?? (await discoverProject(client))
  const what = plan.keyIds.length > 0 ? `keys ${plan.keyIds.join(', ')}` : `keys tagged ${plan.tags.join(', ')}`
  io.info(`Revoking ${what} in project ${projectId}.`)
  const report = await revokeKeys(plan, projectId, client)
  for (const id of report.revoked) io.info(`Revoked key ${id}.`)
  for (const id of report.alreadyGone) io.info(`Key ${id} was already deleted.`)
  if (report.keysRead > 0) io.info(`Read ${report.keysRead} keys one by one to learn their tags.`)
  if (report.unreadable > 0) io.warning(`Left alone ${report.unreadable} listed keys whose ids are not UUIDs.`)
  if (report.revoked.length + report.alreadyGone.length === 0) io.info(`No key matched ${what}.`)
  io.setOutput('revoked-count', String(report.revoked.length))
  io.setOutput('revoked-key-ids', report.revoked.join(','))
  await io.appendSummary(revokeModeSummary(projectId, what, report))
}

/**
 * Starts loading the secret-writing code and readying every target. The promise never rejects:
 * a failure is a value, looked at only once the key exists (and then deletes it).
 */
function startDelivery(plan: SecretPlan, deps: MainDeps): Promise<SecretDelivery | Error> {
  return import('../github/load.ts')
    .then((module) => module.prepareDelivery(plan, deps))
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
}

/** Writes the key to every target; when none holds it, the key is deleted and the step fails. */
async function writeSecrets(
  plan: SecretPlan,
  delivery: Promise<SecretDelivery | Error>,
  key: CreatedKey,
  client: DeepgramClient,
  projectId: string,
  beforeWriting: () => void,
): Promise<TargetResult[]> {
  const ready = await delivery
  if (ready instanceof Error) throw await deleteAfterFailure(client, projectId, key, `Deepgram created key ${key.apiKeyId}, but ${ready.message}`)
  beforeWriting()
  const results = await ready.write(key.key)
  const { held, failed } = splitResults(results)
  if (held.length === 0) {
    throw await deleteAfterFailure(client, projectId, key, `Deepgram created key ${key.apiKeyId}, but writing secret ${plan.name} failed everywhere: ${failed.join(' ')}`)
  }
  return results
}

/** Creates the key and masks it before anything else is written; deletes it if it is not what we asked. */
async function mint(plan: KeyPlan, projectId: string, digest: string | undefined, client: DeepgramClient, deps: MainDeps, secrets: string[]): Promise<CreatedKey> {
  const { io, clock } = deps
  io.info(`Creating a Deepgram key in project ${projectId} ${describeExpiration(plan.expiration)} with scopes ${plan.scopes.join(', ')}.`)
  const invocation = deps.invocationId()
  saveCreationIntent(io, { projectId, invocation })
  const sentAt = clock.now()
  const key = await createKeyWithoutOrphans(
    {
      projectId,
      comment: plan.comment,
      marker: { kind: 'action', invocation, ...(digest ? { secret: digest } : {}) },
      scopes: plan.scopes,
      tags: plan.tags,
      expiration: plan.expiration,
    },
    { client, clock, policy: MAIN_POLICY, log: (message) => io.info(message), createBy: client.deadline - CLEAN_UP_RESERVE_MS },
  ).catch((error: unknown) => {
    if (!mayHaveLeftKey(error)) clearCreationIntent(io)
    throw error
  })
  if (key.key !== '') {
    maskSecret(io, key.key)
    secrets.push(key.key)
  }
  const problem = verifyCreatedKey(key, plan.expiration, sentAt, clock.now()) ?? grantProblem(plan.scopes, key.scopes)
  if (problem !== undefined) {
    throw await deleteAfterFailure(client, projectId, key, `Deepgram created key ${key.apiKeyId || '(no id)'}, but ${problem}.`)
  }
  return key
}

function publish(io: ActionIO, plan: KeyPlan, projectId: string, key: CreatedKey, revoke: boolean): void {
  const expiresAt = isoUtc(key.expirationDate)
  io.setOutput('key', key.key)
  io.setOutput('key-id', key.apiKeyId)
  io.setOutput('project-id', projectId)
  io.setOutput('expires-at', expiresAt)
  saveRevocationState(io, { projectId, keyId: key.apiKeyId, expiresAt, revoke })
  const extra = key.scopes.filter((scope) => !plan.scopes.includes(scope))
  const granted = `scopes ${key.scopes.join(', ')}${extra.length > 0 ? ` (Deepgram added ${extra.join(', ')})` : ''}`
  io.info(`Created key ${key.apiKeyId} in project ${projectId}: ${granted}; expires at ${expiresAt}; ${revokeSentence(revoke, false)}.`)
}

function revokeSentence(revoke: boolean, heldBySecret: boolean): string {
  if (revoke) return 'revoked when the job ends'
  return heldBySecret ? 'kept until it expires (a secret holds it)' : 'kept until it expires (revoke: false)'
}

/** The single project api-key can see; none or several is a question only the user can answer. */
async function discoverProject(client: DeepgramClient): Promise<string> {
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

/**
 * Deletes a key we will not hand out, and says so in the error. If the deletion fails too, the
 * error says which key to delete by hand.
 */
async function deleteAfterFailure(client: DeepgramClient, projectId: string, key: CreatedKey, why: string): Promise<ActionError> {
  if (key.apiKeyId === '') return new ActionError(`${why} Deepgram gave no key id, so check the project's keys in the console.`)
  try {
    await client.deleteKey(projectId, key.apiKeyId)
    return new ActionError(`${why} The key was deleted.`)
  } catch (error) {
    return new ActionError(`${why} Deleting key ${key.apiKeyId} failed too: ${describeFailure(error)} Delete it in the Deepgram console.`)
  }
}

/** Deepgram's microsecond timestamps, as ISO 8601 UTC that every tool reads. */
function isoUtc(date: string | undefined): string {
  const parsed = date === undefined ? Number.NaN : Date.parse(date)
  return Number.isNaN(parsed) ? (date ?? '') : new Date(parsed).toISOString()
}
