import {
  code,
  mintSummary,
  revokedSummary,
  revokeModeSummary,
  rotationSummary,
  secretsSummary,
} from '../../src/action/summary.ts'
import type { TargetResult } from '../../src/github/deliver.ts'

describe('job summary', () => {
  const summary = mintSummary({
    keyId: 'key-1',
    projectId: 'project-1',
    scopes: ['keys:write', 'keys:read'],
    tags: ['pr-42'],
    expiresAt: '2026-11-28T13:00:00.000Z',
    revokePolicy: 'revoked when the job ends',
  })

  test('names the key id, project, granted scopes, tags, expiry and what happens at the end', () => {
    expect(summary).toBe(
      [
        '### Deepgram key created',
        '',
        '|  |  |',
        '| --- | --- |',
        '| Key id | `key-1` |',
        '| Project | `project-1` |',
        '| Scopes granted | `keys:write`, `keys:read` |',
        '| Tags | `pr-42` |',
        '| Expires | 2026-11-28T13:00:00.000Z |',
        '| When the job ends | revoked when the job ends |',
        '',
      ].join('\n'),
    )
  })

  test('lists each secret target and its result, escaping pipes in errors', () => {
    const table = secretsSummary('KEY', [
      { target: { scope: 'repository', type: 'actions', owner: 'o', repo: 'a' }, outcome: 'created' },
      {
        target: { scope: 'organization', type: 'actions', org: 'o', visibility: 'all', selectedRepositories: [] },
        error: 'HTTP 500 | oops',
      },
    ])
    expect(table).toContain('| repository o/a | created |')
    expect(table).toContain('| organization o | failed: HTTP 500 \\| oops |')
  })

  test('reports revoke mode, including when nothing matched', () => {
    expect(revokeModeSummary('project p', 'keys tagged x', { revoked: [], notFound: [] })).toContain(
      'No key matched keys tagged x.',
    )
    const both = revokeModeSummary('project p', 'keys k1, k2', { revoked: ['k1'], notFound: ['k2'] })
    expect(both).toContain('| `k1` | revoked |')
    expect(both).toContain("| `k2` | not found (deleted already, or another project's) |")
  })
})

