// The port the token flow works through: one grant of a temporary token, from Deepgram itself with
// the step's api-key (sources/deepgram.ts) or from the broker with the job's OIDC token
// (sources/broker.ts). Both answers are checked the same way (deepgram/grant.ts checkToken).
import type { ServiceName } from '../../shared/errors.ts'

/** What to grant, validated already. */
export interface TokenRequest {
  /** Seconds the token may live (ttl_seconds): 1 to 3600. */
  seconds: number
  /** The expiration as the step wrote it, for the broker, which reads the same forms. */
  expiration: string
}

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
  grant(request: TokenRequest): Promise<TokenAnswer>
}

/** A TokenSource as the step holds it: with who answers, for the log and the summary. */
export interface StepTokenSource extends TokenSource {
  readonly service: ServiceName
  /** The base URL asked. */
  readonly url: string
}
