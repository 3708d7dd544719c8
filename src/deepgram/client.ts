import type { Attempt } from '../shared/attempt.ts'
import { ActionError, ServiceError, type UnusableAnswerError } from '../shared/errors.ts'
import type { HttpResponse } from '../shared/http.ts'
import { field, parseJson, stringOf, stringsOf } from '../shared/json.ts'
import { JsonService, retryAfterSecondsOf, type JsonServiceLink } from '../shared/json-service.ts'
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

export interface DeepgramClientOptions extends JsonServiceLink {
  /** The admin key. Never logged, never in an error. */
  apiKey: string
}

/**
 * Deepgram's key management endpoints. Reads and deletes are retried on transient failures;
 * `createKeyOnce` is not, because a create is not idempotent (see mint.ts for how it is retried).
 */
export class DeepgramClient {
  private readonly service: JsonService

  constructor(options: DeepgramClientOptions) {
    const { apiKey, ...link } = options
    this.service = new JsonService(link, {
      service: 'Deepgram',
      urlInput: 'deepgram-api-url',
      authorization: `Token ${apiKey}`,
      cancelledMessage,
      requestIdOf,
      refusal: deepgramError,
    })
  }

  /** Epoch ms by which every request of this client has ended; Infinity without a deadline. */
  get deadline(): number {
    return this.service.deadline
  }

  async listProjects(): Promise<Project[]> {
    const request = { method: 'GET', path: '/v1/projects', action: 'listing the projects of api-key' } as const
    return this.service.retried(request, (answer) =>
      answer.list('projects').map((p) => ({
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
    const path = keysPath(projectId)
    const answer = await this.service.once({ method: 'POST', path, action: 'creating the key', body: request }, attempt)
    const body = answer.object()
    const key = stringOf(field(body, 'key'))
    const apiKeyId = stringOf(field(body, 'api_key_id'))
    if (key === undefined) throw answer.unusable('the answer carries no key')
    if (apiKeyId === undefined) throw answer.unusable('the answer carries no api_key_id')
    if (!isUuid(apiKeyId)) throw answer.unusable('its api_key_id is not a UUID')
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
    const request = { method: 'GET', path: keysPath(projectId), action: 'listing the project keys' } as const
    return this.service.retried(request, (answer) =>
      answer.list('api_keys').map((item) => toProjectKey(field(item, 'api_key'))),
    )
  }

  /** One key; accepts both the flat `{api_key}` and the `{item: {member: {api_key}}}` shapes. */
  async getKey(projectId: string, keyId: string): Promise<ProjectKey> {
    const request = { method: 'GET', path: keyPath(projectId, keyId), action: `reading key ${keyId}` } as const
    return this.service.retried(request, ({ body }) => {
      const nested = field(field(field(body, 'item'), 'member'), 'api_key')
      return toProjectKey(nested ?? field(body, 'api_key'))
    })
  }

  /**
   * Deletes a key; 404 means it is gone already, which is what we wanted. A 2xx whose body reports
   * an error is a failure: only Deepgram's word that it deleted the key counts.
   */
  async deleteKey(projectId: string, keyId: string): Promise<DeleteOutcome> {
    const request = { method: 'DELETE', path: keyPath(projectId, keyId), action: `deleting key ${keyId}` } as const
    return this.service.retried(
      request,
      (answer): DeleteOutcome => {
        if (reportsError(answer.body)) throw answer.refused()
        return 'deleted'
      },
      () => 'already-gone',
    )
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
    return this.service.retried({ method: 'GET', path: target, action }, (answer) => read(answer.body, answer.unusable))
  }

  /**
   * POST /v1/auth/grant: a temporary token. Nothing is created, so a failed or unanswered grant is
   * retried like a read. The answer is returned as sent, with when its attempt was sent: grant.ts
   * checks it.
   */
  async grantToken(ttlSeconds: number): Promise<GrantAnswer> {
    const request = {
      method: 'POST',
      path: '/v1/auth/grant',
      action: 'granting a temporary token',
      body: { ttl_seconds: ttlSeconds },
    } as const
    return this.service.retried(request, ({ body, sentAt, status, requestId }) => ({ body, sentAt, status, requestId }))
  }
}

function cancelledMessage(action: string): string {
  return `The job was cancelled while ${action}. The post step deletes any key this run created.`
}

/** Deepgram's error bodies carry one of these; its success bodies (`{message}`) never do. */
function reportsError(body: unknown): boolean {
  return ['err_code', 'error_code', 'err_msg', 'category', 'error'].some((name) => field(body, name) !== undefined)
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
  const requestId = requestIdOf(response.headers, body)
  return new ServiceError({
    service: 'Deepgram',
    action,
    status: response.status,
    code,
    message: message.replace(/\s+/g, ' ').trim(),
    requestId,
    hint: deepgramHint(response.status, code),
    retryAfterSeconds: retryAfterSecondsOf(response, now),
  })
}

/** Deepgram's request id: in the body, else `dg-request-id`, else `x-request-id` (some gateways). */
function requestIdOf(headers: HttpResponse['headers'], body: unknown): string | undefined {
  return stringOf(field(body, 'request_id')) ?? headers['dg-request-id'] ?? headers['x-request-id']
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