// How GitHub's cmark-gfm reads a table row: a backslash escapes the punctuation character after
// it, and every other pipe ends a cell, inside code spans too.
const PUNCTUATION = /[!-/:-@[-`{-~]/

function cells(row: string): string[] {
  const found: string[] = []
  let cell = ''
  for (let i = 0; i < row.length; i++) {
    const char = row[i] ?? ''
    if (char === '\\' && PUNCTUATION.test(row[i + 1] ?? '')) {
      cell += char + row[++i]
    } else if (char === '|') {
      found.push(cell)
      cell = ''
    } else {
      cell += char
    }
  }
  return [...found, cell].slice(1, -1)
}

/** Characters that mean something in Markdown or HTML, outside code spans and not escaped. */
function activeMarkup(markdown: string): string[] {
  const active: string[] = []
  const text = markdown.replace(/`[^`\n]*`/g, '')
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? ''
    if (char === '\\' && PUNCTUATION.test(text[i + 1] ?? '')) i++
    else if (/[<>&*_[\]`~$!]/.test(char)) active.push(char)
  }
  return active
}

/** What every hostile summary must show: the lines and cells of the benign one, and no markup of the value's own. */
function expectContained(hostile: string, benign: string): void {
  const lines = hostile.split('\n')
  expect(lines).toHaveLength(benign.split('\n').length)
  lines.forEach((line, i) => {
    const shape = benign.split('\n')[i] ?? ''
    expect(line.startsWith('|')).toBe(shape.startsWith('|'))
    if (line.startsWith('|')) expect(cells(line)).toHaveLength(cells(shape).length)
    expect(line.charAt(0)).toBe(shape.charAt(0))
  })
  expect(activeMarkup(hostile)).toEqual(activeMarkup(benign))
}

describe('every value in the job summary is escaped, from inputs and from answers alike', () => {
  const HOSTILE = [
    'a|b<img src=x onerror=alert(1)>',
    'x\\|y',
    '`c` **d** [e](https://evil.example) &amp; ~~f~~ $g$ ![h](i)',
    'line\n# heading\r\n| --- | --- |\u2028- item',
    '<script>alert(1)</script>\\',
  ]

  test.each(HOSTILE)('a created key whose every field is %p', (value) => {
    const summary = (v: string, time: string) =>
      mintSummary({ keyId: v, projectId: v, scopes: [v, v], tags: [v], expiresAt: time, revokePolicy: `kept (${v})` })
    expectContained(summary(value, value), summary('id', '2026-11-28T13:00:00.000Z'))
  })

  test.each(HOSTILE)('secret targets and errors made of %p', (value) => {
    const results = (v: string): TargetResult[] => [
      { target: { scope: 'environment', type: 'actions', owner: v, repo: v, environment: v }, outcome: 'created' },
      {
        target: { scope: 'repository', type: 'dependabot', owner: v, repo: v },
        error: `GitHub answered HTTP 422: ${v}`,
      },
      {
        target: { scope: 'organization', type: 'actions', org: v, visibility: 'selected', selectedRepositories: [v] },
        error: v,
      },
    ]
    expectContained(secretsSummary(value, results(value)), secretsSummary('KEY', results('o')))
  })

  test.each(HOSTILE)(
    'keys revoked in revoke mode, in a project or through the broker, with ids, tags and URL made of %p',
    (value) => {
      const report = (v: string) => ({ revoked: [v], notFound: [v, v] })
      expectContained(
        revokeModeSummary(`in project ${value}`, `keys tagged ${value}`, report(value)),
        revokeModeSummary('in project p', 'keys tagged t', report('k')),
      )
      expectContained(
        revokeModeSummary(`through the broker at ${value}`, value, report(value)),
        revokeModeSummary('through the broker at https://broker', 'w', report('k')),
      )
      expectContained(
        revokeModeSummary(value, value, { revoked: [], notFound: [] }),
        revokeModeSummary('p', 'w', { revoked: [], notFound: [] }),
      )
      expectContained(revokedSummary(value, 'deleted'), revokedSummary('k', 'deleted'))
    },
  )

  test.each(HOSTILE)('earlier keys of a secret, their times and the problem made of %p', (value) => {
    const key = (v: string) => ({ apiKeyId: v, comment: v, scopes: [v], created: v })
    const report = (v: string) => ({
      secretName: v,
      keep: 1,
      keys: [
        { key: key(v), outcome: 'deleted' as const },
        { key: key(v), outcome: 'kept' as const },
      ],
    })
    expectContained(rotationSummary(report(value)), rotationSummary(report('k')))
    expectContained(
      rotationSummary({ ...report(value), problem: value }),
      rotationSummary({ ...report('k'), problem: 'p' }),
    )
  })

  test('shows a hostile environment name exactly, as text: pipe and HTML escaped, not dropped', () => {
    const summary = secretsSummary('KEY', [
      {
        target: {
          scope: 'environment',
          type: 'actions',
          owner: 'o',
          repo: 'a',
          environment: 'a|b<img src=x onerror=alert(1)>',
        },
        outcome: 'created',
      },
    ])
    expect(summary).toContain('| o/a environment a\\|b\\<img src=x onerror=alert(1)\\> | created |')
  })

  test('keeps plain ids as code, and shows any with a pipe, backslash or backtick as escaped text', () => {
    expect(code('ad9c6799-d380-4db7-8c22-92c20a291229')).toBe('`ad9c6799-d380-4db7-8c22-92c20a291229`')
    expect(code('usage:write')).toBe('`usage:write`')
    expect(code('a\\|b')).toBe('a\\\\\\|b')
    expect(code('`x`')).toBe('\\`x\\`')
    expect(code('a\nb')).toBe('a\\\\nb')
  })
})
