// What the broker does for each request, once the HTTP layer has read it: verify the token, find
// the rule, mint or delete keys. Every collaborator is passed in, so this is the same code the
// tests drive and the one `main.ts` wires to the network.
import { createHmac } from 'node:crypto'
import { field, type DeepgramClient, type ProjectKey } from '../deepgram/client.ts'
import { createKeyWithoutOrphans, verifyCreatedKey, type MintDeps } from '../deepgram/mint.ts'
import { brokerMarker, isBrokerMarkerFor, parseMarker } from '../deepgram/marker.ts'
import { grantProblem } from '../deepgram/scopes.ts'
import { expectedExpiry } from '../deepgram/expiration.ts'
import { ActionError, NetworkError, ServiceError } from '../shared/errors.ts'
import { grantFor, parseKeyRequest } from './key-request.ts'
import { TOKEN_SCOPE, tokenSecondsFor } from './token-request.ts'
import { checkToken } from '../deepgram/grant.ts'
import { TAG, type Policy } from './policy.ts'
import type { RateLimiter } from './rate-limit.ts'
import { badRequest, forbidden, Refusal } from './refusal.ts'
import { claimText, selectRule, type Claims } from './rules.ts'
import type { VerifyToken } from './tokens.ts'

/** What the audit line of a request says, filled in as the request goes. */
export interface AuditRecord {
  rule?: string
  repository?: string
  repository_id?: string
  run_id?: string
  run_attempt?: string
  workflow_ref?: string
  event_name?: string
  ref?: string
  jti?: string
  key_id?: string
  deleted?: string[]
  scopes?: string[]
  expires_at?: string
  /** Set for temporary tokens (POST /v1/tokens); the token itself is never audited. */
  credential?: 'token'
}

export interface Answer {
  status: number
  body: unknown
}

export interface BrokerDeps {
  policy: Policy
  verify: VerifyToken
  deepgram: Pick<DeepgramClient, 'createKeyOnce' | 'listKeys' | 'getKey' | 'deleteKey' | 'grantToken'>
  mint: Omit<MintDeps, 'client'>
  limiter: RateLimiter
  /** Keys the markers' MACs: see markerSecret(). */
  markerSecret: string
  newInvocation: () => string
  now: () => number
}

/**
 * The secret behind the markers' MACs, derived from the admin key so that every copy of the
 * broker agrees without more configuration. Rotating the admin key changes it: keys minted
 * before can then no longer be deleted through the broker (they still expire).
 */
export function markerSecret(adminKey: string): string {
  return createHmac('sha256', adminKey).update('deepgram-key-broker marker v1').digest('hex')
}

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const AUDITED_CLAIMS = ['repository', 'repository_id', 'run_id', 'run_attempt', 'workflow_ref', 'event_name', 'ref', 'jti'] as const

interface Caller {
  claims: Claims
  repository: string
  repositoryId: string
}

export class Broker {
  private readonly deps: BrokerDeps

  constructor(deps: BrokerDeps) {
    this.deps = deps
  }

