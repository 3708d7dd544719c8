// Create mode, written once for every source of keys: mint the key (its invocation saved before
// the create is sent, the key masked before anything else is written), check it is the key asked
// for, write it to the secrets, publish outputs and state, retire the secret's earlier keys, and
// summarise. Whether Deepgram or the broker answers is the StepSource's business.
import type { ActionIO } from '../io.ts'
import type { Secrets } from '../secrets.ts'
import type { KeyPlan } from '../inputs/keys.ts'
import type { CreatePlan } from '../inputs/step-plan.ts'
import { CLEAN_UP_RESERVE_MS } from '../time-bounds.ts'
import { clearCreationIntent, saveCreationIntent, saveRevocationState, type RevocationState } from '../state.ts'
import { saveWritePlan, writePlanOf, writeRecorder } from '../secret-writes.ts'
import { saveUsageFacts } from '../usage/post.ts'
import { mintSummary, rotationSummary, secretsSummary } from '../summary.ts'
import type { MintedKey, StepSource } from './key-source.ts'
import { publishRotation, retirePreviousKeys, type RotationReport } from './rotation.ts'
import { describeExpiration } from '../../deepgram/expiration.ts'
import { secretDigest } from '../../deepgram/marker.ts'
import { mayHaveLeftKey, mintWithoutOrphans, verifyCreatedKey } from '../../deepgram/mint.ts'
import { extraScopesProblem } from '../../deepgram/scopes.ts'
import { splitResults, type TargetResult } from '../../github/deliver.ts'
import type { SecretDelivery } from '../../github/load.ts'
import { secretIdentity, type SecretPlan } from '../../github/plan.ts'
import { ActionError, describeFailure } from '../../shared/errors.ts'
import type { HttpSend } from '../../shared/http.ts'
import { MAIN_POLICY, type RetryClock } from '../../shared/retry.ts'

export interface CreateDeps {
  io: ActionIO
  send: HttpSend
  clock: RetryClock
  userAgent: string
  /** A fresh invocation id for the key's marker (marker.ts). */
  invocationId: () => string
  /** The new key joins them the moment it is known. */
  secrets: Secrets
}

/** Creates the key from `openSource`'s source (opened while the secrets' public keys are fetched). */
export async function createKey(
  plan: CreatePlan,
  openSource: () => Promise<StepSource>,
  deps: CreateDeps,
): Promise<void> {
  const { io } = deps
  // Every key written to a secret names that secret in its marker, so a later rotation finds it.
  const digest = plan.secret ? secretDigest(secretIdentity(plan.secret)) : undefined
  // Public keys are fetched while the key is being created: two round trips, not three.
  const delivery = plan.secret ? startDelivery(plan.secret, deps) : undefined
  const source = await openSource()
  const key = await mint(plan.key, digest, source, deps)
  // Writing secrets may outlast the source's budget (a fan-out paced to GitHub's limits): what the
  // source is asked once the writes are done gets a budget of its own, from then.
  let later: StepSource | undefined
  const afterWrites = (): StepSource => (later ??= plan.secret ? source.renewed() : source)
  const results =
    plan.secret && delivery ? await writeSecrets(plan.secret, plan.key, delivery, key, afterWrites, deps) : []
  const { held, failed } = splitResults(results)
  const revoke = plan.key.revoke === 'auto' ? held.length === 0 : plan.key.revoke === 'true'
  try {
    publish(io, plan.key, key, revoke, held.length > 0 ? `secret ${plan.secret?.name} holds it` : undefined, {
      // Every write has ended: the decision above is final, and post need not ask GitHub.
      ...(plan.secret && plan.key.revoke === 'auto' ? { askGitHub: false } : {}),
    })
  } catch (error) {
    // Outputs or state could not be written. A key no secret holds is of no use to anyone.
    if (held.length > 0)
      throw new ActionError(
        `${describeFailure(error)} Secret ${plan.secret?.name} holds key ${key.apiKeyId} in ${held.join(', ')}; it was kept, and expires on its own.`,
      )
    throw await deleteAfterFailure(afterWrites(), key, describeFailure(error))
  }
  // Earlier keys go only once every target holds the new one: a target still on an old key needs it.
  let rotation: RotationReport | undefined
  if (plan.secret && digest && plan.keepPrevious !== 'all') {
    if (failed.length === 0)
      rotation = await retirePreviousKeys(
        { secretName: plan.secret.name, digest, keep: plan.keepPrevious, newKey: key },
        afterWrites(),
        io,
      )
    publishRotation(io, rotation)
  }
  await io.appendSummary(
    mintSummary({
      keyId: key.apiKeyId,
      projectId: key.projectId,
      scopes: key.scopes,
      tags: key.tags,
      expiresAt: isoUtc(key.expirationDate),
      revokePolicy: revokeSentence(revoke, held.length > 0),
    }) +
      (plan.secret ? secretsSummary(plan.secret.name, results) : '') +
      (rotation ? rotationSummary(rotation) : ''),
  )
  if (failed.length > 0) {
    const fate = revoke
      ? 'It will be revoked when the job ends (revoke: true).'
      : 'The key was kept, since those secrets hold it.'
    const earlier =
      plan.keepPrevious === 'all'
        ? ''
        : ' No earlier key of the secret was deleted (keep-previous waits until every target holds the new key).'
    throw new ActionError(
      `Secret ${plan.secret?.name} now holds the new key in ${held.join(', ')}, but writing it failed in ${failed.join(' ')} ${fate}${earlier} Run the job again to write the rest.`,
    )
  }
}

