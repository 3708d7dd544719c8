import type { DeleteOutcome, GrantAnswer } from '../../deepgram/client.ts'
import { GRANT_CANCELLED } from '../../deepgram/grant.ts'
import { isUuid } from '../../deepgram/ids.ts'
import { usageFromJson, type KeyUsage } from '../../deepgram/usage.ts'
import type { KnownKey, MintedKey } from '../flow/key-source.ts'
import type { Attempt } from '../../shared/attempt.ts'
import { ServiceError } from '../../shared/errors.ts'
import type { HttpResponse } from '../../shared/http.ts'
import { field, parseJson, stringOf, stringsOf } from '../../shared/json.ts'
import { REFUSAL_CLAIMS } from '../../shared/refusal-claims.ts'
import { JsonService, retryAfterSecondsOf, type JsonAnswer, type JsonServiceLink } from '../../shared/json-service.ts'

/** The body of the broker's POST /v1/keys; the rule supplies what is left out. */
export interface BrokerCreateBody {
  scopes: string[]
  /** Seconds to live, or an ISO 8601 date-time. */
  expiration: number | string
  tags?: string[]
  comment?: string
  /** This invocation's id: the broker puts it in the key's marker, so the key can be found without its answer. */
  invocation: string
  /** The digest of the secret the key is written to: rotation lists the secret's keys by it. */
  secret?: string
}

/** The broker's answer to a create, its ids checked. */
export interface BrokerClientOptions extends JsonServiceLink {
  /** This job's GitHub OIDC token, for the broker's audience. Never logged, never in an error. */
  idToken: string
  /** Epoch ms after which no request of this client may still run: the step's own bound. */
  deadline: number
}

/**
 * The broker's HTTP API (docs/broker.md): create a key, list or delete this repository's keys by
 * invocation, by secret, by id or by tags. Every request carries the job's ID token; errors name
 * the broker's status, code, message and the claims it matched, and say what to do, never the token.
 */
export class BrokerClient {
  private readonly service: JsonService

  constructor(options: BrokerClientOptions) {
    const { idToken, ...link } = options
    this.service = new JsonService(link, {
      service: 'The broker',
      urlInput: 'broker-url',
      authorization: `Bearer ${idToken}`,
      cancelledMessage,
      requestIdOf: (headers) => headers['x-request-id'],
      refusal: brokerError,
    })
  }

  /**
   * One create, not retried here: a create is not idempotent (mintWithoutOrphans retries it, and
   * deletes this invocation's keys after an answer that may hide one). A 2xx answer that is not a
   * key (not JSON, no key, ids that are not UUIDs, too large) is an UnusableAnswerError.
   */
  async createOnce(body: BrokerCreateBody, attempt: Attempt): Promise<MintedKey> {
    const answer = await this.service.once(
      { method: 'POST', path: '/v1/keys', action: 'creating the key', body },
      attempt,
    )
    const created = answer.object()
    const key = stringOf(field(created, 'key'))
    const keyId = stringOf(field(created, 'key_id'))
    const projectId = stringOf(field(created, 'project_id'))
    if (key === undefined) throw answer.unusable('the answer carries no key')
    if (keyId === undefined || !isUuid(keyId)) throw answer.unusable('its key_id is not a UUID')
    if (projectId === undefined || !isUuid(projectId)) throw answer.unusable('its project_id is not a UUID')
    return {
      key,
      apiKeyId: keyId.toLowerCase(),
      projectId: projectId.toLowerCase(),
      expirationDate: stringOf(field(created, 'expires_at')),
      created: stringOf(field(created, 'created')),
      scopes: stringsOf(field(created, 'scopes')) ?? [],
      tags: stringsOf(field(created, 'tags')) ?? [],
    }
  }

  /**
   * A temporary token (POST /v1/tokens). A token leaves nothing behind, so it is retried like a
   * read. The answer is returned unchecked (checkToken), with when its attempt was sent.
   */
  async grantToken(expiration: string): Promise<GrantAnswer> {
    const request = { method: 'POST', path: '/v1/tokens', action: GRANTING, body: { expiration } } as const
    return this.service.retried(request, ({ body, sentAt, status, requestId }) => ({ body, sentAt, status, requestId }))
  }

