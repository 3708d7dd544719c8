import { maskSecret } from '../io.ts'
import type { ActionIO } from '../io.ts'
import type { CreatedKey, DeepgramClient } from '../../deepgram/client.ts'
import { describeExpiration } from '../../deepgram/expiration.ts'
import { secretDigest } from '../../deepgram/marker.ts'
import { createKeyWithoutOrphans, mayHaveLeftKey, verifyCreatedKey } from '../../deepgram/mint.ts'
import { grantProblem } from '../../deepgram/scopes.ts'
import { splitResults, type TargetResult } from '../../github/deliver.ts'
import type { SecretDelivery } from '../../github/load.ts'
import { secretIdentity, type SecretPlan } from '../../github/plan.ts'
import { ActionError, describeFailure } from '../../shared/errors.ts'
import { MAIN_POLICY } from '../../shared/retry.ts'
import type { KeyPlan } from '../inputs.ts'
import { CLEAN_UP_RESERVE_MS } from '../limits.ts'
import { discoverProject, mainDeepgramClient } from '../sources/deepgram.ts'
import { publishRotation, retirePreviousKeys, type KeepPrevious, type RotationReport } from './rotation.ts'
import type { MainDeps } from '../run-main.ts'
import { clearCreationIntent, saveCreationIntent, saveRevocationState } from '../state.ts'
import { mintSummary, rotationSummary, secretsSummary } from '../summary.ts'

// Create mode: mint the key (masked before anything else is written), write it to the secrets,
// publish outputs and state, retire the secret's earlier keys, and summarise.

export async function createMode(plan: KeyPlan, secretPlan: SecretPlan | undefined, keepPrevious: KeepPrevious, deps: MainDeps, secrets: string[]): Promise<void> {
  const { io } = deps
  const client = mainDeepgramClient(plan.apiKey, plan.deepgramApiUrl, deps)
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
  // Writing secrets may outlast this client's budget (a fan-out paced to GitHub's limits): what
  // Deepgram is asked once the writes are done gets a budget of its own, from then.
  let later: DeepgramClient | undefined
  const afterWrites = (): DeepgramClient => (later ??= secretPlan ? mainDeepgramClient(plan.apiKey, plan.deepgramApiUrl, deps) : client)
  const results = secretPlan && delivery ? await writeSecrets(secretPlan, delivery, key, afterWrites, projectId, beforeWriting) : []
  const { held, failed } = splitResults(results)
  const revoke = plan.revoke === 'auto' ? held.length === 0 : plan.revoke === 'true'
  try {
    publish(io, plan, projectId, key, revoke)
  } catch (error) {
    // Outputs or state could not be written. A key no secret holds is of no use to anyone.
    if (held.length > 0) throw new ActionError(`${describeFailure(error)} Secret ${secretPlan?.name} holds key ${key.apiKeyId} in ${held.join(', ')}; delete it by hand once those are replaced.`)
    throw await deleteAfterFailure(afterWrites(), projectId, key, describeFailure(error))
  }
  // Earlier keys go only once every target holds the new one: a target still on an old key needs it.
  let rotation: RotationReport | undefined
  if (secretPlan && digest && keepPrevious !== 'all') {
    if (failed.length === 0) rotation = await retirePreviousKeys({ secretName: secretPlan.name, digest, keep: keepPrevious, projectId, newKey: key }, afterWrites(), io)
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

/**
 * Starts loading the secret-writing code and readying every target. The promise never rejects:
 * a failure is a value, looked at only once the key exists (and then deletes it).
 */
export function startDelivery(plan: SecretPlan, deps: MainDeps): Promise<SecretDelivery | Error> {
  return import('../../github/load.ts')
    .then((module) => module.prepareDelivery(plan, deps))
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
}

/** Writes the key to every target; when none holds it, the key is deleted and the step fails. */
async function writeSecrets(
  plan: SecretPlan,
  delivery: Promise<SecretDelivery | Error>,
  key: CreatedKey,
  afterWrites: () => DeepgramClient,
  projectId: string,
  beforeWriting: () => void,
): Promise<TargetResult[]> {
  const ready = await delivery
  if (ready instanceof Error) throw await deleteAfterFailure(afterWrites(), projectId, key, `Deepgram created key ${key.apiKeyId}, but ${ready.message}`)
  beforeWriting()
  const results = await ready.write(key.key)
  const { held, failed } = splitResults(results)
  if (held.length === 0) {
    throw await deleteAfterFailure(afterWrites(), projectId, key, `Deepgram created key ${key.apiKeyId}, but writing secret ${plan.name} failed everywhere: ${failed.join(' ')}`)
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