/**
 * Starts loading the secret-writing code and readying every target. The promise never rejects:
 * a failure is a value, looked at only once the key exists (and then deletes it).
 */
function startDelivery(plan: SecretPlan, deps: CreateDeps): Promise<SecretDelivery | Error> {
  return import('../../github/load.ts')
    .then((module) => module.prepareDelivery(plan, deps))
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
}

/**
 * Writes the key to every target; when none holds it, the key is deleted and the step fails.
 * From the first write on, a secret may hold the key: should the job be cancelled while writing,
 * post keeps it (revoke: auto) rather than break a secret that already holds it.
 */
async function writeSecrets(
  plan: SecretPlan,
  keyPlan: KeyPlan,
  delivery: Promise<SecretDelivery | Error>,
  key: MintedKey,
  afterWrites: () => StepSource,
  { io, clock }: Pick<CreateDeps, 'io' | 'clock'>,
): Promise<TargetResult[]> {
  const ready = await delivery
  if (ready instanceof Error)
    throw await deleteAfterFailure(afterWrites(), key, `${createdBy(afterWrites(), key)}, but ${ready.message}`)
  const expiresAt = isoUtc(key.expirationDate)
  const mayHold = `the job ended while writing secret ${plan.name}, so some of its targets may hold it`
  // With revoke: auto, post asks GitHub which targets hold the key should main end before every
  // write is confirmed: main records when each write started, and which GitHub confirmed.
  const askGitHub = keyPlan.revoke === 'auto'
  if (askGitHub) saveWritePlan(io, writePlanOf(plan, ready.serverOffsetFloorMs()))
  saveRevocationState(io, {
    keyId: key.apiKeyId,
    expiresAt,
    revoke: keyPlan.revoke === 'true',
    ...(keyPlan.revoke === 'true' ? {} : { keptBecause: mayHold }),
    ...(askGitHub ? { askGitHub } : {}),
  })
  const results = await ready.write(key.key, askGitHub ? writeRecorder(io, plan.targets, clock.now) : undefined)
  const { held, failed } = splitResults(results)
  if (held.length === 0) {
    // No secret holds it: should the deletion below fail, post tries again.
    saveRevocationState(io, {
      keyId: key.apiKeyId,
      expiresAt,
      revoke: true,
      ...(askGitHub ? { askGitHub: false } : {}),
    })
    throw await deleteAfterFailure(
      afterWrites(),
      key,
      `${createdBy(afterWrites(), key)}, but writing secret ${plan.name} failed everywhere: ${failed.join(' ')}`,
    )
  }
  return results
}