  /** Deletes every key the broker minted for this repository with this invocation: their ids. */
  async deleteInvocation(invocation: string): Promise<string[]> {
    const action = "deleting this run's keys"
    return this.service.retried({ method: 'DELETE', path: `/v1/keys?invocation=${invocation}`, action }, deletedIds)
  }

  /** The live keys the broker minted for this repository and this secret. */
  async keysOfSecret(digest: string): Promise<KnownKey[]> {
    const action = "listing the secret's earlier keys"
    return this.service.retried({ method: 'GET', path: `/v1/keys?secret=${digest}`, action }, (answer) =>
      answer.list('keys').flatMap((item): KnownKey[] => {
        const id = stringOf(field(item, 'key_id'))
        // An id that is not a UUID is never sent back: the key is left to expire.
        if (id === undefined || !isUuid(id)) return []
        return [
          {
            apiKeyId: id.toLowerCase(),
            created: stringOf(field(item, 'created')),
            expirationDate: stringOf(field(item, 'expires_at')),
          },
        ]
      }),
    )
  }

  /** Deletes one key this broker minted for this repository; 404 means the broker does not know it (any more). */
  async deleteKey(keyId: string): Promise<DeleteOutcome> {
    const request = {
      method: 'DELETE',
      path: `/v1/keys/${encodeURIComponent(keyId)}`,
      action: `deleting key ${keyId}`,
    } as const
    return this.service.retried(
      request,
      (answer): DeleteOutcome => {
        // Only the broker's word that it deleted this key counts.
        if (deletedIds(answer).includes(keyId.toLowerCase())) return 'deleted'
        throw answer.unusable('the answer does not say the key was deleted, so it may still exist')
      },
      () => 'already-gone',
    )
  }

  /** Deletes every key this broker minted for this repository that carries all the tags: their ids. */
  async deleteTagged(tags: string[]): Promise<string[]> {
    const action = `deleting the keys tagged ${tags.join(', ')}`
    return this.service.retried({ method: 'DELETE', path: `/v1/keys?tags=${tagQuery(tags)}`, action }, deletedIds)
  }

  /**
   * What a key the broker minted for this repository used, from `since` (else the key's creation);
   * undefined when the broker does not know the key or says it is not this repository's.
   */
  async usageOfKey(keyId: string, since?: Date): Promise<KeyUsage | undefined> {
    const action = `reading the usage of key ${keyId}`
    const query = since === undefined ? '' : `?since=${encodeURIComponent(since.toISOString())}`
    const path = `/v1/keys/${encodeURIComponent(keyId)}/usage${query}`
    try {
      const keys = await this.service.retried({ method: 'GET', path, action }, usageList)
      return keys.find((usage) => usage.keyId === keyId.toLowerCase())
    } catch (error) {
      if (error instanceof ServiceError && (error.status === 404 || error.details.code === 'not_yours'))
        return undefined
      throw error
    }
  }

  /** What each key the broker minted for this repository with all the tags used. */
  async usageTagged(tags: string[], since?: Date): Promise<KeyUsage[]> {
    const action = `reading the usage of the keys tagged ${tags.join(', ')}`
    const query = `?tags=${tagQuery(tags)}${since === undefined ? '' : `&since=${encodeURIComponent(since.toISOString())}`}`
    return this.service.retried({ method: 'GET', path: `/v1/usage${query}`, action }, usageList)
  }
}

function tagQuery(tags: string[]): string {
  return tags.map(encodeURIComponent).join(',')
}

const GRANTING = 'granting a temporary token'

function cancelledMessage(action: string): string {
  if (action === GRANTING) return GRANT_CANCELLED
  return `The job was cancelled while ${action}. The post step asks the broker to delete any key this run created.`
}

