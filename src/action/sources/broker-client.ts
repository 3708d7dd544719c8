import { field, parseJson, stringOf, transientVerdict, type DeleteOutcome } from '../../deepgram/client.ts'
import { ActionError, describeFailure, NetworkError, ServiceError } from '../../shared/errors.ts'
import { TransportError, type HttpResponse, type HttpSend } from '../../shared/http.ts'
import type { ActionIO } from '../io.ts'
import type { BrokerTarget } from './broker-inputs.ts'
import type { MainDeps } from '../run-main.ts'
import type { PostDeps } from '../run-post.ts'
import { parseRetryAfter, withRetry, type RetryClock, type RetryPolicy, type RetryVerdict } from '../../shared/retry.ts'

/** The body of the broker's POST /v1/keys; every field optional, the rule supplies defaults. */
export interface BrokerCreateBody {
  scopes?: string[]
  /** The action's own forms (30m, 1h30m, 3600, an ISO date-time): the broker reads the same. */
  expiration?: string
  tags?: string[]
  comment?: string
}

/** The broker's answer to a create. */
export interface BrokerKey {
  key: string
  keyId: string
  projectId: string
  expiresAt?: string
  scopes: string[]
  tags: string[]
}

export interface BrokerClientOptions {
  /** The broker's base URL, as readBaseUrl gives it (no trailing slash). */
  baseUrl: string
  /** This job's GitHub OIDC token, for the broker's audience. Never logged, never in an error. */
  idToken: string
  send: HttpSend
  clock: RetryClock
  policy: RetryPolicy
  userAgent: string
}

/**
 * The broker's HTTP API (issue 10): create a key, delete one of this repository's keys by id or
 * by tags. Every request carries the job's ID token; errors name the broker's status, code and
 * message, and say what to do, never the token.
 */
export class BrokerClient {
  private readonly options: BrokerClientOptions

  constructor(options: BrokerClientOptions) {
    this.options = options
  }

  /**
   * A create is not idempotent: a request the broker processed but whose answer was lost mints a
   * key we would never learn of, and retrying would mint a second one. So it is retried only when
   * the broker certainly did not process it: no connection was made, or it answered 429 (its
   * per-repository limit, checked before minting) or 503 (no instance to take the request).
   */
  async createKey(body: BrokerCreateBody): Promise<BrokerKey> {
    const action = 'creating the key'
    return withRetry(
      async () => {
        const answer = this.expectOk(await this.send('POST', '/v1/keys', action, JSON.stringify(body)), action)
        return {
          key: stringOf(field(answer, 'key')) ?? '',
          keyId: stringOf(field(answer, 'key_id')) ?? '',
          projectId: stringOf(field(answer, 'project_id')) ?? '',
          expiresAt: stringOf(field(answer, 'expires_at')),
          scopes: stringsOf(field(answer, 'scopes')),
          tags: stringsOf(field(answer, 'tags')),
        }
      },
      certainlyNotProcessed,
      this.options.policy,
      this.options.clock,
    )
  }

  /** Deletes one key this broker minted for this repository; 404 means it is gone already. */
  async deleteKey(keyId: string): Promise<DeleteOutcome> {
    const action = `deleting key ${keyId}`
    return withRetry(
      async () => {
        const response = await this.send('DELETE', `/v1/keys/${encodeURIComponent(keyId)}`, action)
        if (response.status === 404) return 'already-gone'
        this.expectOk(response, action)
        return 'deleted'
      },
      transientVerdict,
      this.options.policy,
      this.options.clock,
    )
  }

  /** Deletes every key this broker minted for this repository that carries all the tags: their ids. */
  async deleteTagged(tags: string[]): Promise<string[]> {
    const action = `deleting the keys tagged ${tags.join(', ')}`
    const query = `tags=${tags.map(encodeURIComponent).join(',')}`
    return withRetry(
      async () => stringsOf(field(this.expectOk(await this.send('DELETE', `/v1/keys?${query}`, action), action), 'deleted')),
      transientVerdict,
      this.options.policy,
      this.options.clock,
    )
  }

