// What the broker does for each request, once the HTTP layer has read it: verify the token, find
// the rule, mint, list or delete keys. Every collaborator is passed in, so this is the same code
// the tests drive and the one `main.ts` wires to the network.
import type { DeepgramClient, ProjectKey } from '../deepgram/client.ts'
import { field } from '../shared/json.ts'
import { checkToken } from '../deepgram/grant.ts'
import { createKeyWithoutOrphans, verifyCreatedKey, type MintDeps } from '../deepgram/mint.ts'
import type { BrokerMarker } from '../deepgram/marker.ts'
import { isUuid } from '../deepgram/ids.ts'
import { extraScopesProblem } from '../deepgram/scopes.ts'
import { expectedExpiry } from '../deepgram/expiration.ts'
import { identify, ruleRefusal, type AuditedClaims, type Caller } from './caller.ts'
import { callDeepgram, keyNotFound } from './deepgram-failures.ts'
import { keyTermsFor, parseKeyRequest, type KeyRequestBody, type KeyTerms } from './key-request.ts'
import { TOKEN_SCOPE, tokenSecondsFor } from './temporary-token-request.ts'
import type { Ownership } from './ownership.ts'
import type { Policy } from './policy/policy.ts'
import type { RateLimitCheck } from './limits/rate-limits.ts'
import type { Budget } from './limits/store.ts'
import { badRequest, forbidden, Refusal } from './refusal.ts'
import { claimText } from './policy/rules.ts'
import type { VerifyOidcToken } from './oidc/verify-token.ts'
import { ownedKeyUsage, parseSince, parseTagQuery, taggedUsage, type UsageDeps } from './usage.ts'

/** What the audit line of a request says, filled in as the request goes. */
export interface AuditRecord extends AuditedClaims {
  rule?: string
  invocation?: string
  key_id?: string
  deleted?: string[]
  scopes?: string[]
  expires_at?: string
  /** Set for temporary tokens (POST /v1/tokens); the token itself is never audited. */
  credential?: 'token'
  /** The keys whose usage was answered (GET /v1/keys/{key_id}/usage, GET /v1/usage). */
  reported?: string[]
  /** `fail_open`: the rate-limit store failed and RATE_LIMIT_FAIL_OPEN admitted the request uncounted. */
  rate_limit?: 'fail_open'
}

export interface Answer {
  status: number
  body: unknown
}

export type DeepgramApi = Pick<
  DeepgramClient,
  'createKeyOnce' | 'listKeys' | 'getKey' | 'deleteKey' | 'grantToken' | 'readProject'
>

/**
 * How long one request's Deepgram work may take, from when its body has been read: every create
 * attempt ends within `createMs`, everything (the clean-up after an ambiguous create, every
 * deletion of a DELETE) within `requestMs`; deleting a key its caller did not wait for takes at
 * most `discardMs` more. The drain on SIGTERM outlasts their sum (main.ts).
 */
export const DEADLINES = { createMs: 12_000, requestMs: 20_000, discardMs: 10_000 }

export interface BrokerDeps {
  policy: Policy
  verify: VerifyOidcToken
  /** A Deepgram client whose every request ends by `deadline` (epoch ms). */
  deepgramUntil: (deadline: number) => DeepgramApi
  mint: Omit<MintDeps, 'client' | 'createBy'>
  /**
   * Per repository: mints and tokens (keys-per-minute), deletions and listings (deletes-per-minute:
   * each costs the admin key a listing).
   */
  limits: RateLimitCheck
  ownership: Ownership
  newInvocation: () => string
  now: () => number
}

/** What GET /v1/keys looks for: the keys of one invocation, or of one secret. */
export type KeyFilter = { invocation: string } | { secret: string }

export class Broker {
  private readonly deps: BrokerDeps

  constructor(deps: BrokerDeps) {
    this.deps = deps
  }

