import { NetworkError, ServiceError } from '../shared/errors.ts'
import { TransportError, type HttpResponse, type HttpSend } from '../shared/http.ts'
import { parseRetryAfter, withRetry, type RetryClock, type RetryPolicy, type RetryVerdict } from '../shared/retry.ts'

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

export type DeleteOutcome = 'deleted' | 'already-gone'

export interface DeepgramClientOptions {
  baseUrl: string
  apiKey: string
  send: HttpSend
  clock: RetryClock
  policy: RetryPolicy
  userAgent: string
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

  async listProjects(): Promise<Project[]> {
    const body = await this.retried('GET', '/v1/projects', 'listing the projects of api-key')
    return arrayOf(field(body, 'projects')).map((p) => ({
      projectId: stringOf(field(p, 'project_id')) ?? '',
      name: stringOf(field(p, 'name')) ?? '',
    }))
  }

  async createKeyOnce(projectId: string, request: CreateKeyBody): Promise<CreatedKey> {
    const response = await this.send('POST', keysPath(projectId), 'creating the key', JSON.stringify(request))
    const body = this.expectOk(response, 'creating the key')
    return {
      apiKeyId: stringOf(field(body, 'api_key_id')) ?? '',
      key: stringOf(field(body, 'key')) ?? '',
      scopes: stringsOf(field(body, 'scopes')) ?? [],
      tags: stringsOf(field(body, 'tags')) ?? [],
      expirationDate: stringOf(field(body, 'expiration_date')),
      created: stringOf(field(body, 'created')),
    }
  }

  async listKeys(projectId: string): Promise<ProjectKey[]> {
    const body = await this.retried('GET', keysPath(projectId), 'listing the project keys')
    return arrayOf(field(body, 'api_keys')).map((item) => toProjectKey(field(item, 'api_key')))
  }

  /** One key; accepts both the flat `{api_key}` and the `{item: {member: {api_key}}}` shapes. */
  async getKey(projectId: string, keyId: string): Promise<ProjectKey> {
    const body = await this.retried('GET', `${keysPath(projectId)}/${encodeURIComponent(keyId)}`, `reading key ${keyId}`)
    const nested = field(field(field(body, 'item'), 'member'), 'api_key')
    return toProjectKey(nested ?? field(body, 'api_key'))
  }

  /** Deletes a key; 404 means it is gone already, which is what we wanted. */
  async deleteKey(projectId: string, keyId: string): Promise<DeleteOutcome> {
    const action = `deleting key ${keyId}`
    const path = `${keysPath(projectId)}/${encodeURIComponent(keyId)}`
    return withRetry(
      async () => {
        const response = await this.send('DELETE', path, action)
        if (response.status === 404) return 'already-gone'
        this.expectOk(response, action)
        return 'deleted'
      },
      transientVerdict,
      this.options.policy,
      this.options.clock,
    )
  }

  private async retried(method: 'GET', path: string, action: string): Promise<unknown> {
    return withRetry(
      async () => this.expectOk(await this.send(method, path, action), action),
      transientVerdict,
      this.options.policy,
      this.options.clock,
    )
  }

  private async send(method: 'GET' | 'POST' | 'DELETE', path: string, action: string, body?: string): Promise<HttpResponse> {
    const { baseUrl, apiKey, userAgent } = this.options
    const headers: Record<string, string> = {
      authorization: `Token ${apiKey}`,
      accept: 'application/json',
      'user-agent': userAgent,
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await this.options.send({ method, url: `${baseUrl}${path}`, headers, body })
    } catch (error) {
      if (error instanceof TransportError) throw new NetworkError('Deepgram', action, error.message, error.sent)
      throw error
    }
  }

  private expectOk(response: HttpResponse, action: string): unknown {
    if (response.status >= 200 && response.status < 300) return parseJson(response.body)
    throw deepgramError(response, action, this.options.clock.now())
  }
}

function keysPath(projectId: string): string {
  return `/v1/projects/${encodeURIComponent(projectId)}/keys`
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
  const code = stringOf(field(body, 'err_code')) ?? stringOf(field(body, 'error_code')) ?? stringOf(field(body, 'category'))
  const modern = [stringOf(field(body, 'message')), stringOf(field(body, 'details'))].filter(Boolean).join(' ')
  const text = response.body.trim().slice(0, 300)
  const message =
    stringOf(field(body, 'err_msg')) ??
    (modern || undefined) ??
    stringOf(field(body, 'reason')) ??
    (typeof body === 'string' ? body : undefined) ??
    (text || 'no message')
  const requestId = stringOf(field(body, 'request_id')) ?? response.headers['dg-request-id']
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

function deepgramHint(status: number, code: string | undefined): string | undefined {
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

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
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
