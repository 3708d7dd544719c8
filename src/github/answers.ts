// How GitHub's answers are read: redirects, rate limits and refusals become errors that say what
// happened and what to do. Free of Octokit, so that unit tests (CommonJS) can load it.
import { NetworkError, ServiceError } from '../shared/errors.ts'
import { AnswerTooLargeError, oversizedAnswerError } from '../shared/http.ts'
import type { Now } from '../shared/retry.ts'
import { describeTarget, type SecretPlace } from './plan.ts'

/** Rate-limit answers honoured per request before giving up. */
export const RATE_LIMIT_RETRIES = 3

interface RequestErrorLike {
  status: number
  message: string
  request?: { method?: string; url?: string }
  response?: { headers: Record<string, string | undefined>; data?: unknown }
}

/** GitHub answered with a redirect: a moved or renamed repository. It is never followed. */
export class RedirectError extends Error {
  readonly status: number
  readonly location: string
  readonly serviceMessage: string
  readonly requestId: string | undefined
  constructor(status: number, location: string, serviceMessage: string, requestId: string | undefined) {
    super(`redirect ${status} to ${location}`)
    this.name = 'RedirectError'
    this.status = status
    this.location = location
    this.serviceMessage = serviceMessage
    this.requestId = requestId
  }
}

/** The redirect in an answer Octokit took for a success (it does not follow them, and neither do we). */
export function redirectIn(response: {
  status: number
  headers: Record<string, string | number | undefined>
  data: unknown
}): RedirectError | undefined {
  if (response.status < 300 || response.status >= 400) return undefined
  const { data, headers } = response
  const message =
    typeof data === 'object' && data !== null && 'message' in data ? String(data.message) : `HTTP ${response.status}`
  const requestId = headers['x-github-request-id']
  return new RedirectError(
    response.status,
    String(headers.location ?? ''),
    message,
    requestId === undefined ? undefined : String(requestId),
  )
}

/**
 * Whether to wait as a rate-limit answer asks (the throttling plugin's onRateLimit and
 * onSecondaryRateLimit): only while the wait ends before the deadline, a few times per request.
 * A refused wait is remembered by request ("PUT https://…": each target has its own), for the
 * error message: Octokit's error carries a copy of the request, not the options the plugin saw.
 */
export function rateLimitDecisions(now: Now, deadline: number) {
  const refused = new Map<string, number>()
  return {
    wait(retryAfterSeconds: number, request: string, retryCount: number): boolean {
      const fits = retryCount < RATE_LIMIT_RETRIES && now() + retryAfterSeconds * 1000 <= deadline
      if (!fits) refused.set(request, retryAfterSeconds)
      return fits
    },
    refusedWait: (request: string): number | undefined => refused.get(request),
  }
}

/** How rateLimitDecisions knows a request again. */
export function requestKey(method: string | undefined, url: string | undefined): string {
  return `${method ?? ''} ${url ?? ''}`
}

/** A fetch that sends nothing (and so no token) anywhere but the configured API's origin. */
export function confinedTo(apiUrl: string, send: typeof fetch): typeof fetch {
  const origin = new URL(apiUrl).origin
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (new URL(url).origin !== origin)
      return Promise.reject(
        new Error(`refused to send github-token to ${new URL(url).origin}, which is not github-api-url`),
      )
    return send(input, init)
  }
}

/** Which permission a token lacks when GitHub refuses it on this target. */
export function permissionHint(target: SecretPlace): string {
  const permission =
    target.scope === 'organization'
      ? target.type === 'dependabot'
        ? 'Organization permission "Dependabot secrets: write"'
        : 'Organization permission "Secrets: write" (organization_secrets)'
      : target.scope === 'environment'
        ? 'Repository permissions "Environments: write" and "Secrets: write"'
        : target.type === 'dependabot'
          ? 'Repository permission "Dependabot secrets: write"'
          : 'Repository permission "Secrets: write"'
  return (
    `github-token needs ${permission} on ${describeTarget(target)}. The workflow's own GITHUB_TOKEN cannot write secrets: ` +
    'use a GitHub App token (actions/create-github-app-token) or a fine-grained personal access token.'
  )
}

export function gitHubError(
  error: unknown,
  action: string,
  permission: string,
  refusedWait: (request: string) => number | undefined,
): Error {
  if (error instanceof RedirectError) {
    return new ServiceError({
      service: 'GitHub',
      action,
      status: error.status,
      message: `${error.serviceMessage}, to ${printable(error.location) || 'no location'}`,
      requestId: error.requestId,
      hint: 'The repository was renamed or moved, or github-api-url is not the API: nothing was sent to the new location. Give its current name (or the right github-api-url).',
    })
  }
  if (!isRequestError(error)) return error instanceof Error ? error : new Error(String(error))
  const oversized = oversizedAnswerIn(error)
  if (oversized !== undefined)
    return oversizedAnswerError(oversized, {
      service: 'GitHub',
      action,
      requestId: oversized.headers['x-github-request-id'],
      urlInput: 'github-api-url',
    })
  if (error.response === undefined) return new NetworkError('GitHub', action, error.message, true)
  const headers = error.response.headers
  const data = error.response.data
  const message = typeof data === 'object' && data !== null && 'message' in data ? String(data.message) : error.message
  const wait = refusedWait(requestKey(error.request?.method, error.request?.url))
  const rateLimited = wait !== undefined || isRateLimit(error.status, message, headers)
  return new ServiceError({
    service: 'GitHub',
    action,
    status: error.status,
    message,
    requestId: headers['x-github-request-id'],
    hint: rateLimited ? rateLimitHint(wait) : gitHubHint(error.status, permission),
  })
}

function rateLimitHint(refusedWait: number | undefined): string {
  const wait =
    refusedWait === undefined
      ? 'GitHub is limiting requests'
      : `GitHub asked to wait ${refusedWait} s, longer than the step's time for secrets allows`
  return `${wait}. Run the job again later; to write to many repositories, use one organization secret with secret-visibility: selected (a single write).`
}

function gitHubHint(status: number, permission: string): string | undefined {
  if (status === 401) return `github-token was refused (expired or revoked?). ${permission}`
  if (status === 403) return permission
  if (status === 404) return `The target does not exist, or github-token cannot see it. ${permission}`
  return undefined
}

/** For the message only: whether to retry is the throttling plugin's decision. */
function isRateLimit(status: number, message: string, headers: Record<string, string | undefined>): boolean {
  return status === 429 || (status === 403 && (/rate limit/i.test(message) || headers['x-ratelimit-remaining'] === '0'))
}

/** A header from the answer, as one short line: it goes into the error. */
function printable(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f]/g, '')
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/**
 * The answer too large to read behind an Octokit error: Octokit reports whatever its fetch threw
 * as a status 500 without a response, with the original as its cause.
 */
export function oversizedAnswerIn(error: unknown): AnswerTooLargeError | undefined {
  const cause = error instanceof Error ? error.cause : undefined
  return cause instanceof AnswerTooLargeError ? cause : undefined
}

function isRequestError(error: unknown): error is RequestErrorLike {
  return error instanceof Error && typeof (error as Partial<RequestErrorLike>).status === 'number'
}
