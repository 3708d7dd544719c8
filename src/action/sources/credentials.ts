// The one place outside sources/ that knows there are two sources, and the one that knows how to
// get each one's credential: api-key for Deepgram, a fresh OIDC token of the job's for the broker.
// It opens the source a plan names, for keys or for a token, with its terms and its time budget.
import type { ActionIO } from '../io.ts'
import type { Secrets } from '../secrets.ts'
import type { SourceLocator, StepSource } from '../flow/key-source.ts'
import type { StepTokenSource } from '../flow/token-source.ts'
import type { PostInputs } from '../inputs/post.ts'
import { missingApiKeyCause, type BrokerTarget, type RunContext, type SourceSpec } from '../inputs/source.ts'
import { ActionError } from '../../shared/errors.ts'
import type { HttpSend } from '../../shared/http.ts'
import type { RetryClock, RetryPolicy } from '../../shared/retry.ts'
import { BrokerClient } from './broker-client.ts'
import { brokerKeySource, brokerTerms, brokerTokenSource, brokerUsage, fetchIdToken } from './broker.ts'
import {
  deepgramClient,
  deepgramKeySource,
  deepgramTerms,
  deepgramTokenSource,
  deepgramUsage,
  discoverProject,
  type TagsRead,
} from './deepgram.ts'

/** What reaching a source takes, and the budget its requests end within. */
export interface SourceDeps {
  io: Pick<ActionIO, 'getIDToken'>
  send: HttpSend
  clock: RetryClock
  userAgent: string
  cancelled?: AbortSignal
  policy: RetryPolicy
  /** Epoch ms by which every request, the ID token's included, has ended. */
  deadline: number
  /** The length of that budget: a renewed source gets as much again, from then. */
  budgetMs: number
}

/** The step's credential in hand: the source it opens, for keys or for a token. */
export interface Credentialed {
  /** Deepgram's project is found when the step gives none: that may take a request. */
  keys: () => Promise<StepSource>
  tokens: () => StepTokenSource
}

/**
 * The credential of the source the plan names: api-key as given, or a fresh ID token from the
 * runner (added to `secrets` at once, and never saved). Undefined when the job has none (forks,
 * Dependabot, no id-token: write).
 */
export async function getCredential(
  spec: SourceSpec,
  deps: SourceDeps,
  secrets: Secrets,
): Promise<Credentialed | undefined> {
  if (spec.kind === 'deepgram') {
    if (spec.apiKey === '') return undefined
    return {
      keys: async () => {
        const client = deepgramClient(spec.apiKey, spec.apiUrl, deps, deps.policy, deps.deadline)
        const projectId = spec.projectId ?? (await discoverProject(client))
        return openDeepgramKeys(spec, projectId, deps)
      },
      tokens: () => ({
        ...deepgramTokenSource(deepgramClient(spec.apiKey, spec.apiUrl, deps, deps.policy, deps.deadline)),
        service: 'Deepgram',
        url: spec.apiUrl,
      }),
    }
  }
  const idToken = await fetchIdToken(deps.io, spec.target.audience, deps.deadline, deps.clock.now)
  if (idToken === undefined) return undefined
  secrets.add(idToken)
  return {
    keys: () => Promise.resolve(openBrokerKeys(spec.target, idToken, deps)),
    tokens: () => ({
      ...brokerTokenSource(brokerClient(spec.target, idToken, deps)),
      service: 'The broker',
      url: spec.target.url,
    }),
  }
}

/**
 * The source the post step finds from what main saved: api-key as post's input gives it, the ID
 * token asked anew (added to `secrets`). Undefined when api-key is empty in post.
 */
export async function reopenKeySource(
  locator: SourceLocator,
  inputs: PostInputs,
  deps: SourceDeps,
  secrets: Secrets,
): Promise<StepSource | undefined> {
  if (locator.kind === 'broker') {
    const target = { url: locator.url, audience: locator.audience }
    const credentialed = await getCredential({ kind: 'broker', target }, deps, secrets)
    if (credentialed === undefined)
      throw new ActionError(
        'the post step got no GitHub ID token to show the broker (ACTIONS_ID_TOKEN_REQUEST_URL is not set).',
      )
    return credentialed.keys()
  }
  if (inputs.apiKey === '') return undefined
  if (typeof inputs.deepgramApiUrl !== 'string') throw inputs.deepgramApiUrl
  const spec = { apiKey: inputs.apiKey, apiUrl: inputs.deepgramApiUrl, defaultComment: '' }
  return openDeepgramKeys(spec, locator.projectId, deps)
}

