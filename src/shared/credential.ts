/**
 * The form API keys and tokens take: printable ASCII without white space. Anything else (a
 * zero-width space pasted with the secret) is a paste mistake, and would break the HTTP header.
 */
export function hasCredentialForm(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value)
}
