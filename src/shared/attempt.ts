// One attempt of a request to a service, inside its step's budget: it is never sent once the job
// is cancelled or the budget is spent, its deadline is what is left, and every way it can fail
// without a usable answer becomes one of errors.ts's values, naming the service. The JSON service
// core (json-service.ts, under Deepgram's client and the broker's) and GitHub's secret reads share
// it, so all keep the same promises.
import {
  CancelledError,
  NetworkError,
  type ServiceError,
  type ServiceName,
  type UnusableAnswerError,
} from './errors.ts'
import {
  AnswerTooLargeError,
  oversizedAnswerError,
  TransportError,
  type HttpRequest,
  type HttpResponse,
  type HttpSend,
} from './http.ts'

/** Where one request stands in its retries: which attempt, and how long it may take. */
export interface Attempt {
  n: number
  remainingMs: number
}

export interface ServiceLink {
  service: ServiceName
  /** The input that names the service's URL, for an answer too large to be the service's. */
  urlInput: string
  send: HttpSend
  now: () => number
  /** Epoch ms after which no request may still run: the step's own bound. */
  deadline?: number
  /** Aborts every request at once when the job is cancelled. */
  cancelled?: AbortSignal
  /** What the error says when the job is cancelled while `action`. */
  cancelledMessage: (action: string) => string
  /** The service's request id, from the headers of an answer that could not be read. */
  requestIdOf: (headers: Record<string, string | undefined>) => string | undefined
}

export async function sendAttempt(
  link: ServiceLink,
  request: Omit<HttpRequest, 'timeoutMs' | 'signal'>,
  action: string,
  attempt: Attempt,
): Promise<HttpResponse> {
  const { service, cancelled } = link
  if (cancelled?.aborted) throw new CancelledError(link.cancelledMessage(action))
  const timeoutMs = Math.min(attempt.remainingMs, (link.deadline ?? Infinity) - link.now())
  const host = new URL(request.url).host
  if (timeoutMs <= 0)
    throw new NetworkError(service, action, "no time was left in the step's budget", false, {
      attempts: attempt.n - 1,
      host,
    })
  try {
    return await link.send({
      ...request,
      timeoutMs: Number.isFinite(timeoutMs) ? timeoutMs : undefined,
      signal: cancelled,
    })
  } catch (error) {
    if (cancelled?.aborted) throw new CancelledError(link.cancelledMessage(action))
    if (error instanceof TransportError)
      throw new NetworkError(service, action, error.message, error.sent, {
        attempts: attempt.n,
        host,
        proxy: error.proxy,
      })
    if (error instanceof AnswerTooLargeError) throw tooLarge(link, error, action)
    throw error
  }
}

/** A service's own answers are small: one too large to read came from something else. */
function tooLarge(link: ServiceLink, error: AnswerTooLargeError, action: string): ServiceError | UnusableAnswerError {
  return oversizedAnswerError(error, {
    service: link.service,
    action,
    requestId: link.requestIdOf(error.headers),
    urlInput: link.urlInput,
  })
}