  /** POST /v1/keys */
  async createKey(token: string, body: string, audit: AuditRecord): Promise<Answer> {
    const { policy, limiter, now } = this.deps
    const caller = await this.authenticate(token, audit)
    const request = parseKeyRequest(body)
    const rule = selectRule(policy.rules, caller.claims)
    if (!rule) throw forbidden('no_rule', `No rule of the policy matches this token (${describeCaller(caller.claims)}).`)
    audit.rule = rule.name
    const holder = { repository: caller.repository, runId: claimText(caller.claims, 'run_id') ?? '?', runAttempt: claimText(caller.claims, 'run_attempt') ?? '?' }
    const grant = grantFor(rule, request, holder, new Date(now()))
    audit.scopes = grant.scopes
    const verdict = limiter.take(caller.repositoryId)
    if (!verdict.allowed) {
      throw new Refusal(429, 'rate_limited', `Repository ${caller.repository} has had ${policy.keysPerMinute} keys in the last minute (keys-per-minute); try again in ${verdict.retryAfterSeconds} s.`, {
        headers: { 'retry-after': String(verdict.retryAfterSeconds) },
      })
    }
    const request_ = { projectId: policy.projectId, comment: grant.comment, marker: brokerMarker(this.deps.markerSecret, this.deps.newInvocation(), caller.repositoryId), scopes: grant.scopes, tags: grant.tags, expiration: grant.expiration }
    const sentAt = now()
    const created = await deepgramStep(() => createKeyWithoutOrphans(request_, { ...this.deps.mint, client: this.deps.deepgram }))
    audit.key_id = created.apiKeyId
    const problem = verifyCreatedKey(created, grant.expiration, sentAt, now()) ?? grantProblem(grant.scopes, created.scopes)
    if (problem) {
      const gone = await this.deps.deepgram.deleteKey(policy.projectId, created.apiKeyId).then(
        () => 'it was deleted',
        () => 'deleting it failed too, so delete it in the Deepgram console',
      )
      throw new Refusal(502, 'deepgram_failed', `Deepgram created key ${created.apiKeyId}, but ${problem}; ${gone}.`)
    }
    const expiresAt = created.expirationDate ?? expectedExpiry(grant.expiration, new Date(sentAt)).toISOString()
    audit.expires_at = expiresAt
    return {
      status: 200,
      body: { key: created.key, key_id: created.apiKeyId, project_id: policy.projectId, expires_at: expiresAt, scopes: created.scopes, tags: created.tags },
    }
  }

  /**
   * POST /v1/tokens: a temporary token, under the same authentication, rules and rate limit as
   * keys. Nothing is created in the project, so there is nothing to mark, check or delete later.
   */
  async grantToken(token: string, body: string, audit: AuditRecord): Promise<Answer> {
    const { policy, limiter, now } = this.deps
    audit.credential = 'token'
    const caller = await this.authenticate(token, audit)
    const rule = selectRule(policy.rules, caller.claims)
    if (!rule) throw forbidden('no_rule', `No rule of the policy matches this token (${describeCaller(caller.claims)}).`)
    audit.rule = rule.name
    const seconds = tokenSecondsFor(rule, body, new Date(now()))
    audit.scopes = [TOKEN_SCOPE]
    const limit = limiter.take(caller.repositoryId)
    if (!limit.allowed) {
      const why = `Repository ${caller.repository} has had ${policy.keysPerMinute} keys and tokens in the last minute (keys-per-minute); try again in ${limit.retryAfterSeconds} s.`
      throw new Refusal(429, 'rate_limited', why, { headers: { 'retry-after': String(limit.retryAfterSeconds) } })
    }
    const answer = await deepgramStep(() => this.deps.deepgram.grantToken(seconds))
    const verdict = checkToken({ accessToken: field(answer.body, 'access_token'), expiresIn: field(answer.body, 'expires_in') }, seconds, answer.sentAt)
    if (!verdict.ok) throw new Refusal(502, 'deepgram_failed', `Deepgram answered HTTP ${answer.status} while granting a temporary token (request id ${answer.requestId ?? 'none'}), but ${verdict.problem}.`)
    const expiresAt = verdict.token.expiresAt.toISOString()
    audit.expires_at = expiresAt
    return { status: 200, body: { access_token: verdict.token.accessToken, expires_at: expiresAt, expires_in: verdict.token.expiresInSeconds } }
  }

  /** DELETE /v1/keys/{key_id}: only a key this broker minted for the caller's repository. */
  async deleteKey(token: string, keyId: string, audit: AuditRecord): Promise<Answer> {
    const caller = await this.authenticate(token, audit)
    audit.key_id = keyId
    if (!KEY_ID.test(keyId)) throw badRequest(`'${keyId.slice(0, 64)}' is not a key id: give the key_id (a UUID) the broker answered when it minted the key.`)
    const { projectId } = this.deps.policy
    const key = await deepgramStep(() => this.deps.deepgram.getKey(projectId, keyId), keyId)
    if (!this.isMintedFor(key, caller)) throw forbidden('not_yours', `Key ${keyId} was not minted by this broker for repository ${caller.repository}.`)
    const outcome = await deepgramStep(() => this.deps.deepgram.deleteKey(projectId, keyId), keyId)
    if (outcome === 'already-gone') throw notFound(keyId)
    audit.deleted = [keyId]
    return { status: 200, body: { deleted: [keyId] } }
  }