type DeepgramReach = Pick<Extract<SourceSpec, { kind: 'deepgram' }>, 'apiKey' | 'apiUrl' | 'defaultComment'>

function openDeepgramKeys(
  spec: DeepgramReach,
  projectId: string,
  deps: SourceDeps,
  tagsRead: TagsRead = new Map(),
): StepSource {
  const client = deepgramClient(spec.apiKey, spec.apiUrl, deps, deps.policy, deps.deadline)
  return {
    ...deepgramKeySource(client, projectId, spec.defaultComment, tagsRead),
    ...deepgramUsage(client, projectId, deps.clock.now, tagsRead),
    ...deepgramTerms(projectId),
    deadline: deps.deadline,
    renewed: () => openDeepgramKeys(spec, projectId, renewedBudget(deps), tagsRead),
    within: (budgetMs) => openDeepgramKeys(spec, projectId, shorterBudget(deps, budgetMs), tagsRead),
  }
}

function openBrokerKeys(target: BrokerTarget, idToken: string, deps: SourceDeps): StepSource {
  const client = brokerClient(target, idToken, deps)
  return {
    ...brokerKeySource(client, target),
    ...brokerUsage(client),
    ...brokerTerms(target.url),
    deadline: deps.deadline,
    renewed: () => openBrokerKeys(target, idToken, renewedBudget(deps)),
    within: (budgetMs) => openBrokerKeys(target, idToken, shorterBudget(deps, budgetMs)),
  }
}

function brokerClient(target: BrokerTarget, idToken: string, deps: SourceDeps): BrokerClient {
  return new BrokerClient({
    baseUrl: target.url,
    idToken,
    send: deps.send,
    clock: deps.clock,
    policy: deps.policy,
    userAgent: deps.userAgent,
    deadline: deps.deadline,
    cancelled: deps.cancelled,
  })
}

function renewedBudget(deps: SourceDeps): SourceDeps {
  return { ...deps, deadline: deps.clock.now() + deps.budgetMs }
}

function shorterBudget(deps: SourceDeps, budgetMs: number): SourceDeps {
  return { ...deps, deadline: Math.min(deps.deadline, deps.clock.now() + budgetMs) }
}

/** The step has no credential: the failure (on-missing-credentials: fail), in this run's own terms. */
export function missingCredential(spec: SourceSpec, run: RunContext): string {
  if (spec.kind === 'deepgram')
    return `Input api-key: is empty. ${missingApiKeyCause(run)} To skip this step when the key is missing, set on-missing-credentials: skip.`
  return `${NO_ID_TOKEN} ${missingIdTokenCause(run)} To skip this step when there is none, set on-missing-credentials: skip.`
}

/** The step has no credential: the notice of a skipped step (on-missing-credentials: skip). */
export function skippedForMissingCredential(spec: SourceSpec, run: RunContext): string {
  if (spec.kind === 'deepgram')
    return `Skipped: api-key is empty and on-missing-credentials is skip. ${missingApiKeyCause(run)}`
  return `Skipped: ${NO_ID_TOKEN} on-missing-credentials is skip. ${missingIdTokenCause(run)}`
}

const NO_ID_TOKEN =
  'This job has no GitHub ID token to show the broker: ACTIONS_ID_TOKEN_REQUEST_URL is not set, because the job lacks the permission id-token: write. Add "permissions: id-token: write" (and contents: read) to the job or the workflow.'

/** Why there is no ID token, in this run's own terms. */
export function missingIdTokenCause(run: RunContext): string {
  if (run.forkRepository)
    return `This run is for a pull request from the fork ${run.forkRepository}, and GitHub gives no ID token to workflows run for pull requests from forks.`
  if (run.actor === 'dependabot[bot]')
    return 'This run was started by Dependabot, and GitHub gives Dependabot runs no ID token.'
  return 'Pull requests from forks and Dependabot runs never get one.'
}