  private async send(method: 'POST' | 'DELETE', path: string, action: string, body?: string): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.idToken}`,
      accept: 'application/json',
      'user-agent': this.options.userAgent,
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const url = `${this.options.baseUrl}${path}`
    try {
      return await this.options.send({ method, url, headers, body })
    } catch (error) {
      if (error instanceof TransportError) throw new NetworkError('The broker', action, error.message, error.sent, { host: new URL(url).host, proxy: error.proxy })
      throw error
    }
  }

  private expectOk(response: HttpResponse, action: string): unknown {
    if (response.status >= 200 && response.status < 300) return parseJson(response.body)
    throw brokerError(response, action, this.options.clock.now())
  }
}

function certainlyNotProcessed(error: unknown): RetryVerdict {
  if (error instanceof NetworkError) return error.sent ? { retry: false } : { retry: true }
  if (error instanceof ServiceError && (error.status === 429 || error.status === 503)) return transientVerdict(error)
  return { retry: false }
}

/** A refusal, from the broker's `{error, message}` body (or whatever a proxy in front said). */
export function brokerError(response: HttpResponse, action: string, now: number): ServiceError {
  const body = parseJson(response.body)
  const code = stringOf(field(body, 'error'))
  const text = response.body.replace(/\s+/g, ' ').trim().slice(0, 300)
  const message = stringOf(field(body, 'message')) ?? (text || 'no message')
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now)
  return new ServiceError({
    service: 'The broker',
    action,
    status: response.status,
    code,
    message: message.replace(/\s+/g, ' ').trim(),
    requestId: response.headers['x-request-id'],
    hint: brokerHint(response.status, action),
    retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
  })
}

function brokerHint(status: number, action: string): string {
  const deleting = action.startsWith('deleting')
  switch (status) {
    case 400:
      return 'Check scopes, expiration, tags and comment: the broker could not read them.'
    case 401:
      return "The broker did not accept this job's ID token: broker-audience must be the audience of the broker's policy, and the broker must trust GitHub's issuer."
    case 403:
      return deleting
        ? 'The broker deletes only keys it minted for this repository.'
        : "Ask fewer scopes or a shorter expiration than the matching rule allows, or ask the broker's operators for a rule matching this repository, ref and workflow."
    case 413:
      return 'Shorten comment and tags: the broker reads at most 16 KiB.'
    case 429:
      return 'The broker limits keys per repository and minute; run the job again in a minute.'
    case 502:
      return 'Deepgram failed behind the broker; run the job again later.'
    default:
      return status >= 500 ? "The broker had a problem; run the job again later, or tell the broker's operators." : "Tell the broker's operators."
  }
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

/**
 * @actions/core retries the runner's token service up to 10 times with no deadline of its own;
 * the service is the runner's own, so an answer that takes longer is not coming.
 */
const ID_TOKEN_DEADLINE_MS = 10_000

/** A fresh ID token for the audience, within a deadline; undefined when the job may have none. */
export async function fetchIdToken(io: ActionIO, audience: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new ActionError(`Getting this job's ID token from the runner took over ${ID_TOKEN_DEADLINE_MS / 1000} s. Run the job again.`)), ID_TOKEN_DEADLINE_MS)
  })
  try {
    return await Promise.race([io.getIDToken(audience), deadline])
  } catch (error) {
    if (error instanceof ActionError) throw error
    const why = describeFailure(error).replace(/\s+/g, ' ').replace(/[\s.]*$/, '.')
    throw new ActionError(`Getting this job's ID token from the runner failed: ${why} Run the job again.`)
  } finally {
    clearTimeout(timer)
  }
}

export function brokerClient(broker: BrokerTarget, idToken: string, deps: MainDeps | PostDeps, policy: RetryPolicy): BrokerClient {
  return new BrokerClient({ baseUrl: broker.url, idToken, send: deps.send, clock: deps.clock, policy, userAgent: deps.userAgent })
}
