import { ExpirationError, parseExpiration, type Expiration } from '../deepgram/expiration.ts'
import { InputError } from '../shared/errors.ts'

/** The `expiration` input (text as given, or the step's default), an InputError naming it when it is not one. */
export function readExpiration(text: string, now: Date): Expiration {
  try {
    return parseExpiration(text, now)
  } catch (error) {
    if (error instanceof ExpirationError) throw new InputError('expiration', error.message)
    throw error
  }
}
