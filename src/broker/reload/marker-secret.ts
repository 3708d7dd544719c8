// The secret that signs the broker's ownership markers when BROKER_MARKER_SECRET or the file
// BROKER_MARKER_SECRET_FILE gives one: the same in every replica and independent of the admin
// key, so that a broker started after an admin key rotation still owns the keys minted before.
import { hasCredentialForm } from '../../shared/credential.ts'
import type { Loaded } from './watched-file.ts'

/** 32 characters: as many random bytes, or 128 bits as hex; `openssl rand -hex 32` gives 64. */
export const MARKER_SECRET_MIN_LENGTH = 32

const FORMS = `Give at least ${MARKER_SECRET_MIN_LENGTH} random printable characters without spaces, the same in every replica, such as \`openssl rand -hex 32\` prints.`

/** What is wrong with a marker secret, if anything; `source` names where it came from. Never quotes the secret. */
export function markerSecretProblem(secret: string, source: string): string | undefined {
  if (!hasCredentialForm(secret) && secret !== '')
    return `${source} holds spaces or characters that are not printable ASCII. ${FORMS}`
  if (secret.length < MARKER_SECRET_MIN_LENGTH)
    return `${source} holds ${secret.length} characters, fewer than ${MARKER_SECRET_MIN_LENGTH}. ${FORMS}`
  return undefined
}

/** The secret a file holds: its text without the line break that editors and `echo` put at the end. */
export function loadMarkerSecret(text: string, path: string): Loaded<string> {
  const secret = text.replace(/(\r?\n)+$/, '')
  const problem = markerSecretProblem(secret, `BROKER_MARKER_SECRET_FILE ${path}`)
  return problem === undefined ? { value: secret } : { problems: [problem] }
}
