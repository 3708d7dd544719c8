import { InputError } from '../../src/shared/errors.ts'
import { defaultComment, parseList, readBaseUrl, readKeyPlan } from '../../src/action/inputs.ts'

const now = new Date('2026-11-28T12:00:00Z')
const run = { repository: 'octo-org/app', workflow: 'CI', runId: '4242', runAttempt: '2', job: 'test' }
const good: Record<string, string> = { 'api-key': 'dg_admin_key', scopes: 'member', expiration: '1h', revoke: 'auto', 'deepgram-api-url': 'https://api.deepgram.com' }

function plan(overrides: Record<string, string>) {
  const inputs = { ...good, ...overrides }
  return readKeyPlan((name) => (inputs[name] ?? '').trim(), run, now)
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
      deepgramApiUrl: 'https://dg.example.com/proxy',
    })
  })

  test('makes up a comment naming the run', () => {
    const p = plan({})
    expect(p.comment).toBe('GitHub Actions: octo-org/app / workflow CI / run 4242.2 / job test')
    expect(p.projectId).toBeUndefined()
  })

  test.each([
    [{ 'api-key': '' }, 'api-key', /forks/],
    [{ 'api-key': '' }, 'api-key', /Dependabot/],
    [{ 'project-id': 'not-a-uuid' }, 'project-id', /UUID/],
    [{ scopes: '' }, 'scopes', /comma/],
    [{ scopes: ' , \n' }, 'scopes', /is empty/],
    [{ scopes: 'usage write' }, 'scopes', /not a scope/],
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
  test.each([['http://10.0.0.1'], ['http://127.example.com'], ['https://user:pass@api.deepgram.com']])('refuses %p', (value) => {
    expect(() => read(value)).toThrow(InputError)
  })
})

describe('parseList', () => {
  test('splits on commas and newlines, trims and drops empty items', () => {
    expect(parseList(' a, b\n\nc ,')).toEqual(['a', 'b', 'c'])
  })
})

describe('defaultComment', () => {
  test('still says where it came from outside a workflow', () => {
    expect(defaultComment({})).toBe('GitHub Actions: local run')
  })
})
