// Which source of keys or tokens the step names, and the inputs of each: direct mode (api-key,
// project-id, deepgram-api-url: straight to Deepgram) or broker mode (broker-url, broker-audience:
// the broker, with the job's OIDC token). The other mode's inputs must be empty.
import { InputError } from '../../shared/errors.ts'
import { checkCredential, readBaseUrl, type GetInput } from '../../shared/input-forms.ts'
import { isUuid } from '../../deepgram/ids.ts'

/** What the workflow run tells us about itself: for the default comment, and to explain a missing key. */
export interface RunContext {
  repository?: string
  workflow?: string
  runId?: string
  runAttempt?: string
  job?: string
  actor?: string
  /** For pull_request events: the head repository when it is a fork. */
  forkRepository?: string
}

/** The source the step names, validated: nothing has been sent anywhere yet. */
export type SourceSpec =
  | {
      kind: 'deepgram'
      /** '' only when the step may be skipped for want of it (on-missing-credentials: skip). */
      apiKey: string
      projectId?: string
      apiUrl: string
      defaultComment: string
    }
  | { kind: 'broker'; target: BrokerTarget }

/** Reads the inputs of the source the step asks for. `mayLackApiKey`: an empty api-key is no error here. */
export function readSourceSpec(getInput: GetInput, run: RunContext, mayLackApiKey = false): SourceSpec {
  if (wantsBroker(getInput)) return { kind: 'broker', target: readBrokerTarget(getInput) }
  return {
    kind: 'deepgram',
    apiKey: mayLackApiKey && getInput('api-key') === '' ? '' : readApiKey(getInput, run),
    projectId: readProjectId(getInput),
    apiUrl: readDeepgramApiUrl(getInput),
    defaultComment: defaultComment(run),
  }
}

/** Where the broker is, and the audience its policy requires of every ID token. */
export interface BrokerTarget {
  url: string
  audience: string
}

/** True when the step asks for broker mode (either broker input set; the other is then checked). */
export function wantsBroker(getInput: GetInput): boolean {
  return getInput('broker-url') !== '' || getInput('broker-audience') !== ''
}

const AUDIENCE = /^[\x21-\x7e]{1,256}$/

/**
 * broker-url and broker-audience, and the direct-mode inputs that have no place next to them:
 * the broker holds the Deepgram key, chooses the project and calls Deepgram itself.
 */
export function readBrokerTarget(getInput: GetInput): BrokerTarget {
  if (getInput('broker-url') === '') {
    throw new InputError(
      'broker-url',
      "is empty, and broker-audience needs it. Give the broker's URL (https://...), or remove broker-audience.",
    )
  }
  const url = readBaseUrl(getInput, 'broker-url', '')
  for (const name of ['api-key', 'project-id']) {
    if (getInput(name) !== '') {
      throw new InputError(
        name,
        `must be empty with broker-url: the broker holds the Deepgram key and chooses the project. Remove ${name} from this step, or remove broker-url to mint with a key of your own.`,
      )
    }
  }
  const deepgramApiUrl = getInput('deepgram-api-url')
  if (deepgramApiUrl !== '' && deepgramApiUrl.replace(/\/+$/, '') !== readDeepgramApiUrl(() => '')) {
    throw new InputError(
      'deepgram-api-url',
      'has no effect with broker-url: the broker calls Deepgram itself (its DEEPGRAM_API_URL). Remove it from this step.',
    )
  }
  const audience = getInput('broker-audience') || new URL(url).origin
  if (!AUDIENCE.test(audience)) {
    throw new InputError(
      'broker-audience',
      "is not an audience. Give the audience of the broker's policy (its audience field), such as https://deepgram-broker.example.com, or leave it empty for the origin of broker-url.",
    )
  }
  return { url, audience }
}

/** Why api-key is empty, in this run's own terms. */
export function missingApiKeyCause(run: RunContext): string {
  if (run.forkRepository) {
    return `This run is for a pull request from the fork ${run.forkRepository}, and GitHub gives no secrets to workflows run for pull requests from forks.`
  }
  if (run.actor === 'dependabot[bot]') {
    return 'This run was started by Dependabot, and Dependabot runs receive only Dependabot secrets: add the Deepgram key as a Dependabot secret too.'
  }
  return 'If the secret exists, this run did not receive it: GitHub gives no secrets to workflows run for pull requests from forks, and gives Dependabot runs only Dependabot secrets.'
}

export const MISSING_API_KEY =
  'is empty. Pass a Deepgram key with keys:write from a secret (api-key: ${{ secrets.DEEPGRAM_ADMIN_KEY }}).'

export function readApiKey(getInput: GetInput, run: RunContext = {}): string {
  const apiKey = getInput('api-key')
  if (apiKey === '') {
    throw new InputError(
      'api-key',
      `${MISSING_API_KEY} ${missingApiKeyCause(run)} To skip this step when the key is missing, set on-missing-credentials: skip.`,
    )
  }
  checkCredential('api-key', apiKey)
  return apiKey
}

export function readProjectId(getInput: GetInput): string | undefined {
  const projectId = getInput('project-id')
  if (projectId === '') return undefined
  if (!isUuid(projectId)) {
    throw new InputError(
      'project-id',
      `'${projectId}' is not a project id. Give the project's UUID (as in the Deepgram console), or leave it empty to use the single project api-key belongs to.`,
    )
  }
  return projectId.toLowerCase()
}

export function readDeepgramApiUrl(getInput: GetInput): string {
  return readBaseUrl(getInput, 'deepgram-api-url', 'https://api.deepgram.com')
}

/** A comment that names the run; the marker appended at minting makes it unique. */
export function defaultComment(run: RunContext): string {
  const repository = run.repository ?? 'local run'
  const parts = [
    repository,
    run.workflow ? `workflow ${run.workflow}` : undefined,
    run.runId ? `run ${run.runId}.${run.runAttempt ?? '1'}` : undefined,
    run.job ? `job ${run.job}` : undefined,
  ]
  return `GitHub Actions: ${parts.filter(Boolean).join(' / ')}`
}
