import { hasCredentialForm } from '../shared/credential.ts'
import { isLoopbackHost } from '../shared/loopback.ts'
import { isUuid } from '../deepgram/ids.ts'
import { InputError } from '../shared/errors.ts'
import { parseExpiration, type Expiration } from '../deepgram/expiration.ts'
import { isManagementScope, whyManagement } from '../deepgram/scopes.ts'
import { unprintableIn } from '../shared/printable.ts'

/** Reads one input as the runner passes it (`INPUT_<NAME>`), trimmed; '' when unset. */
export type GetInput = (name: string) => string

export type RevokePolicy = 'auto' | 'true' | 'false'

/** Everything main needs to mint a key, validated: nothing here has been sent anywhere yet. */
export interface KeyPlan {
  apiKey: string
  /** Undefined: discover the single project api-key can see. */
  projectId?: string
  /** Management scopes only when allow-key-management is true (scopes.ts). */
  scopes: string[]
  tags: string[]
  expiration: Expiration
  /** The key's name in the console, without the invocation marker that minting appends. */
  comment: string
  revoke: RevokePolicy
  deepgramApiUrl: string
}

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

export type Mode = 'create' | 'revoke'

export function readMode(getInput: GetInput): Mode {
  const mode = (getInput('mode') || 'create').toLowerCase()
  if (mode === 'create' || mode === 'revoke') return mode
  throw new InputError('mode', `'${getInput('mode')}' is not one of create or revoke.`)
}

/** What to do when api-key is empty: fail (the default) or skip the step. */
export function readOnMissingCredentials(getInput: GetInput): 'fail' | 'skip' {
  const value = (getInput('on-missing-credentials') || 'fail').toLowerCase()
  if (value === 'fail' || value === 'skip') return value
  throw new InputError('on-missing-credentials', `'${getInput('on-missing-credentials')}' is not one of fail or skip.`)
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

const SCOPE = /^[A-Za-z0-9:_.*-]+$/

export const MISSING_API_KEY = 'is empty. Pass a Deepgram key with keys:write from a secret (api-key: ${{ secrets.DEEPGRAM_ADMIN_KEY }}).'

/** Splits a list at commas, LF and CR alike (a CR alone ends a line for the runner), trimming items and dropping empty ones. */
export function parseList(text: string): string[] {
  return text
    .split(/[,\r\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

export function readApiKey(getInput: GetInput, run: RunContext = {}): string {
  const apiKey = getInput('api-key')
  if (apiKey === '') {
    throw new InputError('api-key', `${MISSING_API_KEY} ${missingApiKeyCause(run)} To skip this step when the key is missing, set on-missing-credentials: skip.`)
  }
  checkCredential('api-key', apiKey)
  return apiKey
}

/**
 * A credential must look like one: printable ASCII without white space. A zero-width space pasted
 * with the secret would otherwise fail inside the HTTP client. The value is never echoed.
 */
export function checkCredential(name: string, value: string): void {
  if (!hasCredentialForm(value)) {
    throw new InputError(name, 'holds white space or characters that are not printable ASCII (an invisible character pasted with the secret?). Tokens are printable ASCII without spaces: copy the secret again, alone.')
  }
}

export function readProjectId(getInput: GetInput): string | undefined {
  const projectId = getInput('project-id')
  if (projectId === '') return undefined
  if (!isUuid(projectId)) {
    throw new InputError('project-id', `'${projectId}' is not a project id. Give the project's UUID (as in the Deepgram console), or leave it empty to use the single project api-key belongs to.`)
  }
  return projectId.toLowerCase()
}

export function readDeepgramApiUrl(getInput: GetInput): string {
  return readBaseUrl(getInput, 'deepgram-api-url', 'https://api.deepgram.com')
}

/**
 * A service's base URL: https, or plain http to this machine only, since anything else would carry
 * the credentials in clear text across a network.
 */
export function readBaseUrl(getInput: GetInput, name: string, fallback: string): string {
  const text = getInput(name) || fallback
  const forms = 'Give an https:// URL, or http:// to a loopback host (localhost, 127.0.0.1, [::1]).'
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InputError(name, `'${text}' is not a URL. ${forms}`)
  }
  if (url.username || url.password) throw new InputError(name, `must not carry credentials. ${forms}`)
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new InputError(name, `'${text}' is plain http to a host that is not this machine: the key would cross the network in clear text. ${forms}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InputError(name, `'${text}' is not an http(s) URL. ${forms}`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/**
 * The new key's scopes. One that can manage keys or the project needs allow-key-management: a
 * leaked key that can mint keys could mint one that never expires.
 */
export function readScopes(getInput: GetInput): string[] {
  const allowKeyManagement = readFlag(getInput, 'allow-key-management')
  const scopes = parseList(getInput('scopes'))
  if (scopes.length === 0) {
    throw new InputError('scopes', 'is empty. Give one or more scopes separated by commas or newlines, such as usage:write.')
  }
  for (const scope of scopes) {
    if (!SCOPE.test(scope)) {
      throw new InputError('scopes', `'${scope}' is not a scope. Scopes are words such as usage:write or usage:read, separated by commas or newlines.`)
    }
  }
  const management = scopes.find(isManagementScope)
  if (management !== undefined && !allowKeyManagement) {
    throw new InputError(
      'scopes',
      `'${management}' can manage keys or the project (${whyManagement(management)}), and allow-key-management is false. ` +
        'A leaked key with it could mint keys that never expire, so short-lived would mean nothing. ' +
        'For the speech APIs usage:write is enough; set allow-key-management: true only for a job that must manage keys.',
    )
  }
  return [...new Set(scopes)]
}

/** A true/false input; empty is false. */
export function readFlag(getInput: GetInput, name: string): boolean {
  const value = (getInput(name) || 'false').toLowerCase()
  if (value === 'true' || value === 'false') return value === 'true'
  throw new InputError(name, `'${getInput(name)}' is not one of true or false.`)
}

export function readRevoke(getInput: GetInput): RevokePolicy {
  const revoke = (getInput('revoke') || 'auto').toLowerCase()
  if (revoke === 'auto' || revoke === 'true' || revoke === 'false') return revoke
  throw new InputError('revoke', `'${getInput('revoke')}' is not one of auto, true or false.`)
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

/** Reads and validates every input of create mode. Throws InputError on the first bad one. */
export function readKeyPlan(getInput: GetInput, run: RunContext, now: Date): KeyPlan {
  const apiKey = readApiKey(getInput, run)
  if (getInput('key-id') !== '') {
    throw new InputError('key-id', 'applies to mode: revoke only, and mode is create. Set mode: revoke to delete keys, or remove key-id.')
  }
  const projectId = readProjectId(getInput)
  const scopes = readScopes(getInput)
  const tags = [...new Set(parseList(getInput('tags')))]
  const expiration = parseExpiration(getInput('expiration') || '1h', now)
  const revoke = readRevoke(getInput)
  const deepgramApiUrl = readDeepgramApiUrl(getInput)
  const givenComment = getInput('comment')
  const unprintable = unprintableIn(givenComment)
  if (unprintable) throw new InputError('comment', `holds ${unprintable}. Give printable text only: no control, bidirectional-text or zero-width characters.`)
  return {
    apiKey,
    projectId,
    scopes,
    tags,
    expiration,
    comment: givenComment || defaultComment(run),
    revoke,
    deepgramApiUrl,
  }
}
