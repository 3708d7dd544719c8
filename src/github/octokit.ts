import { Octokit } from '@octokit/rest'
import { retry } from '@octokit/plugin-retry'
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling'
import type { Now } from '../shared/retry.ts'
import { GITHUB_API_VERSION, type PublicKey, type SecretsApi, type SecretWrite } from './api.ts'
import type { WritePacer } from './pacing.ts'
import {
  confinedTo,
  gitHubError,
  oversizedAnswerIn,
  permissionHint,
  rateLimitDecisions,
  redirectIn,
  requestKey,
} from './answers.ts'
import { describeTarget, type SecretTarget } from './plan.ts'

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
  /** Slots for content-creating requests (every PUT, retries included) within GitHub's limits. */
  pacer?: WritePacer
}

/** plugin-retry: 5xx and no answer, twice, after 1 s and 4 s. Rate limits are the throttling plugin's. */
const RETRIES = 2
const NOT_RETRIED = [400, 401, 403, 404, 410, 422, 429, 451]
/** The longest wait plugin-retry makes before a retry ((retries)^2 s), and an attempt after it. */
const RETRY_ROOM_MS = (RETRIES ** 2 + 5) * 1000

/** plugin-retry reads a request's retries from here after each failure. */
type RetryFields = { retries?: number }

// Octokit with GitHub's own rate-limit (throttling) and retry plugins. A first plugin of ours,
// innermost, so that it sees every attempt: each PUT waits for a slot of the pacer (GitHub counts
// retries as requests too), and plugin-retry stops once the deadline leaves no room for another.
function gitHubOctokit(options: GitHubOptions) {
  const stopRetriesAtDeadline: Parameters<typeof Octokit.plugin>[0] = (octokit) => {
    octokit.hook.before('request', async (request) => {
      if (request.method === 'PUT') await options.pacer?.acquire()
    })
    octokit.hook.error('request', (error, request) => {
      // An answer too large to read comes from a wrong URL or a proxy, and would come again.
      const oversized = oversizedAnswerIn(error)
      if (options.now() + RETRY_ROOM_MS > options.deadline || (oversized !== undefined && oversized.status < 500))
        (request.request as RetryFields).retries = 0
      throw error
    })
  }
  return Octokit.plugin(stopRetriesAtDeadline, throttling, retry)
}

/** GitHub's secrets endpoints through Octokit; rate limits and transient failures retried within the deadline. */
export function octokitSecretsApi(options: GitHubOptions): SecretsApi {
  const limits = rateLimitDecisions(options.now, options.deadline)
  const onLimit: ThrottlingOptions['onRateLimit'] = (retryAfter, request, octokit, retryCount) => {
    const { method, url } = octokit.request.endpoint.parse(request)
    return limits.wait(retryAfter, requestKey(method, url), retryCount)
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
    const redirect = redirectIn(response)
    if (redirect !== undefined) throw redirect
  })
  const call = async <T>(action: string, hint: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run()
    } catch (error) {
      throw gitHubError(error, action, hint, limits.refusedWait)
    }
  }

  return {
    getPublicKey(target) {
      const action = `reading the public key of ${describeTarget(target)}`
      return call(action, permissionHint(target), async () =>
        toPublicKey((await publicKeyRequest(octokit, target)).data),
      )
    },
    async putSecret(write) {
      const action = `writing secret ${write.name} to ${describeTarget(write.target)}`
      const response = await call(action, permissionHint(write.target), () => putRequest(octokit, write))
      return response.status === 201 ? 'created' : 'updated'
    },
    async repositoryId(owner, repo) {
      const action = `looking up repository ${owner}/${repo}`
      const response = await call(
        action,
        'Check secret-selected-repositories: each name must be a repository of the organization that github-token can see.',
        () => octokit.rest.repos.get({ owner, repo }),
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

function publicKeyRequest(octokit: Octokit, target: SecretTarget) {
  if (target.scope === 'environment') {
    return octokit.rest.actions.getEnvironmentPublicKey({
      owner: target.owner,
      repo: target.repo,
      environment_name: target.environment,
    })
  }
  if (target.scope === 'organization') {
    return target.type === 'dependabot'
      ? octokit.rest.dependabot.getOrgPublicKey({ org: target.org })
      : octokit.rest.actions.getOrgPublicKey({ org: target.org })
  }
  const repo = { owner: target.owner, repo: target.repo }
  return target.type === 'dependabot'
    ? octokit.rest.dependabot.getRepoPublicKey(repo)
    : octokit.rest.actions.getRepoPublicKey(repo)
}

function putRequest(octokit: Octokit, write: SecretWrite): Promise<{ status: number }> {
  const { target, name: secret_name, encryptedValue: encrypted_value, keyId: key_id } = write
  const value = { secret_name, encrypted_value, key_id }
  if (target.scope === 'environment') {
    return octokit.rest.actions.createOrUpdateEnvironmentSecret({
      owner: target.owner,
      repo: target.repo,
      environment_name: target.environment,
      ...value,
    })
  }
  if (target.scope === 'organization') {
    const access = {
      org: target.org,
      visibility: target.visibility,
      ...(write.selectedRepositoryIds ? { selected_repository_ids: write.selectedRepositoryIds } : {}),
    }
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
