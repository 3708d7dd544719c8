import { Octokit } from '@octokit/rest'
import { retry } from '@octokit/plugin-retry'
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling'
import { NetworkError, ServiceError } from '../shared/errors.ts'
import type { Now } from '../shared/retry.ts'
import type { PublicKey, SecretsApi, SecretWrite } from './api.ts'
import { describeTarget, type SecretTarget } from './plan.ts'

/** Pinned: the secrets endpoints are checked under this version, and GHES knows it. */
export const GITHUB_API_VERSION = '2022-11-28'

export interface GitHubOptions {
  token: string
  apiUrl: string
  fetch: typeof fetch
  now: Now
  /** No wait (rate limit or retry) may end after this time (ms since the epoch). */
  deadline: number
  userAgent: string
  /** Milliseconds in one of the plugins' seconds of waiting: 1000, or 1 in unit tests. */
  msPerSecondOfWait?: number
}

/** plugin-retry: 5xx and no answer, twice, after 1 s and 4 s. Rate limits are the throttling plugin's. */
const RETRIES = 2
const NOT_RETRIED = [400, 401, 403, 404, 410, 422, 429, 451]
/** The longest wait plugin-retry makes before a retry ((retries)^2 s), and an attempt after it. */
const RETRY_ROOM_MS = (RETRIES ** 2 + 5) * 1000
/** Rate-limit answers honoured per request before giving up. */
const RATE_LIMIT_RETRIES = 3

interface RequestErrorLike {
  status: number
  message: string
  request?: { request?: object }
  response?: { headers: Record<string, string | undefined>; data?: unknown }
}

/** GitHub answered with a redirect: a moved or renamed repository. It is never followed. */
class RedirectError extends Error {
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

/** plugin-retry reads a request's retries from here after each failure. */
type RetryFields = { retries?: number }

// Octokit with GitHub's own rate-limit (throttling) and retry plugins. A first plugin of ours,
// innermost, tells plugin-retry to stop once the deadline leaves no room for another attempt.
function gitHubOctokit(options: GitHubOptions) {
  const stopRetriesAtDeadline: Parameters<typeof Octokit.plugin>[0] = (octokit) => {
    octokit.hook.error('request', (error, request) => {
      if (options.now() + RETRY_ROOM_MS > options.deadline) (request.request as RetryFields).retries = 0
      throw error
    })
  }
  return Octokit.plugin(stopRetriesAtDeadline, throttling, retry)
}

/** GitHub's secrets endpoints through Octokit; rate limits and transient failures retried within the deadline. */
export function octokitSecretsApi(options: GitHubOptions): SecretsApi {
  // The wait each refused rate-limit answer asked for (seconds), for its error message.
  const refusedWaits = new WeakMap<object, number>()
  const onLimit: ThrottlingOptions['onRateLimit'] = (retryAfter, request, _octokit, retryCount) => {
    const fits = retryCount < RATE_LIMIT_RETRIES && options.now() + retryAfter * 1000 <= options.deadline
    if (!fits) refusedWaits.set(request.request, retryAfter)
    return fits
  }
  const scale = options.msPerSecondOfWait ?? 1000
  const GitHubOctokit = gitHubOctokit(options)
  const octokit = new GitHubOctokit({
    auth: options.token,
    baseUrl: options.apiUrl,
    userAgent: options.userAgent,
    request: { fetch: confinedTo(options.apiUrl, options.fetch) },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    throttle: { onRateLimit: onLimit, onSecondaryRateLimit: onLimit, retryAfterBaseValue: scale, write: UNPACED },
    retry: { retries: RETRIES, doNotRetry: NOT_RETRIED, retryAfterBaseValue: scale },
  })
  octokit.hook.before('request', (request) => {
    request.headers['x-github-api-version'] = GITHUB_API_VERSION
  })
  // Outermost, so that no plugin retries it: a redirect is an answer, and never a success.
  octokit.hook.after('request', (response) => {
    if (response.status >= 300 && response.status < 400) {
      const data: unknown = response.data
      const message = typeof data === 'object' && data !== null && 'message' in data ? String(data.message) : `HTTP ${response.status}`
      throw new RedirectError(response.status, response.headers.location ?? '', message, response.headers['x-github-request-id'])
    }
  })
  const call = async <T>(action: string, hint: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (error) {
      throw gitHubError(error, action, hint, refusedWaits)
    }
  }

  return {
    getPublicKey(target) {
      const action = `reading the public key of ${describeTarget(target)}`
      return call(action, permissionHint(target), async () => toPublicKey((await publicKeyRequest(octokit, target)).data))
    },
    async putSecret(write) {
      const action = `writing secret ${write.name} to ${describeTarget(write.target)}`
      const response = await call(action, permissionHint(write.target), () => putRequest(octokit, write))
      return response.status === 201 ? 'created' : 'updated'
    },
    async repositoryId(owner, repo) {
      const action = `looking up repository ${owner}/${repo}`
      const response = await call(action, 'Check secret-selected-repositories: each name must be a repository of the organization that github-token can see.', () =>
        octokit.rest.repos.get({ owner, repo }),
      )
      return response.data.id
    },
  }
}

/**
 * The throttling plugin's write group, made a pass-through: by default it sends one write a
 * second, so 100 targets would take 100 s. Writes are paced by pacing.ts instead, within the
 * step's time.
 */
const UNPACED = {
  key: () => ({ schedule: <T>(_job: unknown, task: () => Promise<T>) => task() }),
} as unknown as NonNullable<ThrottlingOptions['write']>

/** A fetch that sends nothing (and so no token) anywhere but the configured API's origin. */
function confinedTo(apiUrl: string, send: typeof fetch): typeof fetch {
  const origin = new URL(apiUrl).origin
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (new URL(url).origin !== origin) return Promise.reject(new Error(`refused to send github-token to ${new URL(url).origin}, which is not github-api-url`))
    return send(input, init)
  }
}

