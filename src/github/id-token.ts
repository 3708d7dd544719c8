// The job's GitHub OIDC token, from the runner's token service. @actions/core's getIDToken retries
// up to ten times with no deadline and cannot be aborted, so a token service that stops answering
// kept the step alive until the job's timeout. This asks with a deadline, and gives up at it.
import { TransportError, type HttpSend } from '../shared/http.ts'

/** What the runner sets for a job with permissions: id-token: write. */
export interface RunnerTokenService {
  ACTIONS_ID_TOKEN_REQUEST_URL?: string
  ACTIONS_ID_TOKEN_REQUEST_TOKEN?: string
}

/** The token service answered, but with no token. */
export class IdTokenError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'IdTokenError'
  }
}

/**
 * Asks the runner for an ID token for `audience`, within `timeoutMs` for the whole exchange.
 * Undefined when the job may not have one (no ACTIONS_ID_TOKEN_REQUEST_URL).
 */
export async function requestIdToken(
  send: HttpSend,
  service: RunnerTokenService,
  audience: string,
  timeoutMs: number,
  userAgent: string,
): Promise<string | undefined> {
  const base = service.ACTIONS_ID_TOKEN_REQUEST_URL ?? ''
  if (base === '') return undefined
  const url = `${base}${base.includes('?') ? '&' : '?'}audience=${encodeURIComponent(audience)}`
  let response
  try {
    response = await send({
      method: 'GET',
      url,
      headers: {
        authorization: `Bearer ${service.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? ''}`,
        accept: 'application/json',
        'user-agent': userAgent,
      },
      timeoutMs,
    })
  } catch (error) {
    if (error instanceof TransportError)
      throw new IdTokenError(`the runner's token service did not answer: ${error.message}`)
    throw error
  }
  if (response.status !== 200) throw new IdTokenError(`the runner's token service answered HTTP ${response.status}`)
  let value: unknown
  try {
    value = (JSON.parse(response.body) as { value?: unknown }).value
  } catch {
    value = undefined
  }
  if (typeof value !== 'string' || value === '')
    throw new IdTokenError("the runner's token service answered without a token")
  return value
}