  /** POST /v1/keys */
  async createKey(token: string, body: string, audit: AuditRecord): Promise<Answer> {
    const { policy, now } = this.deps
    const started = now()
    const deepgram = this.deepgram(started)
    const caller = await this.identify(token, audit)
    const request = parseKeyRequest(body)
    const terms = this.keyTerms(caller, request)
    audit.scopes = terms.scopes
    await this.take('keys', caller, audit, `${policy.keysPerMinute} keys in the last minute (keys-per-minute)`)
    const invocation = request.invocation ?? this.deps.newInvocation()
    audit.invocation = invocation
    const marker = this.deps.ownership.markerFor(caller.owner, invocation, request.secret)
    const sentAt = now()
    const mint = { ...this.deps.mint, client: deepgram, createBy: started + DEADLINES.createMs }
    const created = await callDeepgram(() =>
      createKeyWithoutOrphans(
        {
          projectId: policy.projectId,
          comment: terms.comment,
          marker,
          scopes: terms.scopes,
          tags: terms.tags,
          expiration: terms.expiration,
        },
        mint,
      ),
    )
    audit.key_id = created.apiKeyId
    const problem =
      verifyCreatedKey(created, terms.expiration, sentAt, now()) ?? extraScopesProblem(terms.scopes, created.scopes)
    if (problem) {
      const gone = await deepgram.deleteKey(policy.projectId, created.apiKeyId).then(
        () => 'it was deleted',
        () => 'deleting it failed too, so delete it in the Deepgram console',
      )
      throw new Refusal(502, 'deepgram_failed', `Deepgram created key ${created.apiKeyId}, but ${problem}; ${gone}.`)
    }
    const expiresAt = created.expirationDate ?? expectedExpiry(terms.expiration, new Date(sentAt)).toISOString()
    audit.expires_at = expiresAt
    return {
      status: 200,
      body: {
        key: created.key,
        key_id: created.apiKeyId,
        project_id: policy.projectId,
        created: created.created ?? null,
        expires_at: expiresAt,
        scopes: created.scopes,
        tags: created.tags,
        invocation,
      },
    }
  }

  /**
   * POST /v1/tokens: a temporary token, under the same authentication, rules and rate limit as
   * keys. Nothing is created in the project, so there is nothing to mark, check or delete later.
   */
  async grantToken(token: string, body: string, audit: AuditRecord): Promise<Answer> {
    const { policy, now } = this.deps
    audit.credential = 'token'
    const deepgram = this.deepgram(now())
    const caller = await this.identify(token, audit)
    const seconds = this.withClaims(caller, () => tokenSecondsFor(caller.rule, body, new Date(now())))
    audit.scopes = [TOKEN_SCOPE]
    await this.take(
      'keys',
      caller,
      audit,
      `${policy.keysPerMinute} keys and tokens in the last minute (keys-per-minute)`,
    )
    const answer = await callDeepgram(() => deepgram.grantToken(seconds))
    const verdict = checkToken(
      { accessToken: field(answer.body, 'access_token'), expiresIn: field(answer.body, 'expires_in') },
      seconds,
      answer.sentAt,
    )
    if (!verdict.ok)
      throw new Refusal(
        502,
        'deepgram_failed',
        `Deepgram answered HTTP ${answer.status} while granting a temporary token (request id ${answer.requestId ?? 'none'}), but ${verdict.problem}.`,
      )
    const expiresAt = verdict.token.expiresAt.toISOString()
    audit.expires_at = expiresAt
    return {
      status: 200,
      body: {
        access_token: verdict.token.accessToken,
        expires_at: expiresAt,
        expires_in: verdict.token.expiresInSeconds,
      },
    }
  }

  /**
   * A key minted for a caller who left before the answer was written: nobody holds it, so it
   * goes. A failed deletion is reported by the audit line (outcome failed), not thrown.
   */
  async discardUndelivered(keyId: string, audit: AuditRecord): Promise<boolean> {
    const deepgram = this.deps.deepgramUntil(this.deps.now() + DEADLINES.discardMs)
    const deleted = await deepgram.deleteKey(this.deps.policy.projectId, keyId).then(
      () => true,
      () => false,
    )
    if (deleted) audit.deleted = [keyId]
    return deleted
  }

