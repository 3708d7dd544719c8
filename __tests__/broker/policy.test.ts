import { readFileSync } from 'node:fs'
import { parseAllDocuments, stringify } from 'yaml'
import {
  DEFAULT_DELETES_PER_MINUTE,
  DEFAULT_KEYS_PER_MINUTE,
  GITHUB_ISSUER,
  parsePolicy,
  PolicyError,
} from '../../src/broker/policy/policy.ts'

const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const RULE = {
  name: 'app-tests',
  match: { repository: 'octo-org/app', repository_owner_id: '4321', ref: 'refs/heads/*' },
  scopes: ['usage:write'],
  'max-expiration': '1h',
  tags: ['ci'],
}
const POLICY = { 'project-id': PROJECT, audience: 'https://deepgram-broker.example.com', rules: [RULE] }

function problemsOf(policy: unknown): string[] {
  try {
    parsePolicy(typeof policy === 'string' ? policy : stringify(policy), 'policy.yml')
  } catch (error) {
    if (error instanceof PolicyError) return error.problems
    throw error
  }
  return []
}

function withRule(rule: Record<string, unknown>): unknown {
  return { ...POLICY, rules: [{ ...RULE, ...rule }] }
}

describe('parsePolicy', () => {
  test("reads the issue's example, with its defaults", () => {
    const policy = parsePolicy(stringify(POLICY), 'policy.yml')
    expect(policy).toEqual({
      projectId: PROJECT,
      audience: 'https://deepgram-broker.example.com',
      issuers: [GITHUB_ISSUER],
      keysPerMinute: DEFAULT_KEYS_PER_MINUTE,
      deletesPerMinute: DEFAULT_DELETES_PER_MINUTE,
      rules: [
        {
          name: 'app-tests',
          issuers: [GITHUB_ISSUER],
          match: [
            { claim: 'repository', pattern: 'octo-org/app' },
            { claim: 'repository_owner_id', pattern: '4321' },
            { claim: 'ref', pattern: 'refs/heads/*' },
          ],
          scopes: ['usage:write'],
          maxExpirationSeconds: 3600,
          tags: ['ci'],
          allowKeyManagement: false,
        },
      ],
    })
  })

  test("passes the policy of deploy/kubernetes.yaml's ConfigMap", () => {
    const documents = parseAllDocuments(readFileSync('deploy/kubernetes.yaml', 'utf8')).map(
      (d) => d.toJS() as { kind: string; data?: Record<string, string> },
    )
    const configMap = documents.find((d) => d.kind === 'ConfigMap')
    expect(
      parsePolicy(configMap?.data?.['policy.yml'] ?? '', 'deploy/kubernetes.yaml').rules.map((r) => r.name),
    ).toEqual(['app-tests'])
  })

  test('reads GHES and loopback issuers, numbers as claim values, management with allow-key-management', () => {
    const policy = parsePolicy(
      stringify({
        ...POLICY,
        issuers: ['https://ghes.example.com/_services/token', 'http://127.0.0.1:8000'],
        'keys-per-minute': 5,
        'deletes-per-minute': 7,
        rules: [
          {
            name: 'admin',
            issuers: ['http://127.0.0.1:8000'],
            match: { repository_id: 1001 },
            scopes: ['keys:write'],
            'allow-key-management': true,
            'max-expiration': '90d',
          },
        ],
      }),
      'policy.yml',
    )
    expect(policy.issuers).toEqual(['https://ghes.example.com/_services/token', 'http://127.0.0.1:8000'])
    expect(policy.keysPerMinute).toBe(5)
    expect(policy.deletesPerMinute).toBe(7)
    expect(policy.rules[0]?.issuers).toEqual(['http://127.0.0.1:8000'])
    expect(policy.rules[0]).toMatchObject({
      match: [{ claim: 'repository_id', pattern: '1001' }],
      scopes: ['keys:write'],
      allowKeyManagement: true,
      maxExpirationSeconds: 90 * 86400,
      tags: [],
    })
  })

  test.each<[string, unknown, RegExp]>([
    ['not YAML', 'rules: [unclosed', /not valid YAML/],
    ['a duplicate key', `project-id: ${PROJECT}\nproject-id: ${PROJECT}\n`, /not valid YAML/],
    ['not a mapping', '- a\n- b\n', /is not a mapping/],
    ['an unknown top-level field', { ...POLICY, audiences: ['x'] }, /unknown field "audiences"/],
    ['no project-id', { ...POLICY, 'project-id': undefined }, /project-id must be the project's UUID/],
    [
      'a project-id that is not a UUID',
      { ...POLICY, 'project-id': 'my-project' },
      /project-id must be the project's UUID/,
    ],
    ['no audience', { ...POLICY, audience: undefined }, /audience must be set/],
    ["GitHub's default audience", { ...POLICY, audience: 'https://github.com/octo-org' }, /GitHub's default audience/],
    ['an empty issuer list', { ...POLICY, issuers: [] }, /issuers must be a list/],
    [
      'a plain-http issuer off this machine',
      { ...POLICY, issuers: ['http://token.example.com'] },
      /plain http to a host that is not this machine/,
    ],
    [
      'several issuers and a rule that names none',
      { ...POLICY, issuers: [GITHUB_ISSUER, 'https://ghes.example.com/_services/token'] },
      /rule app-tests: issuers must be set when the policy has several issuers/,
    ],
    [
      'a rule issuer the policy does not list',
      withRule({ issuers: ['https://ghes.example.com/_services/token'] }),
      /rule app-tests: issuers "https:\/\/ghes.example.com\/_services\/token" is not among the policy's issuers/,
    ],
    ['an empty rule issuer list', withRule({ issuers: [] }), /rule app-tests: issuers must be a list of one or more/],
    [
      'a * in event_name',
      withRule({ match: { repository_id: '1001', event_name: 'pull_request*' } }),
      /match event_name "pull_request\*" has a \*.*pull_request_target/,
    ],
    [
      'a deletes-per-minute of zero',
      { ...POLICY, 'deletes-per-minute': 0 },
      /deletes-per-minute must be a whole number/,
    ],
    ['an issuer with a trailing slash', { ...POLICY, issuers: [`${GITHUB_ISSUER}/`] }, /ends with \//],
    ['an issuer with a query', { ...POLICY, issuers: [`${GITHUB_ISSUER}?x=1`] }, /query or a fragment/],
    ['an issuer that is not a URL', { ...POLICY, issuers: ['token.actions'] }, /is not a URL/],
    ['an ftp issuer', { ...POLICY, issuers: ['ftp://token.example.com'] }, /is not an https URL/],
    ['keys-per-minute of 0', { ...POLICY, 'keys-per-minute': 0 }, /keys-per-minute must be a whole number/],
    ['keys-per-minute as text', { ...POLICY, 'keys-per-minute': 'many' }, /keys-per-minute must be a whole number/],
    ['no rules', { ...POLICY, rules: [] }, /rules must be a list of one or more rules/],
    ['a rule that is not a mapping', { ...POLICY, rules: ['app'] }, /rule 1 is not a mapping/],
    ['an unknown rule field', withRule({ scope: ['usage:write'] }), /rule app-tests: unknown field "scope"/],
    ['a rule without a name', withRule({ name: undefined }), /rule 1: name must be set/],
    ['two rules of one name', { ...POLICY, rules: [RULE, RULE] }, /the name is used by an earlier rule/],
    ['a rule that pins no repository', withRule({ match: { ref: 'refs/heads/main' } }), /pins no repository/],
    ['a rule that pins only sub', withRule({ match: { sub: 'repo:octo-org/app:*' } }), /pins no repository/],
    ['a rule whose repository owner is a glob', withRule({ match: { repository: '*/app' } }), /pins no repository/],
    ['a rule whose owner pattern is a glob', withRule({ match: { repository_owner: 'octo-*' } }), /pins no repository/],
    ['a rule whose repository has no owner', withRule({ match: { repository: 'app' } }), /pins no repository/],
    ['a rule without match', withRule({ match: undefined }), /match must map claims to values/],
    ['an unknown claim', withRule({ match: { ...RULE.match, repositry: 'x' } }), /unknown claim "repositry"/],
    ['an empty claim value', withRule({ match: { ...RULE.match, ref: '' } }), /match ref must be a non-empty string/],
    [
      'a claim value that is a list',
      withRule({ match: { ...RULE.match, ref: ['a'] } }),
      /match ref must be a non-empty string/,
    ],
    ['no scopes', withRule({ scopes: undefined }), /scopes must be a list/],
    ['an empty scope list', withRule({ scopes: [] }), /scopes must list at least one scope/],
    ['a malformed scope', withRule({ scopes: ['usage write'] }), /"usage write" is not scopes/],
    [
      'a management scope without allow-key-management',
      withRule({ scopes: ['keys:write'] }),
      /scope keys:write can manage keys or the project .*allow-key-management: true/,
    ],
    ['a role without allow-key-management', withRule({ scopes: ['member'] }), /scope member can manage keys/],
    [
      'allow-key-management as text',
      withRule({ 'allow-key-management': 'yes' }),
      /allow-key-management must be true or false/,
    ],
    ['a max-expiration over 90 days', withRule({ 'max-expiration': '91d' }), /max-expiration 91d is over 90 days/],
    ['a max-expiration that is a date', withRule({ 'max-expiration': '2030-01-01T00:00:00Z' }), /is not a duration/],
    ['a max-expiration that is not one', withRule({ 'max-expiration': 'forever' }), /is not a duration/],
    ['a tag with a comma', withRule({ tags: ['a,b'] }), /"a,b" is not tags/],
  ])('refuses %s', (_what, policy, message) => {
    const problems = problemsOf(policy)
    expect(problems.some((p) => message.test(p))).toBe(true)
    expect(problems.every((p) => p.startsWith('policy.yml'))).toBe(true)
  })

  test('lists every problem at once', () => {
    const problems = problemsOf({
      ...POLICY,
      audience: undefined,
      rules: [{ ...RULE, scopes: ['keys:write'], 'max-expiration': '100d' }],
    })
    expect(problems).toHaveLength(3)
  })

  test('the error message names the file and each problem', () => {
    expect(() => parsePolicy(stringify({ ...POLICY, audience: '' }), '/etc/broker/policy.yml')).toThrow(
      /^The policy is refused:\n {2}- \/etc\/broker\/policy.yml: audience must be set/,
    )
  })
})
