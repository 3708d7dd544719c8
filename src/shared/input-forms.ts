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

/**
 * A service's base URL: https, or plain http to this machine only, since anything else would carry
 * the credentials in clear text across a network.
 */
export function readBaseUrl(getInput: GetInput, name: string, fallback: string): string {
  const text = getInput(name) || fallback
  const forms = 'Give an https:// URL, or http:// to a loopback host (localhost, 127.0.0.1, [::1]).'
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InputError(name, `'${text}' is not a URL. ${forms}`)
  }
  if (url.username || url.password) throw new InputError(name, `must not carry credentials. ${forms}`)
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new InputError(
      name,
      `'${text}' is plain http to a host that is not this machine: the key would cross the network in clear text. ${forms}`,
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InputError(name, `'${text}' is not an http(s) URL. ${forms}`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}
