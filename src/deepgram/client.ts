import { ActionError, NetworkError, ServiceError, UnusableAnswerError } from '../shared/errors.ts'
import type { HttpResponse, HttpSend } from '../shared/http.ts'
import { sendAttempt, type Attempt } from '../shared/attempt.ts'
import {
  endingBy,
  parseRetryAfter,
  withRetry,
  type RetryClock,
  type RetryPolicy,
  type RetryVerdict,
} from '../shared/retry.ts'
import { isUuid } from './ids.ts'

/** The body of POST /v1/projects/{id}/keys, as Deepgram's description names its fields. */
export interface CreateKeyBody {
  comment: string
  scopes: string[]
  tags?: string[]
  time_to_live_in_seconds?: number
  expiration_date?: string
}

export interface CreatedKey {
  apiKeyId: string
  key: string
  scopes: string[]
  tags: string[]
  expirationDate?: string
  created?: string
}

export interface ProjectKey {
  apiKeyId: string
  comment: string
  scopes: string[]
  /** Absent when the listing does not carry tags (Deepgram's current description omits them). */
  tags?: string[]
  expirationDate?: string
  created?: string
}

export interface Project {
  projectId: string
  name: string
}

/** A grant's 2xx answer, unchecked: the body may hold anything, the token included. */
export interface GrantAnswer {
  body: unknown
  /** When the attempt that got this answer was sent (epoch ms): the token lives at least until then plus its lifetime. */
  sentAt: number
  status: number
  requestId?: string
}

export type DeleteOutcome = 'deleted' | 'already-gone'

export interface DeepgramClientOptions {
  baseUrl: string
  apiKey: string
  send: HttpSend
  clock: RetryClock
  policy: RetryPolicy
  userAgent: string
  /** Epoch ms after which no request of this client may still run: the step's own bound. */
  deadline?: number
  /** Aborts every request at once when the job is cancelled. */
  cancelled?: AbortSignal
}

/**
 * Deepgram's key management endpoints. Reads and deletes are retried on transient failures;
 * `createKeyOnce` is not, because a create is not idempotent (see mint.ts for how it is retried).
 */
export class DeepgramClient {
  private readonly options: DeepgramClientOptions

  constructor(options: DeepgramClientOptions) {
    this.options = options
  }

  /** Epoch ms by which every request of this client has ended; Infinity without a deadline. */
  get deadline(): number {
    return this.options.deadline ?? Infinity
  }

  async listProjects(): Promise<Project[]> {
    const action = 'listing the projects of api-key'
    return this.retried('GET', '/v1/projects', action, (response, body) =>
      requiredArray(body, 'projects', response, action).map((p) => ({
        projectId: stringOf(field(p, 'project_id')) ?? '',
        name: stringOf(field(p, 'name')) ?? '',
      })),
    )
  }

  /**
   * One create, not retried here (see mint.ts). A 2xx answer that is not a key (not JSON, no
   * `key`, an `api_key_id` that is no UUID, too large) is an UnusableAnswerError: the key may exist.
   */
  async createKeyOnce(
    projectId: string,
    request: CreateKeyBody,
    attempt: Attempt = { n: 1, remainingMs: Infinity },
  ): Promise<CreatedKey> {
    const action = 'creating the key'
    const response = await this.send('POST', keysPath(projectId), action, attempt, JSON.stringify(request))
    const body = this.expectOk(response, action)
    const unusable = (problem: string) =>
      new UnusableAnswerError('Deepgram', action, response.status, problem, requestIdOf(response, body))
    if (typeof body !== 'object' || body === null) throw unusable('the answer is not a JSON object')
    const key = stringOf(field(body, 'key'))
    const apiKeyId = stringOf(field(body, 'api_key_id'))
    if (key === undefined) throw unusable('the answer carries no key')
    if (apiKeyId === undefined) throw unusable('the answer carries no api_key_id')
    if (!isUuid(apiKeyId)) throw unusable('its api_key_id is not a UUID')
    return {
      apiKeyId: apiKeyId.toLowerCase(),
      key,
      scopes: stringsOf(field(body, 'scopes')) ?? [],
      tags: stringsOf(field(body, 'tags')) ?? [],
      expirationDate: stringOf(field(body, 'expiration_date')),
      created: stringOf(field(body, 'created')),
    }
  }

  async listKeys(projectId: string): Promise<ProjectKey[]> {
    const action = 'listing the project keys'
    return this.retried('GET', keysPath(projectId), action, (response, body) =>
      requiredArray(body, 'api_keys', response, action).map((item) => toProjectKey(field(item, 'api_key'))),
    )
  }

