// Who grants the token: Deepgram itself with the step's api-key (POST /v1/auth/grant), or the
// broker with the job's OIDC token (POST /v1/tokens). Both answers are checked the same way
// (checkToken). A grant leaves nothing behind, so both are retried like reads, within main's budget.
import { DeepgramClient, type GrantAnswer } from '../../deepgram/client.ts'
import { field } from '../../shared/json.ts'
import { grantToken } from '../../deepgram/grant.ts'
import type { ServiceName } from '../../shared/errors.ts'
import type { HttpSend } from '../../shared/http.ts'
import { MAIN_POLICY, type RetryClock } from '../../shared/retry.ts'
import { BrokerClient } from '../sources/broker-client.ts'
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
    grant: async (seconds) => tokenAnswer(await grantToken(client, seconds)),
  }
}

/** The broker's POST /v1/tokens, with the job's ID token, which never reaches a log or an error. */
export function brokerSource(
  broker: BrokerTarget,
  expirationText: string,
  idToken: string,
  deps: SourceDeps,
): TokenSource {
  const client = new BrokerClient({ baseUrl: broker.url, idToken, policy: MAIN_POLICY, ...deps })
  return {
    service: 'The broker',
    url: broker.url,
    grant: async () => tokenAnswer(await client.grantToken(expirationText)),
  }
}

/** Either service's answer, its two fields as they came, for checkToken. */
function tokenAnswer(answer: GrantAnswer): TokenAnswer {
  return {
    accessToken: field(answer.body, 'access_token'),
    expiresIn: field(answer.body, 'expires_in'),
    sentAt: answer.sentAt,
    status: answer.status,
    requestId: answer.requestId,
  }
}
