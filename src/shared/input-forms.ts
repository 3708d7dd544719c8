// Forms every reader of inputs or settings shares: lists, credentials and base URLs. They take the
// input by name through GetInput, so the action and the secret plan read inputs the same way.
import { hasCredentialForm } from './credential.ts'
import { InputError } from './errors.ts'
import { isLoopbackHost } from './loopback.ts'

/** Reads one input as the runner passes it (`INPUT_<NAME>`), trimmed; '' when unset. */
export type GetInput = (name: string) => string

/** Splits a list at commas, LF and CR alike (a CR alone ends a line for the runner), trimming items and dropping empty ones. */
export function parseList(text: string): string[] {
  return text
    .split(/[,\r\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

/**
 * A credential must look like one: printable ASCII without white space. A zero-width space pasted
 * with the secret would otherwise fail inside the HTTP client. The value is never echoed.
 */
export function checkCredential(name: string, value: string): void {
  if (!hasCredentialForm(value)) {
    throw new InputError(
      name,
      'holds white space or characters that are not printable ASCII (an invisible character pasted with the secret?). Tokens are printable ASCII without spaces: copy the secret again, alone.',
    )
  }
}

/** The forms a base URL may take, for messages (without a full stop: a caller may add its default). */
export const BASE_URL_FORMS = 'Give an https:// URL, or http:// to a loopback host (localhost, 127.0.0.1, [::1])'

/**
 * A service's base URL without its trailing slash, or why it is refused, as a phrase that follows
 * its name. It is https, or plain http to this machine only, since anything else would carry
 * `credential` ("the key") in clear text across a network; and bare: no credentials, query or
 * fragment, which a path would be joined to.
 */
export function checkBaseUrl(text: string, credential: string): { url: string } | { problem: string } {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { problem: `'${text}' is not a URL` }
  }
  if (url.username || url.password || url.search || url.hash)
    return { problem: 'must be a bare base URL, without credentials, query or fragment' }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    return {
      problem: `'${text}' is plain http to a host that is not this machine: ${credential} would cross the network in clear text`,
    }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: `'${text}' is not an http(s) URL` }
  return { url: `${url.origin}${url.pathname.replace(/\/+$/, '')}` }
}

/** A base URL input (checkBaseUrl), an InputError naming it when it is not one. */
export function readBaseUrl(getInput: GetInput, name: string, fallback: string): string {
  const checked = checkBaseUrl(getInput(name) || fallback, 'the key')
  if ('problem' in checked) throw new InputError(name, `${checked.problem}. ${BASE_URL_FORMS}.`)
  return checked.url
}
