// Text that people read in a console (a key's comment) must show what it says. Control
// characters and line separators break lines or drive terminals; bidirectional-text controls
// reorder what is shown (a comment could display another repository's name); zero-width
// characters hide text or make two strings that look equal differ.

const CLASSES: [RegExp, string][] = [
  [/[\u0000-\u001f\u007f-\u009f]/, 'a control character'],
  [/[\u2028\u2029]/, 'a line separator'],
  [/[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/, 'a bidirectional-text control'],
  [/[\u200b-\u200d\u2060\ufeff]/, 'a zero-width character'],
]

const ANY = new RegExp(CLASSES.map(([pattern]) => pattern.source).join('|'))

/**
 * The first character of `text` that is not printable, described for a message (such as
 * `a bidirectional-text control (U+202E) at position 7`), or undefined when all are printable.
 */
export function unprintableIn(text: string): string | undefined {
  const found = ANY.exec(text)
  if (!found) return undefined
  const char = found[0]
  const what = CLASSES.find(([pattern]) => pattern.test(char))?.[1] ?? 'an unprintable character'
  const code = char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')
  return `${what} (U+${code}) at position ${found.index + 1}`
}