  /** DELETE /v1/keys/{key_id}: only a key this broker minted for the caller's repository. */
  async deleteKey(token: string, keyId: string, audit: AuditRecord): Promise<Answer> {
    const deepgram = this.deepgram(this.deps.now())
    const caller = await this.identifyForCleanUp(token, audit)
    audit.key_id = keyId
    if (!isUuid(keyId))
      throw badRequest(
        `'${keyId.slice(0, 64)}' is not a key id: give the key_id (a UUID) the broker answered when it minted the key.`,
      )
    const { projectId } = this.deps.policy
    const key = await callDeepgram(() => deepgram.getKey(projectId, keyId), keyId)
    if (!this.deps.ownership.markerOwnedBy(key, caller.owner))
      throw forbidden(
        'not_yours',
        `Key ${keyId} was not minted by this broker for repository ${caller.repository} of issuer ${caller.owner.issuer}.`,
      )
    const outcome = await callDeepgram(() => deepgram.deleteKey(projectId, keyId), keyId)
    if (outcome === 'already-gone') throw keyNotFound(keyId)
    audit.deleted = [keyId]
    return { status: 200, body: { deleted: [keyId] } }
  }

  /** DELETE /v1/keys?tags=a,b: every key this broker minted for the caller's repository with all the tags. */
  async deleteKeysTagged(token: string, tagList: string, audit: AuditRecord): Promise<Answer> {
    const deepgram = this.deepgram(this.deps.now())
    const caller = await this.identifyForCleanUp(token, audit)
    const tags = parseTagQuery(tagList)
    const { projectId } = this.deps.policy
    const deleted: string[] = []
    for (const { key: candidate } of await this.keysOf(caller, deepgram)) {
      // Deepgram's listing may leave tags out; then the key is read alone.
      const key =
        candidate.tags === undefined
          ? await callDeepgram(() => deepgram.getKey(projectId, candidate.apiKeyId))
          : candidate
      if (!tags.every((tag) => (key.tags ?? []).includes(tag))) continue
      if ((await callDeepgram(() => deepgram.deleteKey(projectId, key.apiKeyId))) === 'deleted')
        deleted.push(key.apiKeyId)
    }
    audit.deleted = deleted
    return { status: 200, body: { deleted } }
  }

  /** DELETE /v1/keys?invocation=…: every key this broker minted for the caller's repository in that invocation. */
  async deleteKeysOfInvocation(token: string, invocation: string, audit: AuditRecord): Promise<Answer> {
    audit.invocation = invocation
    const deepgram = this.deepgram(this.deps.now())
    const caller = await this.identifyForCleanUp(token, audit)
    const { projectId } = this.deps.policy
    const deleted: string[] = []
    for (const { key } of (await this.keysOf(caller, deepgram)).filter(
      ({ marker }) => marker.invocation === invocation,
    )) {
      if ((await callDeepgram(() => deepgram.deleteKey(projectId, key.apiKeyId))) === 'deleted')
        deleted.push(key.apiKeyId)
    }
    audit.deleted = deleted
    return { status: 200, body: { deleted } }
  }

  /** GET /v1/keys?invocation=… or ?secret=…: the live keys this broker minted for the caller's repository with that marker. */
  async findKeys(token: string, filter: KeyFilter, audit: AuditRecord): Promise<Answer> {
    if ('invocation' in filter) audit.invocation = filter.invocation
    const deepgram = this.deepgram(this.deps.now())
    const caller = await this.identifyForCleanUp(token, audit)
    const now = this.deps.now()
    const keys = (await this.keysOf(caller, deepgram))
      .filter(({ marker }) =>
        'invocation' in filter ? marker.invocation === filter.invocation : marker.secret === filter.secret,
      )
      .filter(({ key }) => key.expirationDate === undefined || !(Date.parse(key.expirationDate) <= now))
      .map(({ key }) => ({
        key_id: key.apiKeyId,
        created: key.created ?? null,
        expires_at: key.expirationDate ?? null,
      }))
    return { status: 200, body: { keys } }
  }

  /**
   * GET /v1/keys/{key_id}/usage: what a key this broker minted for the caller's repository used,
   * under the same rule and limit (deletes-per-minute) as deleting it.
   */
  async keyUsage(token: string, keyId: string, since: string | null, audit: AuditRecord): Promise<Answer> {
    const deepgram = this.deepgram(this.deps.now())
    const caller = await this.identifyForCleanUp(token, audit)
    audit.key_id = keyId
    const from = parseSince(since, this.deps.now())
    const answer = await ownedKeyUsage(this.usageDeps(caller, deepgram), keyId, from)
    audit.reported = [keyId]
    return answer
  }

