import { Refusal } from '../../src/broker/refusal.ts'
import { keyTermsFor, nestingDepth, parseKeyRequest } from '../../src/broker/key-request.ts'
import type { Rule } from '../../src/broker/policy/policy.ts'
import { thrownBy } from '../helpers/thrown.ts'

describe('parseKeyRequest', () => {
  test('an empty body asks for the defaults', () => {
    expect(parseKeyRequest('')).toEqual({})
    expect(parseKeyRequest('  \n')).toEqual({})
    expect(parseKeyRequest('{}')).toEqual({})
  })

  test('reads every field, without duplicates', () => {
    expect(
      parseKeyRequest(
        JSON.stringify({
          scopes: ['usage:write', 'usage:write'],
          expiration: '30m',
          tags: ['pr-42', 'ci'],
          comment: ' nightly ',
        }),
      ),
    ).toEqual({
      scopes: ['usage:write'],
      expiration: '30m',
      tags: ['pr-42', 'ci'],
      comment: 'nightly',
    })
    expect(parseKeyRequest('{"expiration": 600}')).toEqual({ expiration: 600 })
  })

  test('reads the invocation and the secret digest', () => {
    expect(parseKeyRequest('{"invocation": "0123456789abcdef", "secret": "abcdef012345"}')).toEqual({
      invocation: '0123456789abcdef',
      secret: 'abcdef012345',
    })
  })

  test('counts nesting outside strings only', () => {
    expect(nestingDepth('{"comment": "[[[[[[[[[[[[{{{{{{\\"]]"}')).toBe(1)
    expect(nestingDepth('{"a": [[1], {"b": []}]}')).toBe(4)
  })

  test.each<[string, string, RegExp]>([
    ['not JSON', '{scopes:', /not JSON/],
    ['a list', '[]', /must be a JSON object/],
    ['null', 'null', /must be a JSON object/],
    ['an unknown field', '{"scope": ["usage:write"]}', /unknown field "scope"/],
    ['scopes as text', '{"scopes": "usage:write"}', /scopes must be a list/],
    ['no scopes at all', '{"scopes": []}', /scopes must be a list of 1 to 50/],
    ['a malformed scope', '{"scopes": ["usage write"]}', /"usage write" is not one of scopes/],
    ['a tag with a comma', '{"tags": ["a,b"]}', /"a,b" is not one of tags/],
    ['a tag that is a number', '{"tags": [1]}', /1 is not one of tags/],
    ['too many tags', JSON.stringify({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), /at most 20/],
    ['an expiration of zero seconds', '{"expiration": 0}', /expiration must be/],
    ['a fractional expiration', '{"expiration": 1.5}', /expiration must be/],
    ['an expiration that is a list', '{"expiration": ["1h"]}', /expiration must be/],
    [
      'a comment with a line break',
      '{"comment": "a\\nb"}',
      /comment holds a control character \(U\+000A\) at position 2/,
    ],
    [
      'a comment with a right-to-left override',
      '{"comment": "ab\\u202ec"}',
      /comment holds a bidirectional-text control \(U\+202E\) at position 3/,
    ],
    [
      'a comment with a zero-width joiner',
      '{"comment": "a\\u200db"}',
      /comment holds a zero-width character \(U\+200D\)/,
    ],
    ['a comment with a paragraph separator', '{"comment": "a\\u2029b"}', /comment holds a line separator \(U\+2029\)/],
    [
      'an invocation of 15 digits',
      '{"invocation": "0123456789abcde"}',
      /invocation must be exactly 16 lower-case hex digits/,
    ],
    [
      'an upper-case invocation',
      '{"invocation": "0123456789ABCDEF"}',
      /invocation must be exactly 16 lower-case hex digits/,
    ],
    ['an invocation that is a number', '{"invocation": 1234567890123456}', /invocation must be exactly 16/],
    [
      'a secret digest of 16 digits',
      '{"secret": "0123456789abcdef"}',
      /secret must be exactly 12 lower-case hex digits/,
    ],
    ['a body nested 9 deep', `{"scopes": ${'['.repeat(8)}${']'.repeat(8)}}`, /nests deeper than 8 levels/],
    [
      'a body nested thousands deep',
      `{"tags": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      /nests deeper than 8 levels/,
    ],
    ['a long comment', JSON.stringify({ comment: 'x'.repeat(201) }), /at most 200/],
  ])('refuses %s with 400', (_what, body, message) => {
    const refusal = thrownBy(Refusal, () => parseKeyRequest(body))
    expect(refusal.status).toBe(400)
    expect(refusal.code).toBe('bad_request')
    expect(refusal.message).toMatch(message)
  })
})

describe('keyTermsFor', () => {
  const rule: Rule = {
    name: 'app-tests',
    issuers: ['https://token.actions.githubusercontent.com'],
    match: [],
    scopes: ['usage:write', 'usage:read'],
    maxExpirationSeconds: 7200,
    tags: ['ci'],
    allowKeyManagement: false,
  }
  const holder = { repository: 'octo-org/app', runId: '4242', runAttempt: '2' }
  const now = new Date('2026-12-01T12:00:00Z')

  test("defaults: the rule's scopes, one hour, its tags, a comment naming repository, run and rule", () => {
    expect(keyTermsFor(rule, {}, holder, now)).toEqual({
      scopes: ['usage:write', 'usage:read'],
      expiration: { kind: 'ttl', seconds: 3600 },
      tags: ['ci'],
      comment: 'octo-org/app run 4242.2, rule app-tests',
    })
  })

  test('one hour is capped by a shorter max-expiration', () => {
    expect(keyTermsFor({ ...rule, maxExpirationSeconds: 600 }, {}, holder, now).expiration).toEqual({
      kind: 'ttl',
      seconds: 600,
    })
  })

  test('grants what was asked within the rule', () => {
    const grant = keyTermsFor(
      rule,
      { scopes: ['usage:read'], expiration: '2h', tags: ['pr-42', 'ci'], comment: 'nightly' },
      holder,
      now,
    )
    expect(grant).toEqual({
      scopes: ['usage:read'],
      expiration: { kind: 'ttl', seconds: 7200 },
      tags: ['ci', 'pr-42'],
      comment: 'nightly (octo-org/app run 4242.2, rule app-tests)',
    })
    expect(keyTermsFor(rule, { expiration: 90 }, holder, now).expiration).toEqual({ kind: 'ttl', seconds: 90 })
    expect(keyTermsFor(rule, { expiration: '2026-12-01T13:00:00Z' }, holder, now).expiration).toEqual({
      kind: 'date',
      date: new Date('2026-12-01T13:00:00Z'),
    })
  })

  test('refuses a scope the rule does not grant with 403, naming it', () => {
    const refusal = thrownBy(Refusal, () => keyTermsFor(rule, { scopes: ['usage:write', 'keys:write'] }, holder, now))
    expect(refusal).toMatchObject({ status: 403, code: 'scope_not_allowed' })
    expect(refusal.message).toMatch(/does not grant keys:write; it grants at most usage:write, usage:read/)
  })

  test.each([['3h'], [7201], ['2026-12-01T14:00:01Z'], ['100d']])(
    'refuses a lifetime over max-expiration (%s) with 403',
    (expiration) => {
      const refusal = thrownBy(Refusal, () => keyTermsFor(rule, { expiration }, holder, now))
      expect(refusal).toMatchObject({ status: 403, code: 'lifetime_not_allowed' })
      expect(refusal.message).toMatch(/rule app-tests allows at most 7200 s/)
    },
  )

  test.each([['forever'], ['soon'], ['2026-11-30T12:00:00Z'], ['2026-12-24']])(
    'refuses an expiration it cannot read (%s) with 400',
    (expiration) => {
      const refusal = thrownBy(Refusal, () => keyTermsFor(rule, { expiration }, holder, now))
      expect(refusal).toMatchObject({ status: 400, code: 'bad_request' })
      expect(refusal.message).toMatch(/^expiration /)
    },
  )
})
