import { InputError } from '../../src/shared/errors.ts'
import { readKeyPlan } from '../../src/action/inputs/keys.ts'
import { defaultComment, readSourceSpec } from '../../src/action/inputs/source.ts'
import { parseList, readBaseUrl } from '../../src/shared/input-forms.ts'
import { readSecretPlan } from '../../src/action/inputs/secret.ts'
import { readConfig } from '../../src/broker/config.ts'

const BROKER_ENV = { DEEPGRAM_ADMIN_KEY: 'dg_admin_key', BROKER_POLICY: '/etc/broker/policy.yml' }

const now = new Date('2026-11-28T12:00:00Z')
const run = { repository: 'octo-org/app', workflow: 'CI', runId: '4242', runAttempt: '2', job: 'test' }
const good: Record<string, string> = {
  'api-key': 'dg_admin_key',
  scopes: 'usage:write',
  expiration: '1h',
  revoke: 'auto',
  'deepgram-api-url': 'https://api.deepgram.com',
}

function plan(overrides: Record<string, string>) {
  const inputs = { ...good, ...overrides }
  const getInput = (name: string) => (inputs[name] ?? '').trim()
  const source = readSourceSpec(getInput, run)
  if (source.kind !== 'deepgram') throw new Error('expected direct mode')
  return { ...source, ...readKeyPlan(getInput, now) }
}

function inputErrorOf(overrides: Record<string, string>): InputError {
  try {
    plan(overrides)
  } catch (error) {
    if (error instanceof InputError) return error
    throw error
  }
  throw new Error('no InputError')
}

