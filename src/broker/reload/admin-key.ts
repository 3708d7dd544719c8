// The admin key as the broker holds it: from DEEPGRAM_ADMIN_KEY, or from the file
// DEEPGRAM_ADMIN_KEY_FILE names (a mounted Kubernetes Secret), read again when it changes.
import { hasCredentialForm } from '../../shared/credential.ts'
import { sha256, type Loaded } from './watched-file.ts'

/** What is wrong with an admin key, if anything; `source` names where it came from. Never quotes the key. */
export function adminKeyProblem(key: string, source: string): string | undefined {
  if (key === '') return `${source} is empty. Give a Deepgram API key with keys:write in the project.`
  if (!hasCredentialForm(key))
    return `${source} holds spaces or characters that are not printable ASCII. Give the key alone, as Deepgram shows it.`
  return undefined
}

/** The key a key file holds: its text without the line break that editors and `echo` put at the end. */
export function loadAdminKey(text: string, path: string): Loaded<string> {
  const key = text.replace(/(\r?\n)+$/, '')
  const problem = adminKeyProblem(key, `DEEPGRAM_ADMIN_KEY_FILE ${path}`)
  return problem === undefined ? { value: key } : { problems: [problem] }
}

/**
 * Which key is in use, without revealing it: the first 16 hex digits of its SHA-256. A Deepgram
 * key carries 160 random bits, so 64 bits of its digest help nobody guess it, and an operator
 * computes the same with `printf %s "$KEY" | sha256sum | cut -c1-16`.
 */
export function keyFingerprint(key: string): string {
  return sha256(key).slice(0, 16)
}
