// The fenced code blocks of a Markdown file, for the tests that hold the README to its rules.

export interface CodeBlock {
  /** The info string after the opening fence: yaml, sh, … */
  language: string
  /** 1-based line of the opening fence. */
  line: number
  text: string
}

/** Every fenced block (```), in order; an unclosed fence is an error worth failing on. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '')
    if (!open) continue
    const end = lines.findIndex((line, j) => j > i && line.trim() === '```')
    if (end === -1) throw new Error(`the code block opened at line ${i + 1} is never closed`)
    blocks.push({ language: open[1] ?? '', line: i + 1, text: lines.slice(i + 1, end).join('\n') + '\n' })
    i = end
  }
  return blocks
}

/** A YAML block that says it is part of a workflow, not a whole one: its first line. */
export const FRAGMENT_MARK = /^# fragment: \S/
