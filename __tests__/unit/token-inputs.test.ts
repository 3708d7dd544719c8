// The inputs of credential: token: what a token asks for, and every input that cannot apply to it.
import { thrownBy } from '../helpers/thrown.ts'
import { InputError } from '../../src/shared/errors.ts'
import { readCredential, readStepPlan } from '../../src/action/inputs/step-plan.ts'
import type { GetInput } from '../../src/shared/input-forms.ts'

const now = new Date('2026-11-28T12:00:00Z')
const run = { repository: 'octo-org/app' }
/** action.yml's defaults, as the runner passes them, with a key and credential: token. */
const defaults: Record<string, string> = {
  'api-key': 'dg_admin_key',
  credential: 'token',
  scopes: 'usage:write',
  'allow-key-management': 'false',
  expiration: '1h',
  revoke: 'auto',
  'deepgram-api-url': 'https://api.deepgram.com',
  'keep-previous': 'all',
  mode: 'create',
  'secret-visibility': 'private',
  'secret-type': 'actions',
  'on-missing-credentials': 'fail',
}

function getter(overrides: Record<string, string>): (name: string) => string {
  const inputs = { ...defaults, ...overrides }
  return (name) => (inputs[name] ?? '').trim()
}

/** The step's plan of a token from Deepgram, as one object. */
function readDirectTokenPlan(getInput: GetInput, runContext: typeof run, at: Date) {
  const plan = readStepPlan(getInput, runContext, at)
  if (plan.flow !== 'token' || plan.source.kind !== 'deepgram') throw new Error(`not a direct token plan: ${plan.flow}`)
  return { apiKey: plan.source.apiKey, deepgramApiUrl: plan.source.apiUrl, ...plan.token }
}

/** The step's plan of a token from the broker, as one object. */
function readBrokerTokenPlan(getInput: GetInput, at: Date) {
  const plan = readStepPlan(getInput, run, at)
  if (plan.flow !== 'token' || plan.source.kind !== 'broker') throw new Error(`not a broker token plan: ${plan.flow}`)
  return { ...plan.token, broker: plan.source.target }
}

function refusal(read: () => unknown): InputError {
  return thrownBy(InputError, read)
}

describe('readCredential', () => {
  test.each([
    ['', 'key'],
    ['key', 'key'],
    ['token', 'token'],
    ['TOKEN', 'token'],
  ])("reads '%s' as %s", (value, credential) => {
    expect(readCredential(getter({ credential: value }))).toBe(credential)
  })

  test.each(['jwt', 'tokens', 'key,token'])("refuses '%s', naming credential and its two forms", (value) => {
    const error = refusal(() => readCredential(getter({ credential: value })))
    expect(error.input).toBe('credential')
    expect(error.message).toBe(`Input credential: '${value}' is not one of key or token.`)
  })
})

