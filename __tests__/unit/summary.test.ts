import { mintSummary, revokeModeSummary, secretsSummary } from '../../src/action/summary.ts'

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
      { target: { scope: 'organization', type: 'actions', org: 'o', visibility: 'all', selectedRepositories: [] }, error: 'HTTP 500 | oops' },
    ])
    expect(table).toContain('| repository o/a | created |')
    expect(table).toContain('| organization o | failed: HTTP 500 \\| oops |')
  })

  test('reports revoke mode, including when nothing matched', () => {
    expect(revokeModeSummary('project p', 'keys tagged x', { revoked: [], notFound: [] })).toContain('No key matched keys tagged x.')
    const both = revokeModeSummary('project p', 'keys k1, k2', { revoked: ['k1'], notFound: ['k2'] })
    expect(both).toContain('| `k1` | revoked |')
    expect(both).toContain("| `k2` | not found (deleted already, or another project's) |")
  })
})
