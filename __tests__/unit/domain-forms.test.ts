// One definition of a scope, a tag and a UUID, applied the same way in every mode: what the action
// takes as an input in direct mode, the broker takes in its requests, and what one refuses the
// other refuses.
import { readKeyPlan, readRevokePlan } from '../../src/action/inputs/keys.ts'
import { parseKeyRequest } from '../../src/broker/key-request.ts'
import { Refusal } from '../../src/broker/refusal.ts'
import { parseTagQuery } from '../../src/broker/usage.ts'
import { isUuid } from '../../src/deepgram/ids.ts'
import { InputError } from '../../src/shared/errors.ts'

const now = new Date('2026-11-28T12:00:00Z')

function inputs(values: Record<string, string>) {
  const all: Record<string, string> = { scopes: 'usage:write', expiration: '1h', ...values }
  return (name: string) => all[name] ?? ''
}

/** What the action does with the inputs: 'taken', or the input its error names. */
function actionVerdict(read: () => unknown): string {
  try {
    read()
    return 'taken'
  } catch (error) {
    if (error instanceof InputError) return error.input
    throw error
  }
}

/** What the broker does with a request: 'taken', or the status of its refusal. */
function brokerVerdict(read: () => unknown): string {
  try {
    read()
    return 'taken'
  } catch (error) {
    if (error instanceof Refusal) return String(error.status)
    throw error
  }
}

const LONGEST_TAG = `t${'x'.repeat(63)}`
const TAGS: [string, boolean][] = [
  ['ci', true],
  ['pr-42', true],
  ['refs/heads/main', true],
  ['team@org+a=b_c.d:e', true],
  [LONGEST_TAG, true],
  [`${LONGEST_TAG}x`, false],
  ['pr 42', false],
  ['-leading-dash', false],
  ['.hidden', false],
  ['semi;colon', false],
  ['naïve', false],
  ['zero\u200bwidth', false],
]

describe('a tag', () => {
  test.each(TAGS)(
    '%p is taken (%p) alike by the action in create, revoke and report mode and by the broker',
    (tag, ok) => {
      const action = ok ? 'taken' : 'tags'
      expect(actionVerdict(() => readKeyPlan(inputs({ tags: tag }), now))).toBe(action)
      expect(actionVerdict(() => readRevokePlan(inputs({ scopes: '', expiration: '', tags: tag })))).toBe(action)
      expect(actionVerdict(() => readRevokePlan(inputs({ scopes: '', expiration: '', tags: tag }), 'report'))).toBe(
        action,
      )
      const broker = ok ? 'taken' : '400'
      expect(brokerVerdict(() => parseKeyRequest(JSON.stringify({ tags: [tag] })))).toBe(broker)
      expect(brokerVerdict(() => parseTagQuery(tag))).toBe(broker)
    },
  )

  test('twenty tags are taken, twenty-one refused, in both modes', () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`)
    expect(actionVerdict(() => readKeyPlan(inputs({ tags: tags(20).join(',') }), now))).toBe('taken')
    expect(actionVerdict(() => readKeyPlan(inputs({ tags: tags(21).join(',') }), now))).toBe('tags')
    expect(brokerVerdict(() => parseKeyRequest(JSON.stringify({ tags: tags(20) })))).toBe('taken')
    expect(brokerVerdict(() => parseKeyRequest(JSON.stringify({ tags: tags(21) })))).toBe('400')
  })

  test('the action refuses one with a single input error naming tags and the forms it accepts', () => {
    expect(() => readKeyPlan(inputs({ tags: 'ci, pr 42' }), now)).toThrow(
      "Input tags: 'pr 42' is not a tag. Give at most 20 tags of letters, digits and _.:/@+=- (no commas or spaces), at most 64 characters, each starting with a letter or digit, separated by commas or newlines.",
    )
    expect(() => readKeyPlan(inputs({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`).join('\n') }), now)).toThrow(
      /^Input tags: names 21 tags\. Give at most 20 tags of letters/,
    )
  })
})

describe('a scope', () => {
  test.each([
    ['usage:write', true],
    ['USAGE:Write', true],
    ['keys:read', true],
    ['self-hosted:product:api', true],
    ['usage:*', true],
    ['member', true],
    ['usage write', false],
    ['usage::write', false],
    [':usage', false],
    ['usage:', false],
    ['usage/write', false],
  ])('%p is taken (%p) alike by the action and by the broker', (scope, ok) => {
    const values = { scopes: scope, 'allow-key-management': 'true' }
    expect(actionVerdict(() => readKeyPlan(inputs(values), now))).toBe(ok ? 'taken' : 'scopes')
    expect(brokerVerdict(() => parseKeyRequest(JSON.stringify({ scopes: [scope] })))).toBe(ok ? 'taken' : '400')
  })

  test('the broker compares scopes without regard to case, as the action does', () => {
    expect(parseKeyRequest(JSON.stringify({ scopes: ['USAGE:WRITE', 'usage:write'] })).scopes).toEqual(['usage:write'])
  })
})

describe('a UUID', () => {
  test.each([
    ['3f2504e0-4f89-11d3-9a0c-0305e82c3301', true],
    ['3F2504E0-4F89-11D3-9A0C-0305E82C3301', true],
    ['3f2504e0-4f89-11d3-9a0c-0305e82c330', false],
    ['3f2504e0-4f89-11d3-9a0c-0305e82c3301/../x', false],
    ['', false],
  ])('%p is one: %p', (text, ok) => {
    expect(isUuid(text)).toBe(ok)
  })
})