  /** One key; accepts both the flat `{api_key}` and the `{item: {member: {api_key}}}` shapes. */
  async getKey(projectId: string, keyId: string): Promise<ProjectKey> {
    return this.retried('GET', keyPath(projectId, keyId), `reading key ${keyId}`, (_, body) => {
      const nested = field(field(field(body, 'item'), 'member'), 'api_key')
      return toProjectKey(nested ?? field(body, 'api_key'))
    })
  }

  /**
   * Deletes a key; 404 means it is gone already, which is what we wanted. A 2xx whose body reports
   * an error is a failure: only Deepgram's word that it deleted the key counts.
   */
  async deleteKey(projectId: string, keyId: string): Promise<DeleteOutcome> {
    return this.retried('DELETE', keyPath(projectId, keyId), `deleting key ${keyId}`, (response) => {
      if (response.status === 404) return 'already-gone'
      return 'deleted'
    })
  }

  /**
   * A read under the project (usage, billing, the request log), retried like every read. `read`
   * checks the answer's shape, throwing what `unusable` makes for one it cannot use.
   */
  async readProject<T>(
    projectId: string,
    path: string,
    query: Record<string, string>,
    action: string,
    read: (body: unknown, unusable: (problem: string) => UnusableAnswerError) => T,
  ): Promise<T> {
    const search = new URLSearchParams(query).toString()
    const target = `${projectPath(projectId)}/${path}${search === '' ? '' : `?${search}`}`
    return this.retried('GET', target, action, (response, body) =>
      read(
        body,
        (problem) => new UnusableAnswerError('Deepgram', action, response.status, problem, requestIdOf(response, body)),
      ),
    )
  }

  /**
   * POST /v1/auth/grant: a temporary token. Nothing is created, so a failed or unanswered grant is
   * retried like a read. The answer is returned as sent, with when its attempt was sent: grant.ts
   * checks it.
   */
  async grantToken(ttlSeconds: number): Promise<GrantAnswer> {
    const action = 'granting a temporary token'
    const { policy, clock, deadline } = this.options
    return withRetry(
      async (n, remainingMs) => {
        const sentAt = clock.now()
        const response = await this.send(
          'POST',
          '/v1/auth/grant',
          action,
          { n, remainingMs },
          JSON.stringify({ ttl_seconds: ttlSeconds }),
        )
        const body = this.expectOk(response, action)
        return { body, sentAt, status: response.status, requestId: requestIdOf(response, body) }
      },
      transientVerdict,
      endingBy(policy, deadline, clock.now()),
      clock,
    )
  }

  private async retried<T>(
    method: 'GET' | 'DELETE',
    path: string,
    action: string,
    read: (response: HttpResponse, body: unknown) => T,
  ): Promise<T> {
    const { policy, clock, deadline } = this.options
    return withRetry(
      async (n, remainingMs) => {
        const response = await this.send(method, path, action, { n, remainingMs })
        if (method === 'DELETE' && response.status === 404) return read(response, undefined)
        const body = this.expectOk(response, action)
        if (method === 'DELETE' && reportsError(body)) throw deepgramError(response, action, clock.now())
        return read(response, body)
      },
      transientVerdict,
      endingBy(policy, deadline, clock.now()),
      clock,
    )
  }

  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    action: string,
    attempt: Attempt,
    body?: string,
  ): Promise<HttpResponse> {
    const { baseUrl, apiKey, userAgent, cancelled, deadline, clock, send } = this.options
    const headers: Record<string, string> = {
      authorization: `Token ${apiKey}`,
      accept: 'application/json',
      'user-agent': userAgent,
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const link = {
      service: 'Deepgram' as const,
      urlInput: 'deepgram-api-url',
      send,
      now: clock.now,
      deadline,
      cancelled,
      cancelledMessage,
      requestIdOf: (h: Record<string, string | undefined>) =>
        requestIdOf({ status: 0, headers: h, body: '' }, undefined),
    }
    return sendAttempt(link, { method, url: `${baseUrl}${path}`, headers, body }, action, attempt)
  }

  private expectOk(response: HttpResponse, action: string): unknown {
    if (response.status >= 200 && response.status < 300) return parseJson(response.body)
    throw deepgramError(response, action, this.options.clock.now())
  }
}

