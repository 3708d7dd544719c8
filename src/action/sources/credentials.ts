// Which source of keys a step uses, read from its inputs, and how to open it: the one place that
// knows there are two. Direct mode: api-key (and project-id) straight to Deepgram. Broker mode:
// broker-url (and broker-audience), with a fresh OIDC token of the job's.
import type { ActionIO } from '../io.ts'
import { maskSecret } from '../io.ts'
import type { KeySource, SourceLocator } from '../flow/key-source.ts'
import {
  defaultComment,
  missingApiKeyCause,
  readApiKey,
  readDeepgramApiUrl,
  readProjectId,
  type RunContext,
} from '../inputs.ts'
import { ActionError } from '../../shared/errors.ts'
import type { GetInput } from '../../shared/input-forms.ts'
import type { HttpSend } from '../../shared/http.ts'
import type { RetryClock, RetryPolicy } from '../../shared/retry.ts'
import { BrokerClient } from './broker-client.ts'
import { readBrokerTarget, wantsBroker, type BrokerTarget } from './broker-inputs.ts'
import { brokerSource, brokerUsage, fetchIdToken } from './broker.ts'
import { deepgramClient, deepgramSource, deepgramUsage, discoverProject, type TagsRead } from './deepgram.ts'

export type SourceSpec =
  | { kind: 'deepgram'; apiKey: string; projectId?: string; apiUrl: string; defaultComment: string }
  | { kind: 'broker'; target: BrokerTarget }

/** Reads the inputs of the source the step asks for; the other mode's inputs must be empty. */
export function readSourceSpec(getInput: GetInput, run: RunContext): SourceSpec {
  if (wantsBroker(getInput)) return { kind: 'broker', target: readBrokerTarget(getInput) }
  return {
    kind: 'deepgram',
    apiKey: readApiKey(getInput, run),
    projectId: readProjectId(getInput),
    apiUrl: readDeepgramApiUrl(getInput),
    defaultComment: defaultComment(run),
  }
}

export interface SourceDeps {
  io: ActionIO
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

/** A source ready to use, but for Deepgram's project, which may take a request to find. */
export interface Credentialed {
  spec: SourceSpec
  /** The secret to show: api-key, or the job's ID token. Masked already. */
  credential: string
}

/**
 * The credential of the source: api-key as given, or a fresh ID token from the runner (masked at
 * once, and never saved). Undefined when the job has none (forks, Dependabot, no id-token: write).
 */
export async function acquireCredential(spec: SourceSpec, deps: SourceDeps): Promise<Credentialed | undefined> {
  if (spec.kind === 'deepgram') return { spec, credential: spec.apiKey }
  const token = await fetchIdToken(deps.io, spec.target.audience, deps.deadline, deps.clock.now)
  if (token === undefined) return undefined
  maskSecret(deps.io, token)
  return { spec, credential: token }
}

/** Opens the source: Deepgram's project is found when the step gives none. */
export async function openSource({ spec, credential }: Credentialed, deps: SourceDeps): Promise<KeySource> {
  if (spec.kind === 'broker') return brokerKeys(spec.target, credential, deps)
  const client = deepgramClient(credential, spec.apiUrl, deps, deps.policy, deps.deadline)
  const projectId = spec.projectId ?? (await discoverProject(client))
  return deepgramKeys(spec, credential, projectId, deps)
}

/**
 * The source the post step finds from what main saved: api-key is read again, the ID token asked
 * anew (and returned, to be kept out of messages). Undefined when api-key is empty in post.
 */
export async function reopenSource(
  locator: SourceLocator,
  getInput: GetInput,
  deps: SourceDeps,
): Promise<{ source: KeySource; credential: string } | undefined> {
  if (locator.kind === 'broker') {
    const target = { url: locator.url, audience: locator.audience }
    const found = await acquireCredential({ kind: 'broker', target }, deps)
    if (found === undefined)
      throw new ActionError(
        'the post step got no GitHub ID token to show the broker (ACTIONS_ID_TOKEN_REQUEST_URL is not set).',
      )
    return { source: brokerKeys(target, found.credential, deps), credential: found.credential }
  }
  const apiKey = getInput('api-key')
  if (apiKey === '') return undefined
  return {
    source: deepgramKeys(
      { kind: 'deepgram', apiKey, apiUrl: readDeepgramApiUrl(getInput), defaultComment: '' },
      apiKey,
      locator.projectId,
      deps,
    ),
    credential: apiKey,
  }
}

function deepgramKeys(
  spec: Extract<SourceSpec, { kind: 'deepgram' }>,
  apiKey: string,
  projectId: string,
  deps: SourceDeps,
  tagsRead: TagsRead = new Map(),
): KeySource {
  const client = deepgramClient(apiKey, spec.apiUrl, deps, deps.policy, deps.deadline)
  return {
    ...deepgramSource(client, projectId, spec.defaultComment, tagsRead),
    ...deepgramUsage(client, projectId, deps.clock.now, tagsRead),
    deadline: deps.deadline,
    renewed: () => deepgramKeys(spec, apiKey, projectId, renewedBudget(deps), tagsRead),
    within: (budgetMs) => deepgramKeys(spec, apiKey, projectId, shorterBudget(deps, budgetMs), tagsRead),
  }
}

function brokerKeys(target: BrokerTarget, idToken: string, deps: SourceDeps): KeySource {
  const client = new BrokerClient({
    baseUrl: target.url,
    idToken,
    send: deps.send,
    clock: deps.clock,
    policy: deps.policy,
    userAgent: deps.userAgent,
    deadline: deps.deadline,
    cancelled: deps.cancelled,
  })
  return {
    ...brokerSource(client, target),
    ...brokerUsage(client),
    deadline: deps.deadline,
    renewed: () => brokerKeys(target, idToken, renewedBudget(deps)),
    within: (budgetMs) => brokerKeys(target, idToken, shorterBudget(deps, budgetMs)),
  }
}

function renewedBudget(deps: SourceDeps): SourceDeps {
  return { ...deps, deadline: deps.clock.now() + deps.budgetMs }
}

function shorterBudget(deps: SourceDeps, budgetMs: number): SourceDeps {
  return { ...deps, deadline: Math.min(deps.deadline, deps.clock.now() + budgetMs) }
}

/** The step has no credential: the failure (on-missing-credentials: fail), in this run's own terms. */
export function missingCredential(kind: SourceSpec['kind'], run: RunContext): string {
  if (kind === 'deepgram')
    return `Input api-key: is empty. ${missingApiKeyCause(run)} To skip this step when the key is missing, set on-missing-credentials: skip.`
  return `${NO_ID_TOKEN} ${missingIdTokenCause(run)} To skip this step when there is none, set on-missing-credentials: skip.`
}

/** The step has no credential: the notice of a skipped step (on-missing-credentials: skip). */
export function skippedForMissingCredential(kind: SourceSpec['kind'], run: RunContext): string {
  if (kind === 'deepgram')
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