describe('readDirectTokenPlan', () => {
  test("reads the defaults as an hour's token from Deepgram", () => {
    expect(readDirectTokenPlan(getter({}), run, now)).toEqual({
      apiKey: 'dg_admin_key',
      deepgramApiUrl: 'https://api.deepgram.com',
      expiration: { kind: 'ttl', seconds: 3600 },
      expirationText: '1h',
      seconds: 3600,
    })
  })

  test('takes every form of expiration up to one hour, a date-time as the whole seconds left until it', () => {
    expect(readDirectTokenPlan(getter({ expiration: '90s' }), run, now).seconds).toBe(90)
    expect(readDirectTokenPlan(getter({ expiration: '30m' }), run, now).seconds).toBe(1800)
    expect(readDirectTokenPlan(getter({ expiration: '3600' }), run, now).seconds).toBe(3600)
    expect(readDirectTokenPlan(getter({ expiration: '2026-11-28T12:59:59.500Z' }), run, now).seconds).toBe(3599)
    expect(readDirectTokenPlan(getter({ expiration: '2026-11-28T13:00:00Z' }), run, now)).toMatchObject({
      seconds: 3600,
      expirationText: '2026-11-28T13:00:00Z',
    })
  })

  test('keeps usage:write, an empty scopes, revoke false and a well-formed project-id, which a token ignores', () => {
    const kept: Record<string, string>[] = [
      { scopes: '' },
      { scopes: 'usage:write,\nusage:write' },
      { revoke: 'false' },
      { 'project-id': '3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
    ]
    for (const overrides of kept) {
      expect(readDirectTokenPlan(getter(overrides), run, now).seconds).toBe(3600)
    }
  })

  test.each<[string, Record<string, string>, string, RegExp]>([
    [
      'an expiration over one hour',
      { expiration: '61m' },
      'expiration',
      /longer than a token's limit of one hour \(3600 s\)/,
    ],
    ['a duration of a day', { expiration: '1d' }, 'expiration', /one hour/],
    ['a date more than an hour ahead', { expiration: '2026-11-28T13:00:01Z' }, 'expiration', /one hour/],
    ['a date less than a second ahead', { expiration: '2026-11-28T12:00:00.500Z' }, 'expiration', /less than a second/],
    ['an expiration that is no form', { expiration: 'soon' }, 'expiration', /not understood/],
    ['scopes other than usage:write', { scopes: 'usage:read' }, 'scopes', /always carries usage:write/],
    ['usage:write with another scope', { scopes: 'usage:write, keys:write' }, 'scopes', /use credential: key/],
    ['tags', { tags: 'ci' }, 'tags', /has no tags/],
    ['comment', { comment: 'mine' }, 'comment', /has no name/],
    ['allow-key-management: true', { 'allow-key-management': 'true' }, 'allow-key-management', /can never manage keys/],
    [
      'secret-name',
      { 'secret-name': 'DEEPGRAM_KEY' },
      'secret-name',
      /a secret outlives the token's hour.*credential: key to seed secrets/,
    ],
    ['keep-previous other than all', { 'keep-previous': '2' }, 'keep-previous', /writes no secret/],
    ['keep-previous 0', { 'keep-previous': '0' }, 'keep-previous', /writes no secret/],
    ['mode: revoke', { mode: 'revoke' }, 'mode', /cannot be revoked/],
    ['revoke: true', { revoke: 'true' }, 'revoke', /cannot be revoked/],
    ['key-id', { 'key-id': '3f2504e0-4f89-11d3-9a0c-0305e82c3301' }, 'key-id', /credential is token/],
    ['an empty api-key', { 'api-key': '' }, 'api-key', /is empty/],
    ['a malformed project-id', { 'project-id': 'my-project' }, 'project-id', /not a project id/],
  ])('refuses %s, naming the input', (_, overrides, input, message) => {
    const error = refusal(() => readDirectTokenPlan(getter(overrides), run, now))
    expect(error.input).toBe(input)
    expect(error.message).toMatch(message)
  })
})

describe('readBrokerTokenPlan', () => {
  const broker = {
    'api-key': '',
    'broker-url': 'https://broker.example.com',
    'broker-audience': 'https://broker.example.com',
  }

  test('reads the broker and the expiration as written', () => {
    expect(readBrokerTokenPlan(getter({ ...broker, expiration: '45m' }), now)).toEqual({
      broker: { url: 'https://broker.example.com', audience: 'https://broker.example.com' },
      expiration: { kind: 'ttl', seconds: 2700 },
      expirationText: '45m',
      seconds: 2700,
    })
  })

  test.each<[string, Record<string, string>, string]>([
    ['an api-key next to broker-url', { 'api-key': 'dg_admin_key' }, 'api-key'],
    ['tags', { tags: 'ci' }, 'tags'],
    ['an expiration over one hour', { expiration: '2h' }, 'expiration'],
    ['secret-name', { 'secret-name': 'DEEPGRAM_KEY' }, 'secret-name'],
  ])('refuses %s, naming the input', (_, overrides, input) => {
    expect(refusal(() => readBrokerTokenPlan(getter({ ...broker, ...overrides }), now)).input).toBe(input)
  })
})
