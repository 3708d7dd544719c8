// Text the action did not write itself (inputs, Deepgram's and GitHub's answers, the event
// payload, the environment) ends up inside log messages and the job summary. The runner reads
// stdout line by line and obeys workflow commands in it: `::command::` at the start of a line
// (after leading white space) and the legacy `##[command]` anywhere in a line. A value that could
// start a line, or carries `##[`, could plant `::add-mask::`, `::stop-commands::` or a step
// output. Every message passes through here on its way out (actions-io.ts), so no call site can
// forget.

/**
 * Characters that end a line somewhere (CR, LF, VT, FF, NEL, U+2028, U+2029) or that a terminal
 * or the log viewer acts on: every C0 and C1 control character and DEL.
 */
const BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

const NAMED: Record<string, string> = { '\r': '\\r', '\n': '\\n', '\t': '\\t' }

/** A control character as an escape anyone can read: \r, \n, \t, else \u0085 and the like. */
function escape(char: string): string {
  return NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** `##[` that the runner would take as a legacy command: a space keeps the text and defuses it. */
function defuseLegacyCommands(text: string): string {
  return text.replace(/##\[/g, '## [')
}

/**
 * One line of log that cannot become a workflow command: every line separator and control
 * character is shown as an escape, `##[` is broken up, and a message that would start with `::`
 * (after white space, which the runner skips) starts with a space before them instead.
 */
export function logLine(text: string): string {
  const flat = defuseLegacyCommands(text.replace(BREAKING, escape))
  return /^\s*::/.test(flat) ? flat.replace(/::/, ': :') : flat
}

/**
 * Markdown we wrote (line structure ours, values already made safe by the summary's own
 * formatting), with every line separator but LF and every other control character escaped, so a
 * value that slipped through still cannot split a line or hide text.
 */
export function summaryText(markdown: string): string {
  return markdown.replace(BREAKING, (char) => (char === '\n' ? char : escape(char)))
}

/**
 * A value inside a Markdown table cell or sentence: one line, and no Markdown or HTML of its own.
 * Every character that Markdown, GitHub's extensions (tables, strikethrough, math) or HTML give a
 * meaning is backslash-escaped, the backslash first, so that a pipe always ends up escaped.
 */
export function markdownValue(text: string): string {
  return logLine(text).replace(/[\\`*_[\]<>|~&#!$]/g, '\\$&')
}
