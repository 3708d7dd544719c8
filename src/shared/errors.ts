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

/** The request did not get an HTTP answer. `sent` says whether the service may have processed it. */
export class NetworkError extends Error {
  readonly sent: boolean
  readonly service: ServiceName
  constructor(service: ServiceName, action: string, cause: string, sent: boolean) {
    super(`${service} could not be reached while ${action}: ${cause}`)
    this.name = 'NetworkError'
    this.service = service
    this.sent = sent
  }
}

/** The action's own rule was broken by a service's answer, or a clean-up went wrong. */
export class ActionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ActionError'
  }
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