/** A refusal, from the broker's `{error, message, claims}` body (or whatever a proxy in front said). */
export function brokerError(response: HttpResponse, action: string, now: number): ServiceError {
  const body = parseJson(response.body)
  const code = stringOf(field(body, 'error'))
  const text = response.body.replace(/\s+/g, ' ').trim().slice(0, 300)
  const message = (stringOf(field(body, 'message')) ?? (text || 'no message')).replace(/\s+/g, ' ').trim()
  return new ServiceError({
    service: 'The broker',
    action,
    status: response.status,
    code,
    message: withClaims(message, field(body, 'claims')),
    requestId: response.headers['x-request-id'],
    hint: brokerHint(response.status, action, code),
    retryAfterSeconds: retryAfterSecondsOf(response, now),
  })
}

/** The message, and the claims the broker matched when its message does not name them already. */
function withClaims(message: string, claims: unknown): string {
  const shown = REFUSAL_CLAIMS.flatMap((name) => {
    const value = stringOf(field(claims, name))
    return value === undefined ? [] : [`${name} ${value.slice(0, 200)}`]
  })
  // The broker names them in its message too; a proxy or an older broker may not.
  if (shown.length === 0 || message.includes("token's claims")) return message
  return `${message.replace(/[\s.]*$/, '')}. Claims matched: ${shown.join(', ')}`
}

function brokerHint(status: number, action: string, code: string | undefined): string {
  if (action === GRANTING) return grantHint(status, code)
  const deleting = action.startsWith('deleting') || action.startsWith('listing')
  switch (status) {
    case 400:
      return 'Check scopes, expiration, tags and comment: the broker could not read them.'
    case 401:
      return "The broker did not accept this job's ID token: broker-audience must be the audience of the broker's policy, and the broker must trust GitHub's issuer."
    case 403:
      return deleting
        ? "The broker deletes only keys it minted for this repository, for a token one of its rules matches: compare the claims above with the broker's policy."
        : "Ask fewer scopes or a shorter expiration than the matching rule allows, or ask the broker's operators for a rule matching the claims above."
    case 413:
      return 'Shorten comment and tags: the broker reads at most 16 KiB.'
    case 429:
      return 'The broker limits requests per repository and minute; run the job again in a minute.'
    case 502:
      return 'Deepgram failed behind the broker; run the job again later.'
    default:
      return status >= 500
        ? "The broker had a problem; run the job again later, or tell the broker's operators."
        : "Tell the broker's operators."
  }
}

/** What to do about a refused grant: the rule's scopes and lifetime decide, as for keys. */
function grantHint(status: number, code: string | undefined): string {
  if (code === 'scope_not_allowed')
    return "The rule matching this job does not grant usage:write, so it allows no tokens: ask the broker's operators for one that does, or use credential: key."
  if (code === 'lifetime_not_allowed') return "Give a shorter expiration: at most the matching rule's max-expiration."
  if (status === 400) return 'Check expiration: a token lives 1 s to 1 h.'
  if (status === 404 || status === 405)
    return 'This broker grants no tokens (it has no POST /v1/tokens): ask its operators to update it, or use credential: key.'
  if (status === 429)
    return 'The broker limits keys and tokens per repository and minute; run the job again in a minute.'
  return brokerHint(status, 'granting', code)
}

/** The broker's `{keys: [usage…]}`, every entry checked; a key id that is not a UUID is left out. */
function usageList(answer: JsonAnswer): KeyUsage[] {
  return answer.list('keys').flatMap((item) => {
    const usage = usageFromJson(item)
    if (typeof usage === 'string') throw answer.unusable(usage)
    return isUuid(usage.keyId) ? [{ ...usage, keyId: usage.keyId.toLowerCase() }] : []
  })
}

/** The key ids the broker reported deleted; one that is not a UUID is left out (nothing is sent with it). */
function deletedIds(answer: JsonAnswer): string[] {
  return (stringsOf(field(answer.body, 'deleted')) ?? []).filter(isUuid).map((id) => id.toLowerCase())
}
