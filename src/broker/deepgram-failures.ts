// Deepgram's failures as the broker's answers.
import { ActionError, NetworkError, ServiceError, UnusableAnswerError } from '../shared/errors.ts'
import { Refusal } from './refusal.ts'

export function keyNotFound(keyId: string): Refusal {
  return new Refusal(404, 'not_found', `Key ${keyId} does not exist or is already deleted.`)
}

/** Runs a Deepgram call; its failure becomes 502 with Deepgram's status and request id (404 of a key: 404). */
export async function callDeepgram<T>(call: () => Promise<T>, keyId?: string): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof ServiceError) {
      if (keyId !== undefined && error.status === 404) throw keyNotFound(keyId)
      const { status, message, requestId, action } = error.details
      throw new Refusal(
        502,
        'deepgram_failed',
        `Deepgram answered HTTP ${status} while ${action}: ${message} (request id ${requestId ?? 'none'}). Try again later; if it persists, check the broker's admin key and project.`,
        {
          details: { deepgram_status: status, deepgram_request_id: requestId ?? null },
        },
      )
    }
    // An answer that is not what it should be (too large, not JSON) is Deepgram's failure too: a 502, never a 500.
    if (error instanceof NetworkError || error instanceof ActionError || error instanceof UnusableAnswerError)
      throw new Refusal(502, 'deepgram_failed', `${error.message} Try again later.`)
    throw error
  }
}