function publicKeyRequest(octokit: Octokit, target: SecretTarget) {
  if (target.scope === 'environment') {
    return octokit.rest.actions.getEnvironmentPublicKey({ owner: target.owner, repo: target.repo, environment_name: target.environment })
  }
  if (target.scope === 'organization') {
    return target.type === 'dependabot' ? octokit.rest.dependabot.getOrgPublicKey({ org: target.org }) : octokit.rest.actions.getOrgPublicKey({ org: target.org })
  }
  const repo = { owner: target.owner, repo: target.repo }
  return target.type === 'dependabot' ? octokit.rest.dependabot.getRepoPublicKey(repo) : octokit.rest.actions.getRepoPublicKey(repo)
}

function putRequest(octokit: Octokit, write: SecretWrite): Promise<{ status: number }> {
  const { target, name: secret_name, encryptedValue: encrypted_value, keyId: key_id } = write
  const value = { secret_name, encrypted_value, key_id }
  if (target.scope === 'environment') {
    return octokit.rest.actions.createOrUpdateEnvironmentSecret({ owner: target.owner, repo: target.repo, environment_name: target.environment, ...value })
  }
  if (target.scope === 'organization') {
    const access = { org: target.org, visibility: target.visibility, ...(write.selectedRepositoryIds ? { selected_repository_ids: write.selectedRepositoryIds } : {}) }
    return target.type === 'dependabot'
      ? octokit.rest.dependabot.createOrUpdateOrgSecret({ ...access, ...value })
      : octokit.rest.actions.createOrUpdateOrgSecret({ ...access, ...value })
  }
  const repo = { owner: target.owner, repo: target.repo }
  return target.type === 'dependabot'
    ? octokit.rest.dependabot.createOrUpdateRepoSecret({ ...repo, ...value })
    : octokit.rest.actions.createOrUpdateRepoSecret({ ...repo, ...value })
}

function toPublicKey(data: { key_id: string; key: string }): PublicKey {
  return { keyId: data.key_id, key: data.key }
}

/** Which permission a token lacks when GitHub refuses it on this target. */
function permissionHint(target: SecretTarget): string {
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

function gitHubError(error: unknown, action: string, permission: string, refusedWaits: WeakMap<object, number>): Error {
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
  if (error.response === undefined) return new NetworkError('GitHub', action, error.message, true)
  const headers = error.response.headers
  const data = error.response.data
  const message = typeof data === 'object' && data !== null && 'message' in data ? String((data as { message: unknown }).message) : error.message
  const refusedWait = error.request?.request === undefined ? undefined : refusedWaits.get(error.request.request)
  const rateLimited = refusedWait !== undefined || isRateLimit(error.status, message, headers)
  return new ServiceError({
    service: 'GitHub',
    action,
    status: error.status,
    message,
    requestId: headers['x-github-request-id'],
    hint: rateLimited ? rateLimitHint(refusedWait) : gitHubHint(error.status, permission),
  })
}

function rateLimitHint(refusedWait: number | undefined): string {
  const wait = refusedWait === undefined ? 'GitHub is limiting requests' : `GitHub asked to wait ${refusedWait} s, longer than the step's time for secrets allows`
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

function isRequestError(error: unknown): error is RequestErrorLike {
  return error instanceof Error && typeof (error as Partial<RequestErrorLike>).status === 'number'
}
