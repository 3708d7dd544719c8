/** What the broker answers when it does not do what was asked: a status, a code and why. */
export class Refusal extends Error {
  readonly status: number
  readonly code: string
  readonly headers: Record<string, string>
  /** Extra fields of the JSON answer, such as Deepgram's status and request id. */
  readonly details: Record<string, unknown>

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
  ) {
    super(message)
    this.name = 'Refusal'
    this.status = status
    this.code = code
    this.headers = extra.headers ?? {}
    this.details = extra.details ?? {}
  }
}

export function badRequest(message: string): Refusal {
  return new Refusal(400, 'bad_request', message)
}

export function forbidden(code: string, message: string): Refusal {
  return new Refusal(403, code, message)
}