describe('readKeyPlan', () => {
  test('reads a complete set of inputs', () => {
    expect(
      plan({
        'project-id': '3F2504E0-4F89-11D3-9A0C-0305E82C3301',
        scopes: 'usage:write, keys:read\nmember',
        'allow-key-management': 'true',
        tags: 'ci,\n pr-42 ,',
        comment: 'my key',
        revoke: 'FALSE',
        'deepgram-api-url': 'https://dg.example.com/proxy/',
      }),
    ).toEqual({
      apiKey: 'dg_admin_key',
      projectId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      scopes: ['usage:write', 'keys:read', 'member'],
      tags: ['ci', 'pr-42'],
      expiration: { kind: 'ttl', seconds: 3600 },
      comment: 'my key',
      revoke: 'false',
      kind: 'deepgram',
      apiUrl: 'https://dg.example.com/proxy',
      defaultComment: 'GitHub Actions: octo-org/app / workflow CI / run 4242.2 / job test',
    })
  })

  test.each([['member'], ['admin, keys:write'], ['owner'], ['project:write'], ['account:write']])(
    'takes the management scopes %p with allow-key-management: true',
    (scopes) => {
      expect(plan({ scopes, 'allow-key-management': 'TRUE' }).scopes).toEqual(parseList(scopes))
    },
  )

  test('takes the default usage:write and read-only scopes without the opt-in', () => {
    expect(plan({ scopes: 'usage:write, usage:read, keys:read, project:read' }).scopes).toEqual([
      'usage:write',
      'usage:read',
      'keys:read',
      'project:read',
    ])
  })

  test.each([
    ['a right-to-left override', 'key of \u202eppa/gro-otco', 'a bidirectional-text control (U+202E) at position 8'],
    ['a zero-width space', 'octo\u200borg', 'a zero-width character (U+200B) at position 5'],
    ['a line separator', 'one\u2028two', 'a line separator (U+2028) at position 4'],
    ['a control character', 'bell\u0007', 'a control character (U+0007) at position 5'],
  ])('refuses a comment with %s, naming it', (_, comment, described) => {
    const error = inputErrorOf({ comment })
    expect(error.input).toBe('comment')
    expect(error.message).toContain(described)
  })

  test('makes up a comment naming the run', () => {
    const p = plan({})
    expect(p.comment).toBeUndefined()
    expect(p.defaultComment).toBe('GitHub Actions: octo-org/app / workflow CI / run 4242.2 / job test')
    expect(p.projectId).toBeUndefined()
  })

  test.each([
    [{ 'api-key': '' }, 'api-key', /forks/],
    [{ 'api-key': '' }, 'api-key', /Dependabot/],
    [{ 'project-id': 'not-a-uuid' }, 'project-id', /UUID/],
    [{ scopes: '' }, 'scopes', /comma/],
    [{ scopes: ' , \n' }, 'scopes', /is empty/],
    [{ scopes: 'usage write' }, 'scopes', /not a scope/],
    [{ 'api-key': 'dg_admin\u200bkey' }, 'api-key', /printable ASCII/],
    [{ 'api-key': 'dg_admin\u00a0key' }, 'api-key', /printable ASCII/],
    [{ 'api-key': 'dg_admin\tkey' }, 'api-key', /white space/],
    [{ 'api-key': 'dg_admin_k\u00e9y' }, 'api-key', /printable ASCII/],
    [{ scopes: 'member' }, 'scopes', /allow-key-management is false/],
    [
      { scopes: 'usage:write\nkeys:write' },
      'scopes',
      /'keys:write' can manage keys or the project \(it can create and delete keys\)/,
    ],
    [{ scopes: 'admin', 'allow-key-management': 'false' }, 'scopes', /the admin role carries keys:write/],
    [{ scopes: 'account:read' }, 'scopes', /account scopes act on the whole account/],
    [{ 'allow-key-management': 'yes' }, 'allow-key-management', /true or false/],
    [{ expiration: '91d' }, 'expiration', /longer than the limit of 90 days/],
    [{ expiration: 'never' }, 'expiration', /duration/],
    [{ expiration: 'abc' }, 'expiration', /duration/],
    [{ expiration: '0' }, 'expiration', /duration/],
    [{ expiration: '-5m' }, 'expiration', /duration/],
    [{ expiration: '2020-01-01T00:00:00Z' }, 'expiration', /past/],
    [{ expiration: '2027-01-01T00:00:00' }, 'expiration', /zone/],
    [{ revoke: 'maybe' }, 'revoke', /auto, true or false/],
    [{ 'deepgram-api-url': 'http://example.com' }, 'deepgram-api-url', /clear text/],
    [{ 'deepgram-api-url': 'not a url' }, 'deepgram-api-url', /https:\/\//],
    [{ 'deepgram-api-url': 'ftp://example.com' }, 'deepgram-api-url', /https:\/\//],
  ])('refuses %p, naming %s and the forms it accepts', (overrides, input, forms) => {
    const error = inputErrorOf(overrides)
    // A credential is never echoed, not even in part.
    if (input === 'api-key') expect(error.message).not.toContain('dg_admin')
    expect(error.input).toBe(input)
    expect(error.message.startsWith(`Input ${input}: `)).toBe(true)
    expect(error.message).toMatch(forms)
  })
})

describe('readBaseUrl', () => {
  const read = (value: string) => readBaseUrl(() => value, 'deepgram-api-url', 'https://api.deepgram.com')
  test.each([
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['http://[::1]:9000', 'http://[::1]:9000'],
    ['https://api.deepgram.com', 'https://api.deepgram.com'],
    ['', 'https://api.deepgram.com'],
  ])('accepts %p', (value, expected) => {
    expect(read(value)).toBe(expected)
  })
  test.each([['http://10.0.0.1'], ['http://127.example.com'], ['https://user:pass@api.deepgram.com']])(
    'refuses %p',
    (value) => {
      expect(() => read(value)).toThrow(InputError)
    },
  )
  test.each([
    ['https://user:pass@api.deepgram.com'],
    ['https://api.deepgram.com/?x=1'],
    ['https://api.deepgram.com/#x'],
  ])('refuses %p as the broker refuses it for DEEPGRAM_API_URL: a base URL is bare', (value) => {
    expect(() => read(value)).toThrow(
      'Input deepgram-api-url: must be a bare base URL, without credentials, query or fragment. Give an https:// URL, or http:// to a loopback host (localhost, 127.0.0.1, [::1]).',
    )
    expect(() => readConfig({ ...BROKER_ENV, DEEPGRAM_API_URL: value })).toThrow(
      'DEEPGRAM_API_URL must be a bare base URL, without credentials, query or fragment. Give an https:// URL, or http:// to a loopback host (localhost, 127.0.0.1, [::1]); the default is https://api.deepgram.com.',
    )
  })
})

describe('parseList', () => {
  test('splits on commas and newlines, trims and drops empty items', () => {
    expect(parseList(' a, b\n\nc ,')).toEqual(['a', 'b', 'c'])
  })
  test('splits at a carriage return alone, as the runner ends a line there', () => {
    expect(parseList('ci\r::add-mask::x\r\npr')).toEqual(['ci', '::add-mask::x', 'pr'])
  })
})

describe('defaultComment', () => {
  test('still says where it came from outside a workflow', () => {
    expect(defaultComment({})).toBe('GitHub Actions: local run')
  })
})

describe('github-token', () => {
  test.each([['ghs_token\u200b'], ['ghs to ken'], ['ghs_t\u00f6ken']])('refuses %p without echoing it', (token) => {
    const inputs: Record<string, string> = { 'secret-name': 'DEEPGRAM_API_KEY', 'github-token': token }
    expect(() => readSecretPlan((name) => inputs[name] ?? '', { repository: 'octo-org/app' })).toThrow(
      expect.objectContaining({ input: 'github-token', message: expect.not.stringContaining('ghs') }),
    )
  })
})
