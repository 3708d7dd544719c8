// Every failure the action reports is one of these values. They carry what a person needs to act
// (which input, which service answered what, its request id, what to do) and are turned into a
// single `::error::` line in one place: describeFailure().

/** An input is malformed or a combination is impossible. Found before any request is sent. */
export class InputError extends Error {
  readonly input: string
  constructor(input: string, message: string) {
    super(`Input ${input}: ${message}`)
    this.name = 'InputError'
    this.input = input
  }
}

export type ServiceName = 'Deepgram' | 'GitHub' | 'The broker'

export interface ServiceErrorDetails {
  service: ServiceName
  /** What we were doing, as a gerund phrase: "creating the key". */
  action: string
  status: number
  /** The service's own code (Deepgram err_code/category), if any. */
  code?: string
  /** The service's own message, as it said it. */
  message: string
  requestId?: string
  /** What the user can do about it. */
  hint?: string
  /** Seconds the service asked us to wait (Retry-After). */
  retryAfterSeconds?: number
}

/** A service answered, and the answer was a refusal. */
export class ServiceError extends Error {
  readonly details: ServiceErrorDetails
  constructor(details: ServiceErrorDetails) {
    super(formatServiceError(details))
    this.name = 'ServiceError'
    this.details = details
  }
  get status(): number {
    return this.details.status
  }
}

/** Where a request that got no answer was going, and how hard we tried: for the error message. */
export interface NetworkContext {
  /** Attempts made in all, the failed one included. */
  attempts?: number
  /** The host the request was for. */
  host?: string
  /** The proxy it went through, without credentials. */
  proxy?: string
}

/** The request did not get an HTTP answer. `sent` says whether the service may have processed it. */
export class NetworkError extends Error {
  readonly sent: boolean
  readonly service: ServiceName
  constructor(service: ServiceName, action: string, cause: string, sent: boolean, context: NetworkContext = {}) {
    super(formatNetworkError(service, action, cause, context))
    this.name = 'NetworkError'
    this.service = service
    this.sent = sent
  }
}

function formatNetworkError(service: ServiceName, action: string, cause: string, context: NetworkContext): string {
  const attempts =
    context.attempts === undefined ? '' : ` after ${context.attempts} attempt${context.attempts === 1 ? '' : 's'}`
  const host = context.host ?? `${service}'s API`
  const route =
    context.proxy === undefined
      ? ''
      : ` through the proxy ${context.proxy} (HTTPS_PROXY/HTTP_PROXY; NO_PROXY lists hosts that go direct)`
  const check =
    context.proxy === undefined
      ? `the runner can reach ${host} (DNS, firewall)`
      : `the proxy is up and lets the runner reach ${host}`
  return `${service} could not be reached while ${action}${attempts}${route}: ${cause}. Check that ${check}, then run the job again.`
}

/** The job was cancelled (SIGINT or SIGTERM from the runner) while the step was working. */
export class CancelledError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CancelledError'
  }
}

/**
 * A service answered with success, but the answer is not what it should be (not JSON, fields
 * missing, too large). The message describes its shape only: the body may hold a secret.
 */
export class UnusableAnswerError extends Error {
  readonly status: number
  readonly requestId: string | undefined
  /** @param hint what the user can do about it, when there is something. */
  constructor(
    service: ServiceName,
    action: string,
    status: number,
    problem: string,
    requestId: string | undefined,
    hint?: string,
  ) {
    super(
      `${service} answered HTTP ${status} while ${action}, but ${problem}${requestId ? ` (request id ${requestId})` : ' (no request id)'}.${hint ? ` ${hint}` : ''}`,
    )
    this.name = 'UnusableAnswerError'
    this.status = status
    this.requestId = requestId
  }
}

/** The action's own rule was broken by a service's answer, or a clean-up went wrong. */
export class ActionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ActionError'
  }
}

/** The files the runner gives a step to write, by the variable that names them. */
export type RunnerFile = 'GITHUB_OUTPUT' | 'GITHUB_STATE' | 'GITHUB_STEP_SUMMARY'

const FREE_SPACE = 'Free disk space on the runner (the volume of its work directory is full)'
const PERMISSIONS = "Check that the runner's user may write to its work directory (its owner, permissions and mount)"
const CHECK_DISK = "Check the runner's disk and its work directory"

/** What a system error code means, and what a person can do about it. */
const FILE_FAILURES: Record<string, { reason: string; todo: string }> = {
  ENOSPC: { reason: 'no space left on the device', todo: FREE_SPACE },
  EDQUOT: { reason: 'disk quota exceeded', todo: FREE_SPACE },
  EFBIG: { reason: 'the file is too large', todo: FREE_SPACE },
  EACCES: { reason: 'permission denied', todo: PERMISSIONS },
  EPERM: { reason: 'operation not permitted', todo: PERMISSIONS },
  EROFS: { reason: 'read-only file system', todo: PERMISSIONS },
  ENOENT: {
    reason: 'the file does not exist',
    todo: "Check that no earlier step deletes files in the runner's temporary directory (RUNNER_TEMP)",
  },
  EISDIR: { reason: 'it is a directory', todo: "Check that no earlier step changes the runner's file variables" },
  EIO: { reason: 'input/output error', todo: CHECK_DISK },
}

/**
 * A file the runner reads once the step ends could not be written. Names the file (its variable
 * and path), the system's reason and what to do; never the value that was being written.
 */
export class RunnerFileError extends Error {
  readonly file: RunnerFile
  readonly path: string
  /** The system's error code (ENOSPC, EACCES...), when it gave one. */
  readonly code: string | undefined
  /**
   * @param doing what was being written, as a phrase after "Could not": "write output key-id".
   * @param cause what @actions/core threw.
   */
  constructor(file: RunnerFile, path: string, doing: string, cause: unknown) {
    const code = systemCode(cause)
    const known = code === undefined ? undefined : FILE_FAILURES[code]
    const reason = code === undefined ? causeMessage(cause) : `${code} (${known?.reason ?? causeMessage(cause)})`
    const todo = known?.todo ?? CHECK_DISK
    const then =
      file === 'GITHUB_STEP_SUMMARY'
        ? `Only the summary is missing: the step's work is not affected. ${todo}.`
        : `${todo}, then run the job again.`
    super(`Could not ${doing}: writing the runner's file ${file} (${path || 'not set'}) failed with ${reason}. ${then}`)
    this.name = 'RunnerFileError'
    this.file = file
    this.path = path
    this.code = code
  }
}

function systemCode(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : undefined
}

function causeMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function formatServiceError(d: ServiceErrorDetails): string {
  const code = d.code ? ` ${d.code}` : ''
  const requestId = d.requestId ? ` (request id ${d.requestId})` : ' (no request id)'
  const hint = d.hint ? ` ${d.hint}` : ''
  return `${d.service} answered HTTP ${d.status}${code} while ${d.action}: ${d.message}${requestId}.${hint}`
}

/**
 * The one message a failure ends with. Known errors speak for themselves; anything else is a bug
 * of ours, reported by message only (a stack trace helps nobody reading a workflow log).
 */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message
  return `Unexpected failure: ${String(error)}`
}

/**
 * Replaces every secret in a text by `***`. The runner masks registered secrets in the log already;
 * this keeps them out of anything we write elsewhere (summary, files) and out of tests' transcripts.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***')
  }
  return out
}
