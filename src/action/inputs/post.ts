// The inputs the post step reads, once, before any request. Main checked them all already, so
// none fails the post step: a value main would have refused is carried as its error, for the
// one use that needs it.
import { InputError } from '../../shared/errors.ts'
import type { GetInput } from '../../shared/input-forms.ts'
import { readDeepgramApiUrl } from './source.ts'
import { readUsageReport, type UsageReportPolicy } from './usage.ts'

export interface PostInputs {
  /** '' when not given: post can then delete nothing in direct mode. */
  apiKey: string
  /** '' when not given. */
  githubToken: string
  /** credential: token; main left nothing to revoke. */
  tokenCredential: boolean
  deepgramApiUrl: string | InputError
  /** Undefined when the value is not one main accepts (then main created nothing to report on). */
  usageReport?: UsageReportPolicy
}

export function readPostInputs(getInput: GetInput): PostInputs {
  const usageReport = orError(() => readUsageReport(getInput))
  return {
    apiKey: getInput('api-key'),
    githubToken: getInput('github-token'),
    tokenCredential: getInput('credential').toLowerCase() === 'token',
    deepgramApiUrl: orError(() => readDeepgramApiUrl(getInput)),
    ...(usageReport instanceof InputError ? {} : { usageReport }),
  }
}

function orError<T>(read: () => T): T | InputError {
  try {
    return read()
  } catch (error) {
    if (error instanceof InputError) return error
    throw error
  }
}
