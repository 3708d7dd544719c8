import { Octokit } from '@octokit/rest'
import { NetworkError, ServiceError } from '../shared/errors.ts'
import { parseRetryAfter, withRetry, type RetryClock, type RetryPolicy, type RetryVerdict } from '../shared/retry.ts'
import type { PublicKey, SecretsApi, SecretWrite } from './api.ts'
import { describeTarget, type SecretTarget } from './plan.ts'

/** Pinned: the secrets endpoints are checked under this version, and GHES knows it. */
export const GITHUB_API_VERSION = '2022-11-28'

export interface GitHubOptions {
  token: string
  apiUrl: string
  fetch: typeof fetch
  clock: RetryClock
  policy: RetryPolicy
  userAgent: string
}

interface RequestErrorLike {
  status: number
  message: string
  response?: { headers: Record<string, string | undefined>; data?: unknown }
}

/** GitHub's secrets endpoints through Octokit, each call retried on transient failures. */
export function octokitSecretsApi(options: GitHubOptions): SecretsApi {
  const octokit = new Octokit({
    auth: options.token,
    baseUrl: options.apiUrl,
    userAgent: options.userAgent,
    request: { fetch: options.fetch },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  })
  octokit.hook.before('request', (request) => {
    request.headers['x-github-api-version'] = GITHUB_API_VERSION
  })
  const call = <T>(action: string, hint: string, run: () => Promise<T>): Promise<T> =>
    withRetry(
      async () => {
        try {
          return await run()
        } catch (error) {
          throw gitHubError(error, action, hint, options.clock.now())
        }
      },
      gitHubVerdict,
      options.policy,
      options.clock,
    )

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

function gitHubError(error: unknown, action: string, permission: string, now: number): Error {
  if (!isRequestError(error)) return error instanceof Error ? error : new Error(String(error))
  if (error.response === undefined) return new NetworkError('GitHub', action, error.message, true)
  const headers = error.response.headers
  const data = error.response.data
  const message = typeof data === 'object' && data !== null && 'message' in data ? String((data as { message: unknown }).message) : error.message
  const rateLimited = isRateLimit(error.status, message, headers)
  const retryAfterMs = rateLimited || error.status >= 500 ? rateLimitWait(headers, now) : undefined
  return new ServiceError({
    service: 'GitHub',
    action,
    status: error.status,
    message,
    requestId: headers['x-github-request-id'],
    hint: rateLimited ? 'GitHub is limiting requests; run the job again later.' : gitHubHint(error.status, permission),
    retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
  })
}

function gitHubHint(status: number, permission: string): string | undefined {
  if (status === 401) return `github-token was refused (expired or revoked?). ${permission}`
  if (status === 403) return permission
  if (status === 404) return `The target does not exist, or github-token cannot see it. ${permission}`
  return undefined
}

function isRateLimit(status: number, message: string, headers: Record<string, string | undefined>): boolean {
  return status === 429 || (status === 403 && (/rate limit/i.test(message) || headers['x-ratelimit-remaining'] === '0'))
}

/** GitHub's wait: Retry-After, or the reset time of an exhausted primary limit. */
function rateLimitWait(headers: Record<string, string | undefined>, now: number): number | undefined {
  const retryAfter = parseRetryAfter(headers['retry-after'], now)
  if (retryAfter !== undefined) return retryAfter
  const reset = Number(headers['x-ratelimit-reset'])
  return headers['x-ratelimit-remaining'] === '0' && Number.isFinite(reset) ? Math.max(0, reset * 1000 - now) : undefined
}

/** Retry no answer, 5xx, 429 and rate-limit 403s; every other 4xx is final. */
function gitHubVerdict(error: unknown): RetryVerdict {
  if (error instanceof NetworkError) return { retry: true }
  if (!(error instanceof ServiceError)) return { retry: false }
  const { status, message, retryAfterSeconds } = error.details
  const transient = status >= 500 || isRateLimit(status, message, {})
  if (!transient) return { retry: false }
  return retryAfterSeconds === undefined ? { retry: true } : { retry: true, retryAfterMs: retryAfterSeconds * 1000 }
}

function isRequestError(error: unknown): error is RequestErrorLike {
  return error instanceof Error && typeof (error as Partial<RequestErrorLike>).status === 'number'
}