function cancelledMessage(action: string): string {
  return `The job was cancelled while ${action}. The post step deletes any key this run created.`
}

/** Deepgram's error bodies carry one of these; its success bodies (`{message}`) never do. */
function reportsError(body: unknown): boolean {
  return ['err_code', 'error_code', 'err_msg', 'category', 'error'].some((name) => field(body, name) !== undefined)
}

function requiredArray(body: unknown, name: string, response: HttpResponse, action: string): unknown[] {
  const value = field(body, name)
  if (Array.isArray(value)) return value
  throw new UnusableAnswerError(
    'Deepgram',
    action,
    response.status,
    `the answer has no ${name} list`,
    requestIdOf(response, body),
  )
}

/** Ids go into a path only when they are UUIDs: anything else is a bug or a hostile answer. */
function projectPath(projectId: string): string {
  if (!isUuid(projectId))
    throw new ActionError('A project id that is not a UUID was about to be sent to Deepgram; no request was made.')
  return `/v1/projects/${projectId}`
}

function keysPath(projectId: string): string {
  return `${projectPath(projectId)}/keys`
}

function keyPath(projectId: string, keyId: string): string {
  if (!isUuid(keyId))
    throw new ActionError('A key id that is not a UUID was about to be sent to Deepgram; no request was made.')
  return `${keysPath(projectId)}/${keyId}`
}

/** Retry what may pass: no answer at all, 408, 429 and 5xx. */
export function transientVerdict(error: unknown): RetryVerdict {
  if (error instanceof NetworkError) return { retry: true }
  if (error instanceof ServiceError && isTransientStatus(error.status)) {
    const after = error.details.retryAfterSeconds
    return after === undefined ? { retry: true } : { retry: true, retryAfterMs: after * 1000 }
  }
  return { retry: false }
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * Turns a refusal into a ServiceError. Deepgram answers in three styles: legacy
 * `{err_code, err_msg}`, modern `{category, message, details}`, and plain text.
 */
export function deepgramError(response: HttpResponse, action: string, now: number): ServiceError {
  const body = parseJson(response.body)
  const code =
    stringOf(field(body, 'err_code')) ?? stringOf(field(body, 'error_code')) ?? stringOf(field(body, 'category'))
  const modern = [stringOf(field(body, 'message')), stringOf(field(body, 'details'))].filter(Boolean).join(' ')
  const text = response.body.trim().slice(0, 300)
  const message =
    stringOf(field(body, 'err_msg')) ??
    (modern || undefined) ??
    stringOf(field(body, 'reason')) ??
    (typeof body === 'string' ? body : undefined) ??
    (text || 'no message')
  const requestId = requestIdOf(response, body)
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now)
  return new ServiceError({
    service: 'Deepgram',
    action,
    status: response.status,
    code,
    message: message.replace(/\s+/g, ' ').trim(),
    requestId,
    hint: deepgramHint(response.status, code),
    retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
  })
}

/** Deepgram's request id: in the body, else `dg-request-id`, else `x-request-id` (some gateways). */
function requestIdOf(response: HttpResponse, body: unknown): string | undefined {
  return stringOf(field(body, 'request_id')) ?? response.headers['dg-request-id'] ?? response.headers['x-request-id']
}

function deepgramHint(status: number, code: string | undefined): string | undefined {
  if (status >= 200 && status < 300)
    return 'Deepgram did not confirm the deletion, so the key may still exist: check it in the Deepgram console.'
  const upper = (code ?? '').toUpperCase()
  if (upper.includes('PERMISSION') || upper === 'FORBIDDEN' || status === 403) {
    return 'The api-key needs keys:write in this project (the member, admin and owner roles have it).'
  }
  if (status === 401) return 'Check the api-key input: Deepgram does not accept it.'
  if (status === 404) return 'Check the project-id input: the project does not exist or api-key does not belong to it.'
  if (status === 429) return 'Deepgram is limiting requests; run the job again later.'
  if (status >= 500) return 'Deepgram had a problem; run the job again later.'
  return undefined
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function stringsOf(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined
}

function toProjectKey(value: unknown): ProjectKey {
  return {
    apiKeyId: stringOf(field(value, 'api_key_id')) ?? '',
    comment: stringOf(field(value, 'comment')) ?? '',
    scopes: stringsOf(field(value, 'scopes')) ?? [],
    tags: stringsOf(field(value, 'tags')),
    expirationDate: stringOf(field(value, 'expiration_date')),
    created: stringOf(field(value, 'created')),
  }
}
