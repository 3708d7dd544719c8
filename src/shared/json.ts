// Reading JSON a service sent: nothing in it is trusted, so every value is looked at through these
// before it is used, and a missing or mistyped field reads as undefined instead of throwing.

/** The parsed JSON, or the text itself when it is not JSON (a proxy's HTML page, plain text). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** True for a JSON object (not null, not a list). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A member of an object; undefined when `value` is no object or lacks it. */
export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined
}

/** A non-empty string, else undefined. */
export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** The strings of a list (other items dropped); undefined when `value` is no list. */
export function stringsOf(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined
}
