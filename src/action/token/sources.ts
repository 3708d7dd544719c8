// Who grants the token: Deepgram itself with the step's api-key (POST /v1/auth/grant), or the
// broker with the job's OIDC token (POST /v1/tokens). Both answers are checked the same way
// (checkToken). A grant leaves nothing behind, so both are retried like reads, within main's budget.
import { DeepgramClient, field, parseJson, transientVerdict } from '../../deepgram/client.ts'
import { GRANT_CANCELLED, grantToken } from '../../deepgram/grant.ts'
import { sendAttempt, type Attempt, type ServiceLink } from '../../shared/attempt.ts'
import { ServiceError, type ServiceName } from '../../shared/errors.ts'
import type { HttpResponse, HttpSend } from '../../shared/http.ts'
import { endingBy, MAIN_POLICY, parseRetryAfter, withRetry, type RetryClock } from '../../shared/retry.ts'
import type { BrokerTarget } from '../sources/broker-inputs.ts'
import type { DirectTokenPlan } from './inputs.ts'

/** A 2xx answer to a grant, unchecked: access_token and expires_in as they came. */
export interface TokenAnswer {
  accessToken: unknown
  expiresIn: unknown
  /** When the attempt that got this answer was sent (epoch ms). */
  sentAt: number
  status: number
  requestId?: string
}

export interface TokenSource {
  service: ServiceName
  /** The base URL asked, for the log and the summary. */
  url: string
  grant(seconds: number): Promise<TokenAnswer>
}

/** What a source needs of the step. */
export interface SourceDeps {
  send: HttpSend
  clock: RetryClock
  userAgent: string
  cancelled?: AbortSignal
  /** Epoch ms by which every request has ended: main's budget. */
  deadline: number
}

export function deepgramSource(plan: DirectTokenPlan, deps: SourceDeps): TokenSource {
  const client = new DeepgramClient({ baseUrl: plan.deepgramApiUrl, apiKey: plan.apiKey, policy: MAIN_POLICY, ...deps })
  return {
    service: 'Deepgram',
    url: plan.deepgramApiUrl,
    grant: async (seconds) => {
      const answer = await grantToken(client, seconds)
      return { accessToken: field(answer.body, 'access_token'), expiresIn: field(answer.body, 'expires_in'), sentAt: answer.sentAt, status: answer.status, requestId: answer.requestId }
    },
  }
}

const ACTION = 'granting a temporary token'

/** The broker's POST /v1/tokens, with the job's ID token, which never reaches a log or an error. */
export function brokerSource(broker: BrokerTarget, expirationText: string, idToken: string, deps: SourceDeps): TokenSource {
  const { clock, deadline } = deps
  return {
    service: 'The broker',
    url: broker.url,
    grant: () =>
      withRetry(
        async (n, remainingMs) => {
          const sentAt = clock.now()
          const response = await sendToBroker(`${broker.url}/v1/tokens`, JSON.stringify({ expiration: expirationText }), idToken, deps, { n, remainingMs })
          if (response.status < 200 || response.status >= 300) throw brokerRefusal(response, clock.now())
          const body = parseJson(response.body)
          return { accessToken: field(body, 'access_token'), expiresIn: field(body, 'expires_in'), sentAt, status: response.status, requestId: response.headers['x-request-id'] }
        },
        transientVerdict,
        endingBy(MAIN_POLICY, deadline, clock.now()),
        clock,
      ),
  }
}

function sendToBroker(url: string, body: string, idToken: string, deps: SourceDeps, attempt: Attempt): Promise<HttpResponse> {
  const { send, clock, userAgent, cancelled, deadline } = deps
  const link: ServiceLink = { service: 'The broker', urlInput: 'broker-url', send, now: clock.now, deadline, cancelled, cancelledMessage: () => GRANT_CANCELLED, requestIdOf: (headers) => headers['x-request-id'] }
  const headers = { authorization: `Bearer ${idToken}`, accept: 'application/json', 'content-type': 'application/json', 'user-agent': userAgent }
  return sendAttempt(link, { method: 'POST', url, headers, body }, ACTION, attempt)
}

/** A refusal from the broker's `{error, message}` body (or whatever a proxy in front said), with what to do. */
function brokerRefusal(response: HttpResponse, now: number): ServiceError {
  const body = parseJson(response.body)
  const code = typeof field(body, 'error') === 'string' ? String(field(body, 'error')) : undefined
  const said = field(body, 'message')
  const message = (typeof said === 'string' && said !== '' ? said : response.body.slice(0, 300) || 'no message').replace(/\s+/g, ' ').trim()
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now)
  return new ServiceError({
    service: 'The broker',
    action: ACTION,
    status: response.status,
    code,
    message,
    requestId: response.headers['x-request-id'],
    hint: refusalHint(response.status, code),
    retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
  })
}

function refusalHint(status: number, code: string | undefined): string {
  if (code === 'scope_not_allowed') return "The rule matching this job does not grant usage:write, so it allows no tokens: ask the broker's operators for one that does, or use credential: key."
  if (code === 'lifetime_not_allowed') return "Give a shorter expiration: at most the matching rule's max-expiration."
  switch (status) {
    case 400:
      return 'Check expiration: a token lives 1 s to 1 h.'
    case 401:
      return "The broker did not accept this job's ID token: broker-audience must be the audience of the broker's policy, and the broker must trust GitHub's issuer."
    case 403:
      return "Ask the broker's operators for a rule matching this repository, ref and workflow."
    case 404:
    case 405:
      return 'This broker grants no tokens (it has no POST /v1/tokens): ask its operators to update it, or use credential: key.'
    case 429:
      return 'The broker limits keys and tokens per repository and minute; run the job again in a minute.'
    case 502:
      return 'Deepgram failed behind the broker; run the job again later.'
    default:
      return status >= 500 ? "The broker had a problem; run the job again later, or tell the broker's operators." : "Tell the broker's operators."
  }
}
