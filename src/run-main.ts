import { maskSecret, type ActionIO } from './core.ts'
import { DeepgramClient, type CreatedKey } from './deepgram.ts'
import { ActionError, describeFailure, redact } from './errors.ts'
import { describeExpiration } from './expiration.ts'
import type { HttpSend } from './http.ts'
import { readKeyPlan, type KeyPlan, type RunContext } from './inputs.ts'
import { createKeyWithoutOrphans, verifyCreatedKey } from './mint.ts'
import { MAIN_POLICY, type RetryClock } from './retry.ts'
import { saveRevocationState } from './state.ts'
import { mintSummary } from './summary.ts'

export interface MainDeps {
  io: ActionIO
  run: RunContext
  send: HttpSend
  clock: RetryClock
  /** A short random string that makes the default comment unique to this invocation. */
  nonce: () => string
  userAgent: string
}

/** The main step: validate, mint, mask, verify, then outputs, state and summary. */
export async function runMain(deps: MainDeps): Promise<void> {
  const { io } = deps
  const secrets: string[] = []
  try {
    // Before anything else can be logged: the admin key, even if other inputs turn out bad.
    const apiKey = io.getInput('api-key')
    if (apiKey !== '') {
      maskSecret(io, apiKey)
      secrets.push(apiKey)
    }
    const plan = readKeyPlan((name) => io.getInput(name), deps.run, new Date(deps.clock.now()), deps.nonce())
    const client = new DeepgramClient({
      baseUrl: plan.deepgramApiUrl,
      apiKey: plan.apiKey,
      send: deps.send,
      clock: deps.clock,
      policy: MAIN_POLICY,
      userAgent: deps.userAgent,
    })
    const projectId = plan.projectId ?? (await discoverProject(client))
    const key = await mint(plan, projectId, client, deps, secrets)
    try {
      publish(io, plan, projectId, key)
    } catch (error) {
      throw await deleteAfterFailure(client, projectId, key, describeFailure(error))
    }
    await io.appendSummary(
      mintSummary({
        keyId: key.apiKeyId,
        projectId,
        scopes: key.scopes,
        tags: key.tags,
        expiresAt: isoUtc(key.expirationDate),
        revokePolicy: revokeSentence(plan.revoke === 'false' ? false : true),
      }),
    )
  } catch (error) {
    io.setFailed(redact(describeFailure(error), secrets))
  }
}

/** Creates the key and masks it before anything else is written; deletes it if it is not what we asked. */
async function mint(plan: KeyPlan, projectId: string, client: DeepgramClient, deps: MainDeps, secrets: string[]): Promise<CreatedKey> {
  const { io, clock } = deps
  io.info(`Creating a Deepgram key in project ${projectId} ${describeExpiration(plan.expiration)} with scopes ${plan.scopes.join(', ')}.`)
  const sentAt = clock.now()
  const key = await createKeyWithoutOrphans(
    { projectId, comment: plan.comment, commentIsOurs: plan.commentIsOurs, scopes: plan.scopes, tags: plan.tags, expiration: plan.expiration },
    { client, clock, policy: MAIN_POLICY, log: (message) => io.info(message) },
  )
  if (key.key !== '') {
    maskSecret(io, key.key)
    secrets.push(key.key)
  }
  const problem = verifyCreatedKey(key, plan.expiration, sentAt, clock.now())
  if (problem !== undefined) {
    throw await deleteAfterFailure(client, projectId, key, `Deepgram created key ${key.apiKeyId || '(no id)'}, but ${problem}.`)
  }
  return key
}

function publish(io: ActionIO, plan: KeyPlan, projectId: string, key: CreatedKey): void {
  const revoke = plan.revoke !== 'false'
  const expiresAt = isoUtc(key.expirationDate)
  io.setOutput('key', key.key)
  io.setOutput('key-id', key.apiKeyId)
  io.setOutput('project-id', projectId)
  io.setOutput('expires-at', expiresAt)
  saveRevocationState(io, { projectId, keyId: key.apiKeyId, expiresAt, revoke })
  const extra = key.scopes.filter((scope) => !plan.scopes.includes(scope))
  const granted = `scopes ${key.scopes.join(', ')}${extra.length > 0 ? ` (Deepgram added ${extra.join(', ')})` : ''}`
  io.info(`Created key ${key.apiKeyId} in project ${projectId}: ${granted}; expires at ${expiresAt}; ${revokeSentence(revoke)}.`)
}

function revokeSentence(revoke: boolean): string {
  return revoke ? 'revoked when the job ends' : 'kept until it expires (revoke: false)'
}

/** The single project api-key can see; none or several is a question only the user can answer. */
async function discoverProject(client: DeepgramClient): Promise<string> {
  const projects = await client.listProjects()
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
