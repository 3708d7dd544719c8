import { InputError } from '../../shared/errors.ts'
import { readDeepgramApiUrl } from '../inputs.ts'
import { readBaseUrl, type GetInput } from '../../shared/input-forms.ts'

/** Where the broker is, and the audience its policy requires of every ID token. */
export interface BrokerTarget {
  url: string
  audience: string
}

/** True when the step asks for broker mode (either broker input set; the other is then checked). */
export function wantsBroker(getInput: GetInput): boolean {
  return getInput('broker-url') !== '' || getInput('broker-audience') !== ''
}

const AUDIENCE = /^[\x21-\x7e]{1,256}$/

/**
 * broker-url and broker-audience, and the direct-mode inputs that have no place next to them:
 * the broker holds the Deepgram key, chooses the project and calls Deepgram itself.
 */
export function readBrokerTarget(getInput: GetInput): BrokerTarget {
  if (getInput('broker-url') === '') {
    throw new InputError(
      'broker-url',
      "is empty, and broker-audience needs it. Give the broker's URL (https://...), or remove broker-audience.",
    )
  }
  const url = readBaseUrl(getInput, 'broker-url', '')
  for (const name of ['api-key', 'project-id']) {
    if (getInput(name) !== '') {
      throw new InputError(
        name,
        `must be empty with broker-url: the broker holds the Deepgram key and chooses the project. Remove ${name} from this step, or remove broker-url to mint with a key of your own.`,
      )
    }
  }
  const deepgramApiUrl = getInput('deepgram-api-url')
  if (deepgramApiUrl !== '' && deepgramApiUrl.replace(/\/+$/, '') !== readDeepgramApiUrl(() => '')) {
    throw new InputError(
      'deepgram-api-url',
      'has no effect with broker-url: the broker calls Deepgram itself (its DEEPGRAM_API_URL). Remove it from this step.',
    )
  }
  const audience = getInput('broker-audience') || new URL(url).origin
  if (!AUDIENCE.test(audience)) {
    throw new InputError(
      'broker-audience',
      "is not an audience. Give the audience of the broker's policy (its audience field), such as https://deepgram-broker.example.com, or leave it empty for the origin of broker-url.",
    )
  }
  return { url, audience }
}
