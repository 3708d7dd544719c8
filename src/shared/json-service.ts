// A JSON-over-HTTP service as this project's clients speak to it: each attempt inside the step's
// budget (shared/attempt.ts), retries of what may pass, the answer parsed and checked, its request
// id found, and refusals turned into errors that name the status, the service's message, the
// request id and what to do. Deepgram's client and the broker's are this core plus their routes
// and their domain checks, so both keep the same promises.
import { sendAttempt, type Attempt } from './attempt.ts'
import { NetworkError, ServiceError, UnusableAnswerError, type ServiceName } from './errors.ts'
import type { HttpResponse, HttpSend } from './http.ts'
import { field, parseJson } from './json.ts'
import { endingBy, parseRetryAfter, withRetry, type RetryClock, type RetryPolicy, type RetryVerdict } from './retry.ts'

export type Method = 'GET' | 'POST' | 'DELETE'

/** What every client of a JSON service is given by its step. */
export interface JsonServiceLink {
  /** The service's base URL, as readBaseUrl gives it (no trailing slash). */
  baseUrl: string
  send: HttpSend
  clock: RetryClock
  policy: RetryPolicy
  userAgent: string
  /** Epoch ms after which no request of this client may still run: the step's own bound. */
  deadline?: number
  /** Aborts every request at once when the job is cancelled. */
  cancelled?: AbortSignal
}

/** How one service differs from another: its name, credential, request ids and refusals. */
export interface JsonServiceDialect {
  service: ServiceName
  /** The input that names the service's URL, for an answer too large to be the service's. */
  urlInput: string
  /** The authorization header's value. Never logged, never in an error. */
  authorization: string
  /** What the error says when the job is cancelled while `action`. */
  cancelledMessage: (action: string) => string
  /** The answer's request id, from its body (when the service puts it there) or its headers. */
  requestIdOf: (headers: HttpResponse['headers'], body: unknown) => string | undefined
  /** A refusal (any status but 2xx, or a 2xx the dialect reads as one) as a ServiceError. */
  refusal: (response: HttpResponse, action: string, now: number) => ServiceError
}

/** A 2xx answer, parsed: `body` is the JSON, or the text when it is not JSON. */
export interface JsonAnswer {
  status: number
  body: unknown
  requestId: string | undefined
  /** When the attempt that got this answer was sent (epoch ms). */
  sentAt: number
  /** An UnusableAnswerError naming this answer's status, what was being done, and its request id. */
  unusable: (problem: string) => UnusableAnswerError
  /** The body as an object, else UnusableAnswerError: the answer is not a JSON object. */
  object: () => object
  /** The body's list `name`, else UnusableAnswerError: the answer has no `name` list. */
  list: (name: string) => unknown[]
  /** The ServiceError this 2xx amounts to when the client's domain check reads it as a refusal. */
  refused: () => ServiceError
}

export interface JsonRequest {
  method: Method
  path: string
  /** What is being done, as a gerund phrase: "creating the key". */
  action: string
  /** Sent as JSON. */
  body?: unknown
}

export class JsonService {
  private readonly link: JsonServiceLink
  private readonly dialect: JsonServiceDialect

  constructor(link: JsonServiceLink, dialect: JsonServiceDialect) {
    this.link = link
    this.dialect = dialect
  }

  /** Epoch ms by which every request of this client has ended; Infinity without a deadline. */
  get deadline(): number {
    return this.link.deadline ?? Infinity
  }

  /**
   * One attempt, not retried: for a request that is not safe to repeat (a create). A refusal is
   * a ServiceError; a 2xx is handed back parsed, unchecked.
   */
  async once(request: JsonRequest, attempt: Attempt): Promise<JsonAnswer> {
    const sentAt = this.link.clock.now()
    const response = await this.exchange(request, attempt)
    return this.accepted(response, request.action, sentAt)
  }

  /**
   * A request that is safe to repeat, retried on transient failures within the step's budget.
   * `read` checks the 2xx answer; `on404` is what a 404 means when it is not a refusal.
   */
  async retried<T>(request: JsonRequest, read: (answer: JsonAnswer) => T, on404?: () => T): Promise<T> {
    const { policy, clock, deadline } = this.link
    return withRetry(
      async (n, remainingMs) => {
        const sentAt = clock.now()
        const response = await this.exchange(request, { n, remainingMs })
        if (response.status === 404 && on404 !== undefined) return on404()
        return read(this.accepted(response, request.action, sentAt))
      },
      transientVerdict,
      endingBy(policy, deadline, clock.now()),
      clock,
    )
  }

  private async exchange(request: JsonRequest, attempt: Attempt): Promise<HttpResponse> {
    const { baseUrl, userAgent, cancelled, deadline, clock, send } = this.link
    const { service, urlInput, authorization, cancelledMessage, requestIdOf } = this.dialect
    const headers: Record<string, string> = { authorization, accept: 'application/json', 'user-agent': userAgent }
    const body = request.body === undefined ? undefined : JSON.stringify(request.body)
    if (body !== undefined) headers['content-type'] = 'application/json'
    const link = {
      service,
      urlInput,
      send,
      now: clock.now,
      deadline,
      cancelled,
      cancelledMessage,
      requestIdOf: (h: HttpResponse['headers']) => requestIdOf(h, undefined),
    }
    const url = `${baseUrl}${request.path}`
    return sendAttempt(link, { method: request.method, url, headers, body }, request.action, attempt)
  }

  private accepted(response: HttpResponse, action: string, sentAt: number): JsonAnswer {
    const body = parseJson(response.body)
    const refused = () => this.dialect.refusal(response, action, this.link.clock.now())
    if (response.status < 200 || response.status >= 300) throw refused()
    const requestId = this.dialect.requestIdOf(response.headers, body)
    const unusable = (problem: string) =>
      new UnusableAnswerError(this.dialect.service, action, response.status, problem, requestId)
    return {
      status: response.status,
      body,
      requestId,
      sentAt,
      unusable,
      object: () => {
        if (typeof body !== 'object' || body === null) throw unusable('the answer is not a JSON object')
        return body
      },
      list: (name) => {
        const value = field(body, name)
        if (Array.isArray(value)) return value as unknown[]
        throw unusable(`the answer has no ${name} list`)
      },
      refused,
    }
  }
}

/** Retry what may pass: no answer at all, 408, 429 and 5xx, after the service's Retry-After if it gave one. */
export function transientVerdict(error: unknown): RetryVerdict {
  if (error instanceof NetworkError) return { retry: true }
  if (error instanceof ServiceError && isTransientStatus(error.status)) {
    const after = error.details.retryAfterSeconds
    return after === undefined ? { retry: true } : { retry: true, retryAfterMs: after * 1000 }
  }
  return { retry: false }
}

/** The whole seconds a refusal's Retry-After asks for, for ServiceError's retryAfterSeconds. */
export function retryAfterSecondsOf(response: HttpResponse, now: number): number | undefined {
  const ms = parseRetryAfter(response.headers['retry-after'], now)
  return ms === undefined ? undefined : Math.ceil(ms / 1000)
}

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}