  /** GET /v1/usage?tags=a,b: what each key this broker minted for the caller's repository with all the tags used. */
  async usageTagged(token: string, tagList: string, since: string | null, audit: AuditRecord): Promise<Answer> {
    const deepgram = this.deepgram(this.deps.now())
    const caller = await this.identifyForCleanUp(token, audit)
    const tags = parseTagQuery(tagList)
    const from = parseSince(since, this.deps.now())
    const owned = (await this.keysOf(caller, deepgram)).map(({ key }) => key)
    const { answer, keyIds } = await taggedUsage(this.usageDeps(caller, deepgram), owned, tags, from)
    audit.reported = keyIds
    return answer
  }

  private usageDeps(caller: Caller, deepgram: DeepgramApi): UsageDeps {
    return {
      deepgram,
      projectId: this.deps.policy.projectId,
      owns: (key) => this.deps.ownership.markerOwnedBy(key, caller.owner) !== undefined,
      now: this.deps.now(),
    }
  }

  /** A client for the Deepgram work of a request that started at `started`: it ends within DEADLINES.requestMs. */
  private deepgram(started: number): DeepgramApi {
    return this.deps.deepgramUntil(started + DEADLINES.requestMs)
  }

  private async identify(token: string, audit: AuditRecord): Promise<Caller> {
    const caller = await identify(this.deps.verify, this.deps.policy.rules, token, audit)
    audit.rule = caller.rule.name
    return caller
  }

  /** A caller who may list or delete: a rule takes them, and they are within deletes-per-minute. */
  private async identifyForCleanUp(token: string, audit: AuditRecord): Promise<Caller> {
    const caller = await this.identify(token, audit)
    await this.take(
      'deletes',
      caller,
      audit,
      `${this.deps.policy.deletesPerMinute} deletions or listings in the last minute (deletes-per-minute)`,
    )
    return caller
  }

  private keyTerms(caller: Caller, request: KeyRequestBody): KeyTerms {
    const holder = {
      repository: caller.repository,
      runId: claimText(caller.claims, 'run_id') ?? '?',
      runAttempt: claimText(caller.claims, 'run_attempt') ?? '?',
    }
    return this.withClaims(caller, () => keyTermsFor(caller.rule, request, holder, new Date(this.deps.now())))
  }

  /** What the rule lets the caller have; a 403 refusal of it shows the caller's claims. */
  private withClaims<T>(caller: Caller, decide: () => T): T {
    try {
      return decide()
    } catch (error) {
      if (error instanceof Refusal && error.status === 403) throw ruleRefusal(error.code, error.message, caller.claims)
      throw error
    }
  }

  private async take(budget: Budget, caller: Caller, audit: AuditRecord, what: string): Promise<void> {
    const { policy } = this.deps
    const perMinute = budget === 'keys' ? policy.keysPerMinute : policy.deletesPerMinute
    // Keyed by issuer too: repository 1001 of one GitHub instance is not that of another.
    const decision = await this.deps.limits.check(
      budget,
      `${caller.owner.issuer} ${caller.owner.repositoryId}`,
      perMinute,
    )
    if (decision.outcome === 'allowed') {
      if (decision.failedOpen) audit.rate_limit = 'fail_open'
      return
    }
    const headers = { 'retry-after': String(decision.retryAfterSeconds) }
    if (decision.outcome === 'refused')
      throw new Refusal(
        429,
        'rate_limited',
        `Repository ${caller.repository} has had ${what}; try again in ${decision.retryAfterSeconds} s.`,
        { headers },
      )
    throw new Refusal(
      503,
      'rate_limit_unavailable',
      `The broker cannot reach its rate-limit store, so it cannot count this request against ${budget === 'keys' ? 'keys-per-minute' : 'deletes-per-minute'}; nothing was done. Try again in ${decision.retryAfterSeconds} s.`,
      { headers },
    )
  }

  /** The project's keys this broker minted for the caller, with their markers: one listing. */
  private async keysOf(caller: Caller, deepgram: DeepgramApi): Promise<{ key: ProjectKey; marker: BrokerMarker }[]> {
    const listed = await callDeepgram(() => deepgram.listKeys(this.deps.policy.projectId))
    return listed.flatMap((key) => {
      const marker = this.deps.ownership.markerOwnedBy(key, caller.owner)
      return marker ? [{ key, marker }] : []
    })
  }
}
