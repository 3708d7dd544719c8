// Inputs whose forms the domain defines (deepgram/: an expiration, a key's tags), worded here as
// input errors: the broker words the same problems as refusals of its requests.
import { ExpirationError, parseExpiration, type Expiration } from '../../deepgram/expiration.ts'
import { tagsProblem } from '../../deepgram/tags.ts'
import { InputError } from '../../shared/errors.ts'
import { parseList, type GetInput } from '../../shared/input-forms.ts'

/** The `expiration` input (text as given, or the step's default), an InputError naming it when it is not one. */
export function readExpiration(text: string, now: Date): Expiration {
  try {
    return parseExpiration(text, now)
  } catch (error) {
    if (error instanceof ExpirationError) throw new InputError('expiration', error.message)
    throw error
  }
}

/** The `tags` input, each once, in the form the broker accepts too: an InputError naming it otherwise. */
export function readTags(getInput: GetInput): string[] {
  const tags = [...new Set(parseList(getInput('tags')))]
  const problem = tagsProblem(tags)
  if (problem !== undefined) throw new InputError('tags', problem)
  return tags
}