  /** DELETE /v1/keys?tags=a,b: every key this broker minted for the caller's repository with all the tags. */
  async deleteKeysTagged(token: string, tagList: string, audit: AuditRecord): Promise<Answer> {
    const caller = await this.authenticate(token, audit)
    const tags = [...new Set(tagList.split(',').map((tag) => tag.trim()).filter((tag) => tag !== ''))]
    if (tags.length === 0 || tags.length > 20 || !tags.every((tag) => TAG.test(tag))) {
      throw badRequest('tags must be 1 to 20 tags separated by commas, each of letters, digits and _.:/@+=-, such as ?tags=ci,pr-42.')
    }
    const { projectId } = this.deps.policy
    const listed = await deepgramStep(() => this.deps.deepgram.listKeys(projectId))
    const deleted: string[] = []
    for (const candidate of listed.filter((key) => this.isMintedFor(key, caller))) {
      // Deepgram's listing may leave tags out; then the key is read alone.
      const key = candidate.tags === undefined ? await deepgramStep(() => this.deps.deepgram.getKey(projectId, candidate.apiKeyId)) : candidate
      if (!tags.every((tag) => (key.tags ?? []).includes(tag))) continue
      if ((await deepgramStep(() => this.deps.deepgram.deleteKey(projectId, key.apiKeyId))) === 'deleted') deleted.push(key.apiKeyId)
    }
    audit.deleted = deleted
    return { status: 200, body: { deleted } }
  }

  private async authenticate(token: string, audit: AuditRecord): Promise<Caller> {
    const claims = await this.deps.verify(token)
    for (const claim of AUDITED_CLAIMS) audit[claim] = claimText(claims, claim)
    const repository = claimText(claims, 'repository')
    const repositoryId = claimText(claims, 'repository_id')
    if (!repository || !repositoryId || !/^\d{1,20}$/.test(repositoryId)) {
      throw new Refusal(401, 'token_invalid', 'The token is not valid: it has no repository and numeric repository_id claims, as GitHub Actions tokens do.')
    }
    return { claims, repository, repositoryId }
  }

  private isMintedFor(key: ProjectKey, caller: Caller): boolean {
    return isBrokerMarkerFor(parseMarker(key.comment), this.deps.markerSecret, caller.repositoryId)
  }
}

function describeCaller(claims: Claims): string {
  return ['repository', 'repository_id', 'ref', 'event_name', 'environment']
    .map((claim) => [claim, claimText(claims, claim)])
    .filter(([, value]) => value !== undefined)
    .map(([claim, value]) => `${claim} ${value}`)
    .join(', ')
}

function notFound(keyId: string): Refusal {
  return new Refusal(404, 'not_found', `Key ${keyId} does not exist or is already deleted.`)
}

/** Runs a Deepgram call; its failure becomes 502 with Deepgram's status and request id (404 of a key: 404). */
async function deepgramStep<T>(call: () => Promise<T>, keyId?: string): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof ServiceError) {
      if (keyId !== undefined && error.status === 404) throw notFound(keyId)
      const { status, message, requestId, action } = error.details
      throw new Refusal(502, 'deepgram_failed', `Deepgram answered HTTP ${status} while ${action}: ${message} (request id ${requestId ?? 'none'}). Try again later; if it persists, check the broker's admin key and project.`, {
        details: { deepgram_status: status, deepgram_request_id: requestId ?? null },
      })
    }
    if (error instanceof NetworkError || error instanceof ActionError) throw new Refusal(502, 'deepgram_failed', `${error.message} Try again later.`)
    throw error
  }
}
