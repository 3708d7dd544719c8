import { globMatches } from '../../src/broker/policy/glob.ts'
import { firstMismatch, selectRule } from '../../src/broker/policy/rules.ts'
import type { Rule } from '../../src/broker/policy/policy.ts'

describe('globMatches', () => {
  test.each([
    ['octo-org/app', 'octo-org/app', true],
    ['octo-org/app', 'octo-org/app-fork', false],
    ['octo-org/app', 'evil/octo-org/app', false],
    ['octo-org/app', 'octo-org/ap', false],
    ['refs/heads/*', 'refs/heads/main', true],
    ['refs/heads/*', 'refs/heads/feature/deep/name', true],
    ['refs/heads/*', 'refs/heads/', false],
    ['refs/heads/*', 'refs/tags/v1', false],
    ['refs/heads/*', 'xrefs/heads/main', false],
    ['octo-org/*-service', 'octo-org/payments-service', true],
    ['octo-org/*-service', 'octo-org/payments-service-old', false],
    ['*', '', false],
    ['*', 'x', true],
    ['a*', 'a', false],
    ['a**', 'ab', false],
    ['a**', 'abc', true],
    ['pull_request*', 'pull_request_target', true],
    ['a*b*c', 'abc', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYcZ', false],
    ['v1.*', 'v1x2', false],
    ['v1.*', 'v1.2', true],
    ['(a)', '(a)', true],
  ])('%s against %s: %s', (pattern, value, expected) => {
    expect(globMatches(pattern, value)).toBe(expected)
  })

  test.each([
    ['octo-org/app/.github/workflows/*@refs/heads/main', 'octo-org/app/.github/workflows/ci.yml@refs/heads/main', true],
    [
      'octo-org/app/.github/workflows/*@refs/heads/main',
      'octo-org/app/.github/workflows/ci.yml@refs/heads/x@refs/heads/main',
      false,
    ],
    ['octo-org/app/.github/workflows/*@refs/heads/*', 'octo-org/app/.github/workflows/ci.yml@refs/heads/x@y', false],
    ['octo-org/app/.github/workflows/*@*', 'octo-org/app/.github/workflows/ci.yml@refs/tags/v1', true],
    ['octo-org/app/.github/workflows/*', 'octo-org/app/.github/workflows/ci.yml@refs/heads/main', false],
  ])('with @ as a barrier, %s against %s: %s', (pattern, value, expected) => {
    expect(globMatches(pattern, value, '@')).toBe(expected)
  })

  test('answers at once where a regular expression would backtrack for ages', () => {
    // A backtracking regex needs ~5000^6 steps here: the test would time out.
    expect(globMatches('*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false)
    expect(globMatches('*a*a*a*a*a*a*b', `${'a'.repeat(5000)}b`)).toBe(true)
  })
})

function rule(name: string, match: Record<string, string>): Rule {
  return {
    name,
    issuers: ['https://token.actions.githubusercontent.com'],
    match: Object.entries(match).map(([claim, pattern]) => ({ claim, pattern })),
    scopes: ['usage:write'],
    maxExpirationSeconds: 3600,
    tags: [],
    allowKeyManagement: false,
  }
}

describe('selectRule', () => {
  const rules = [
    rule('main-only', { repository_id: '1001', ref: 'refs/heads/main' }),
    rule('prod', { repository_owner_id: '4321', environment: 'production' }),
    rule('branches', { repository: 'octo-org/app', ref: 'refs/heads/*' }),
  ]
  const claims = {
    iss: 'https://token.actions.githubusercontent.com',
    repository: 'octo-org/app',
    repository_id: '1001',
    repository_owner_id: '4321',
    ref: 'refs/heads/main',
  }

  test('the first rule whose every claim matches wins', () => {
    expect(selectRule(rules, claims)?.name).toBe('main-only')
    expect(selectRule(rules, { ...claims, ref: 'refs/heads/dev' })?.name).toBe('branches')
    expect(selectRule(rules, { ...claims, ref: 'refs/heads/dev', environment: 'production' })?.name).toBe('prod')
  })

  test('a claim the token lacks, or holds as a list or object, matches nothing', () => {
    expect(selectRule(rules, { ...claims, ref: 'refs/tags/v1' })).toBeUndefined()
    expect(selectRule([rule('env', { repository_id: '1001', environment: '*' })], claims)).toBeUndefined()
    expect(selectRule([rule('list', { repository_id: '1001' })], { repository_id: ['1001'] })).toBeUndefined()
  })

  test('numbers and booleans match as written', () => {
    expect(
      selectRule([rule('num', { repository_id: '1001', ref_protected: 'true' })], {
        iss: 'https://token.actions.githubusercontent.com',
        repository_id: 1001,
        ref_protected: true,
      })?.name,
    ).toBe('num')
  })

  test('a rule matches only tokens of the issuers it trusts', () => {
    const enterprise = 'https://ghes.example.com/_services/token'
    const both = [
      { ...rule('ghes', { repository_id: '1001' }), issuers: [enterprise] },
      rule('dotcom', { repository_id: '1001' }),
    ]
    expect(selectRule(both, claims)?.name).toBe('dotcom')
    expect(selectRule(both, { ...claims, iss: enterprise })?.name).toBe('ghes')
    expect(selectRule(both, { ...claims, iss: 'https://elsewhere.example.com' })).toBeUndefined()
    expect(selectRule(both, { ...claims, iss: undefined })).toBeUndefined()
  })

  test('* in workflow_ref and job_workflow_ref never crosses @, so a branch name cannot fake the ref', () => {
    const pinned = [
      rule('main-workflows', {
        repository_id: '1001',
        workflow_ref: 'octo-org/app/.github/workflows/*@refs/heads/main',
        job_workflow_ref: 'octo-org/shared/.github/workflows/*@refs/heads/main',
      }),
    ]
    const honest = {
      ...claims,
      workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/main',
      job_workflow_ref: 'octo-org/shared/.github/workflows/deploy.yml@refs/heads/main',
    }
    expect(selectRule(pinned, honest)?.name).toBe('main-workflows')
    expect(
      selectRule(pinned, {
        ...honest,
        workflow_ref: 'octo-org/app/.github/workflows/ci.yml@refs/heads/x@refs/heads/main',
      }),
    ).toBeUndefined()
    expect(
      selectRule(pinned, {
        ...honest,
        job_workflow_ref: 'octo-org/shared/.github/workflows/deploy.yml@refs/heads/x@refs/heads/main',
      }),
    ).toBeUndefined()
  })

  test('* never matches an empty claim', () => {
    expect(
      selectRule([rule('env', { repository_id: '1001', environment: '*' })], { ...claims, environment: '' }),
    ).toBeUndefined()
    expect(
      selectRule([rule('env', { repository_id: '1001', environment: '*' })], { ...claims, environment: 'production' })
        ?.name,
    ).toBe('env')
  })

  test('no rule matches an empty claim set', () => {
    expect(selectRule(rules, {})).toBeUndefined()
  })
})

describe('firstMismatch, which selectRule and `explain` share', () => {
  const ISSUER = 'https://token.actions.githubusercontent.com'
  const rule: Rule = {
    name: 'r',
    issuers: [ISSUER],
    match: [
      { claim: 'repository_id', pattern: '1001' },
      { claim: 'ref', pattern: 'refs/heads/*' },
    ],
    scopes: ['usage:write'],
    maxExpirationSeconds: 3600,
    tags: [],
    allowKeyManagement: false,
  }

  test('is the first listed claim that differs or is missing, in the order of the rule', () => {
    expect(firstMismatch(rule, { iss: ISSUER, repository_id: '2002', ref: 'refs/tags/v1' })).toEqual({
      claim: 'repository_id',
      pattern: '1001',
    })
    expect(firstMismatch(rule, { iss: ISSUER, repository_id: '1001', ref: 'refs/tags/v1' })).toEqual({
      claim: 'ref',
      pattern: 'refs/heads/*',
    })
    expect(firstMismatch(rule, { iss: ISSUER, repository_id: '1001', ref: ['refs/heads/main'] })).toEqual({
      claim: 'ref',
      pattern: 'refs/heads/*',
    })
  })

  test("is the issuer first, when the rule does not trust the token's", () => {
    expect(
      firstMismatch(rule, {
        iss: 'https://ghes.example.com/_services/token',
        repository_id: '1001',
        ref: 'refs/heads/main',
      }),
    ).toEqual({ claim: 'iss', pattern: ISSUER })
  })

  test('is undefined exactly when selectRule picks the rule', () => {
    const claims = { iss: ISSUER, repository_id: 1001, ref: 'refs/heads/main' }
    expect(firstMismatch(rule, claims)).toBeUndefined()
    expect(selectRule([rule], claims)).toBe(rule)
    expect(selectRule([rule], { ...claims, ref: 'refs/pull/1/merge' })).toBeUndefined()
  })
})