/** Creates the key and masks it before anything else is written; deletes it if it is not what we asked. */
async function mint(
  plan: KeyPlan,
  digest: string | undefined,
  source: StepSource,
  deps: CreateDeps,
): Promise<MintedKey> {
  const { io, clock, secrets } = deps
  io.info(
    `Creating a Deepgram key ${source.where} ${describeExpiration(plan.expiration)} with scopes ${plan.scopes.join(', ')}.`,
  )
  const invocation = deps.invocationId()
  saveCreationIntent(io, source.locator, invocation)
  const request = {
    comment: plan.comment,
    scopes: plan.scopes,
    tags: plan.tags,
    expiration: plan.expiration,
    invocation,
    ...(digest ? { secret: digest } : {}),
  }
  const sentAt = clock.now()
  const minted = await mintWithoutOrphans(
    {
      createOnce: (attempt) => source.createOnce(request, attempt),
      deleteInvocationKeys: () => source.deleteInvocationKeys(invocation),
      byHand: `The post step will look for it again; if that fails too, ${source.orphanAdvice(invocation)}`,
    },
    { clock, policy: MAIN_POLICY, log: (message) => io.info(message), createBy: source.deadline - CLEAN_UP_RESERVE_MS },
  ).catch((error: unknown) => {
    if (!mayHaveLeftKey(error)) clearCreationIntent(io)
    throw error
  })
  secrets.add(minted.key)
  const problem =
    verifyCreatedKey(minted, plan.expiration, sentAt, clock.now()) ?? extraScopesProblem(plan.scopes, minted.scopes)
  if (problem !== undefined)
    throw await deleteAfterFailure(source, minted, `${createdBy(source, minted)}, but ${problem}.`)
  return minted
}

function publish(
  io: ActionIO,
  plan: KeyPlan,
  key: MintedKey,
  revoke: boolean,
  keptBecause: string | undefined,
  askGitHub: Pick<RevocationState, 'askGitHub'>,
): void {
  const expiresAt = isoUtc(key.expirationDate)
  io.setOutput('key', key.key)
  io.setOutput('key-id', key.apiKeyId)
  io.setOutput('project-id', key.projectId)
  io.setOutput('expires-at', expiresAt)
  saveRevocationState(io, {
    keyId: key.apiKeyId,
    expiresAt,
    revoke,
    ...(keptBecause ? { keptBecause } : {}),
    ...askGitHub,
  })
  saveUsageFacts(io, key)
  const extra = key.scopes.filter((scope) => !plan.scopes.includes(scope))
  const granted = `scopes ${key.scopes.join(', ')}${extra.length > 0 ? ` (Deepgram added ${extra.join(', ')})` : ''}`
  io.info(
    `Created key ${key.apiKeyId} in project ${key.projectId}: ${granted}; expires at ${expiresAt}; ${revokeSentence(revoke, false)}.`,
  )
}

function revokeSentence(revoke: boolean, heldBySecret: boolean): string {
  if (revoke) return 'revoked when the job ends'
  return heldBySecret ? 'kept until it expires (a secret holds it)' : 'kept until it expires (revoke: false)'
}

function createdBy(source: StepSource, key: MintedKey): string {
  return `${source.service} created key ${key.apiKeyId}`
}

/**
 * Deletes a key we will not hand out, and says so in the error. If the deletion fails too, the
 * error says what to do about the key.
 */
async function deleteAfterFailure(source: StepSource, key: MintedKey, why: string): Promise<ActionError> {
  try {
    await source.deleteKey(key.apiKeyId)
    return new ActionError(`${why} The key was deleted.`)
  } catch (error) {
    return new ActionError(`${why} Deleting key ${key.apiKeyId} failed too: ${describeFailure(error)} ${source.byHand}`)
  }
}

/** Deepgram's microsecond timestamps, as ISO 8601 UTC that every tool reads. */
function isoUtc(date: string | undefined): string {
  const parsed = date === undefined ? Number.NaN : Date.parse(date)
  return Number.isNaN(parsed) ? (date ?? '') : new Date(parsed).toISOString()
}
