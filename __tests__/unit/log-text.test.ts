import { jsonLine, logLine, markdownValue, summaryText } from '../../src/shared/log-text.ts'

/** How the runner and the log viewer split text into lines: at every separator anyone uses. */
const LINE_BREAKS = /\r\n|[\r\n\u000b\u000c\u0085\u2028\u2029]/

describe('logLine', () => {
  test.each([
    ['plain text', 'plain text'],
    ['a\rb', 'a\\rb'],
    ['a\nb', 'a\\nb'],
    ['a\r\nb', 'a\\r\\nb'],
    ['a\u000bb\u000cc', 'a\\u000bb\\u000cc'],
    ['a\u0085b', 'a\\u0085b'],
    ['a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    [
      'bell\u0007 escape\u001b[2K nul\u0000 del\u007f csi\u009b',
      'bell\\u0007 escape\\u001b[2K nul\\u0000 del\\u007f csi\\u009b',
    ],
    ['tab\there', 'tab\\there'],
    ['tags x##[add-mask]Revoked', 'tags x## [add-mask]Revoked'],
    ['###[x] ##[##[', '### [x] ## [## ['],
    ['::add-mask::x', ': :add-mask::x'],
    ['  \u00a0::stop-commands::t', '  \u00a0: :stop-commands::t'],
    ['ok ::not a command:: here', 'ok ::not a command:: here'],
    ['unicode stays: é ü 漢字 \u200b', 'unicode stays: é ü 漢字 \u200b'],
  ])('%p becomes %p', (text, expected) => {
    expect(logLine(text)).toBe(expected)
  })

  test.each([
    ['Revoking keys tagged ci\r::add-mask::Revoked in project p.'],
    ['Created key: scopes usage:write\n::set-output name=key::pwned'],
    ['name\u2028::stop-commands::token'],
    ['\u0085::warning::fake'],
    ['x\r\n##[set-output name=key;]pwned'],
  ])('%p is one line, and none of it is a workflow command', (text) => {
    const out = logLine(text)
    expect(out.split(LINE_BREAKS)).toEqual([out])
    expect(out.trimStart().startsWith('::')).toBe(false)
    expect(out).not.toContain('##[')
  })
})

describe('summaryText', () => {
  test('keeps the summary’s own lines and escapes every other separator', () => {
    expect(summaryText('### Title\n\n| a | b\r\u2028c |\n')).toBe('### Title\n\n| a | b\\r\\u2028c |\n')
  })
})

describe('markdownValue', () => {
  test('is one line with no Markdown or HTML of its own', () => {
    expect(markdownValue('HTTP 403: <img src=x> **bold** | [link](u) `code`\n#1')).toBe(
      'HTTP 403: \\<img src=x\\> \\*\\*bold\\*\\* \\| \\[link\\](u) \\`code\\`\\\\n\\#1',
    )
  })

  test('escapes the backslash first, so that a pipe after one still cannot end a table cell, and defuses math', () => {
    expect(markdownValue('a\\|b $x$')).toBe('a\\\\\\|b \\$x\\$')
  })
})

describe('jsonLine', () => {
  test('writes one JSON line that reads back as the same value, with every line separator escaped', () => {
    const value = { ref: 'a\u2028b\u2029c\u0085d\u007fe\nf\rg\u000bh', nested: ['\u2028'] }
    const line = jsonLine(value)
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/)
    expect(line).toContain('a\\u2028b\\u2029c\\u0085d\\u007fe\\nf\\rg\\u000bh')
    expect(JSON.parse(line)).toEqual(value)
  })
})
