import type { DeleteOutcome, ProjectKey } from '../../src/deepgram/client.ts'
import { formatMarker, secretDigest } from '../../src/deepgram/marker.ts'
import { secretIdentity } from '../../src/github/plan.ts'
import { readKeepPrevious, readSecretPlan } from '../../src/action/inputs/secret.ts'
import { createdMicros, retirePreviousKeys, selectPreviousKeys, type NewKey } from '../../src/action/flow/rotation.ts'
import { readRevokePlan } from '../../src/action/inputs/keys.ts'
import { isKeyOfSecret } from '../../src/action/sources/deepgram.ts'
import { InputError, ServiceError } from '../../src/shared/errors.ts'
import { RecordingIO } from '../helpers/fakes.ts'

const DIGEST = secretDigest('{"name":"DEEPGRAM_API_KEY"}')
const OTHER = secretDigest('{"name":"OTHER_KEY"}')

let counter = 0
/** A key created `minute` minutes after 12:00, its comment ending as given. */
function key(minute: number, tail: string, id?: string): ProjectKey {
  counter++
  return {
    apiKeyId: id ?? `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    comment: `GitHub Actions: octo-org/app${tail}`,
    scopes: ['usage:write'],
    created: `2026-11-28T12:${String(minute).padStart(2, '0')}:00.000000Z`,
  }
}
const ours = (minute: number, digest = DIGEST) =>
  key(
    minute,
    formatMarker({ kind: 'action', invocation: `${'0'.repeat(14)}${String(minute).padStart(2, '0')}`, secret: digest }),
  )
const ids = (keys: { apiKeyId: string }[] | undefined) => (keys ?? []).map((k) => k.apiKeyId)

/** What direct mode's source lists for the secret (its marker's digest), then the selection. */
const select = (keys: ProjectKey[], newKey: NewKey, keep: number) =>
  selectPreviousKeys(
    keys.filter((k) => isKeyOfSecret(k, DIGEST)),
    newKey,
    keep,
  )

describe('selectPreviousKeys', () => {
  const k1 = ours(1)
  const k2 = ours(2)
  const k3 = ours(3)
  const fresh = ours(4)
  const listing = [k2, fresh, k1, k3]

  test.each([
    [0, [], [k1, k2, k3]],
    [1, [k3], [k1, k2]],
    [2, [k3, k2], [k1]],
    [3, [k3, k2, k1], []],
    [10, [k3, k2, k1], []],
  ])('keep %p: keeps the newest (newest first), deletes the rest oldest first', (keep, kept, removed) => {
    const selection = select(listing, fresh, keep)
    expect(ids(selection?.keep)).toEqual(ids(kept))
    expect(ids(selection?.remove)).toEqual(ids(removed))
  })

  test('never the new key itself, whatever its case', () => {
    const selection = select(listing, { apiKeyId: fresh.apiKeyId.toUpperCase() }, 0)
    expect(ids(selection?.remove)).not.toContain(fresh.apiKeyId)
    expect(ids(selection?.remove)).toEqual(ids([k1, k2, k3]))
  })

  test('orders by Deepgram’s created, microseconds included, not by listing order', () => {
    const a = { ...ours(5), created: '2026-11-28T12:05:00.000002Z' }
    const b = { ...ours(5), created: '2026-11-28T12:05:00.000001Z' }
    const c = { ...ours(5), created: '2026-11-28T13:04:59.999999+01:00' } // 12:04:59.999999Z: the oldest
    const newest = ours(6)
    const selection = select([b, newest, a, c], newest, 1)
    expect(ids(selection?.keep)).toEqual([a.apiKeyId])
    expect(ids(selection?.remove)).toEqual([c.apiKeyId, b.apiKeyId])
  })

  test('keys of another secret, hand-made keys with a similar comment, and unparsable markers stay', () => {
    const strangers = [
      ours(1, OTHER),
      key(1, ` [dgk:0123456789abcdef:${DIGEST}] made by hand`), // the marker is not at the end
      key(1, ` [dgk:0123456789abcdef:${DIGEST}]x`),
      key(1, ` [dgk:0123456789ABCDEF:${DIGEST}]`), // upper-case hex is not ours
      key(1, ` [dgk:0123456789abcdef:${DIGEST.slice(0, 11)}]`), // a digest one digit short
      key(1, ` [dgk:0123456789abcdef]`), // ours, but written to no secret
      key(1, ` dgk:0123456789abcdef:${DIGEST}`),
      key(1, ''),
      { ...ours(1), apiKeyId: 'not-a-uuid' },
    ]
    const fresh2 = ours(2)
    expect(select([...strangers, fresh2], fresh2, 0)).toEqual({ keep: [], remove: [] })
  })

  test('keys made after the new one (a concurrent run) and keys without a creation time stay', () => {
    const later = ours(9)
    const undated = { ...ours(1), created: undefined }
    const garbled = { ...ours(1), created: 'yesterday' }
    const selection = select([k1, later, undated, garbled, fresh], fresh, 0)
    expect(ids(selection?.remove)).toEqual([k1.apiKeyId])
    expect(selection?.keep).toEqual([])
  })

  test('the creation time of the new key comes from the listing, else from the create answer, else nothing is selected', () => {
    const unlisted = { apiKeyId: '00000000-0000-4000-8000-ffffffffffff', created: '2026-11-28T12:02:30.000000Z' }
    expect(ids(select([k1, k2, k3], unlisted, 0)?.remove)).toEqual(ids([k1, k2]))
    expect(select([k1, k2, k3], { apiKeyId: unlisted.apiKeyId }, 0)).toBeUndefined()
  })
})

describe('createdMicros', () => {
  test.each([
    ['2026-11-28T12:00:00Z', Date.parse('2026-11-28T12:00:00Z') * 1000],
    ['2026-11-28T12:00:00.373761Z', Date.parse('2026-11-28T12:00:00Z') * 1000 + 373761],
    ['2026-11-28T12:00:00.5Z', Date.parse('2026-11-28T12:00:00Z') * 1000 + 500000],
    ['2026-11-28T13:00:00.000001+01:00', Date.parse('2026-11-28T12:00:00Z') * 1000 + 1],
    ['2026-11-28 12:00:00', undefined],
    ['', undefined],
  ])('%p', (text, micros) => {
    expect(createdMicros(text)).toBe(micros)
  })
})

describe('readKeepPrevious', () => {
  const read = (value: string) => readKeepPrevious((name) => (name === 'keep-previous' ? value : ''))
  test.each([
    ['', 'all'],
    ['all', 'all'],
    ['ALL', 'all'],
    ['0', 0],
    ['1', 1],
    ['12', 12],
  ])('%p is %p', (text, expected) => {
    expect(read(text)).toBe(expected)
  })

  test.each(['-1', '1.5', 'one', 'none', '1e3', '5000', '0x1', ' 1 2'])(
    '%p is refused, naming the forms it accepts',
    (text) => {
      expect(() => read(text)).toThrow(InputError)
      expect(() => read(text)).toThrow(
        /^Input keep-previous: '.*' is not a number of earlier keys to keep\. Give 0 .*, 1 .*, or all/,
      )
    },
  )

  test('is refused without secret-name, and in revoke mode', () => {
    const inputs: Record<string, string> = { 'api-key': 'dg_admin', 'keep-previous': '1', tags: 't' }
    expect(() => readSecretPlan((name) => inputs[name] ?? '', {})).toThrow(
      /^Input keep-previous: is set but secret-name is empty/,
    )
    expect(() => readRevokePlan((name) => inputs[name] ?? '')).toThrow(
      /^Input keep-previous: applies to mode: create only/,
    )
    expect(readRevokePlan((name) => ({ ...inputs, 'keep-previous': 'all' })[name] ?? '').tags).toEqual(['t'])
  })
})

describe('secretIdentity', () => {
  const env = { repository: 'octo-org/app' }
  const identity = (inputs: Record<string, string>) => {
    const all: Record<string, string> = { 'secret-name': 'deepgram_api_key', 'github-token': 'ghs_one', ...inputs }
    const plan = readSecretPlan((name) => all[name] ?? '', env)
    if (plan === undefined) throw new Error('no plan')
    return secretIdentity(plan)
  }

  test('is the name as GitHub stores it, the type, the scope and the targets, canonical', () => {
    expect(JSON.parse(identity({ 'secret-repositories': 'Octo-Org/Web, octo-org/api' }))).toEqual({
      name: 'DEEPGRAM_API_KEY',
      type: 'actions',
      scope: 'repository',
      repositories: ['octo-org/api', 'octo-org/web'],
      environment: '',
      organization: '',
    })
  })

  test('does not change with order, case, the token or an organization secret’s visibility', () => {
    expect(identity({ 'secret-repositories': 'octo-org/web, octo-org/api' })).toBe(
      identity({
        'secret-repositories': 'OCTO-ORG/API\nocto-org/WEB',
        'github-token': 'ghs_two',
        'secret-name': 'DEEPGRAM_API_KEY',
      }),
    )
    expect(identity({ 'secret-organization': 'octo-org' })).toBe(
      identity({
        'secret-organization': 'Octo-Org',
        'secret-visibility': 'selected',
        'secret-selected-repositories': 'app',
      }),
    )
    expect(identity({ 'secret-environment': 'PR-42' })).toBe(identity({ 'secret-environment': 'pr-42' }))
  })

  test.each([
    [{ 'secret-name': 'OTHER_KEY' }],
    [{ 'secret-type': 'dependabot' }],
    [{ 'secret-repositories': 'octo-org/app, octo-org/api' }],
    [{ 'secret-repositories': 'octo-org/api' }],
    [{ 'secret-environment': 'pr-42' }],
    [{ 'secret-environment': 'pr-43' }],
    [{ 'secret-organization': 'octo-org' }],
    [{ 'secret-organization': 'octo-org', 'secret-type': 'dependabot' }],
  ])('differs from the repository secret of octo-org/app with %p', (inputs) => {
    expect(identity(inputs)).not.toBe(identity({}))
  })
})

describe('retirePreviousKeys', () => {
  function scriptedClient(keys: ProjectKey[], deleteAnswers: Record<string, DeleteOutcome | Error>, listError?: Error) {
    const deleted: string[] = []
    return {
      deleted,
      byHand: 'Delete it in the Deepgram console.',
      keysOfSecret: async (digest: string) => {
        if (listError) throw listError
        return keys.filter((k) => isKeyOfSecret(k, digest))
      },
      deleteKey: async (id: string): Promise<DeleteOutcome> => {
        deleted.push(id)
        const answer = deleteAnswers[id] ?? 'deleted'
        if (answer instanceof Error) throw answer
        return answer
      },
    }
  }
  const refusal = new ServiceError({
    service: 'Deepgram',
    action: 'deleting key x',
    status: 500,
    message: 'An internal server error occurred.',
    requestId: 'req-123',
  })

  test('deletes oldest first and reports each key', async () => {
    const [a, b, c, fresh] = [ours(1), ours(2), ours(3), ours(4)]
    const client = scriptedClient([fresh, c, b, a], { [b.apiKeyId]: 'already-gone' })
    const io = new RecordingIO()
    const report = await retirePreviousKeys(
      { secretName: 'DEEPGRAM_API_KEY', digest: DIGEST, keep: 1, newKey: fresh },
      client,
      io,
    )
    expect(client.deleted).toEqual([a.apiKeyId, b.apiKeyId])
    expect(report.keys.map((k) => [k.key.apiKeyId, k.outcome])).toEqual([
      [c.apiKeyId, 'kept'],
      [a.apiKeyId, 'deleted'],
      [b.apiKeyId, 'already-gone'],
    ])
    expect(io.log.filter((line) => line.startsWith('warning'))).toEqual([])
  })

  test('a deletion that fails is a warning with status, message and request id, and the others still go', async () => {
    const [a, b, fresh] = [ours(1), ours(2), ours(4)]
    const client = scriptedClient([a, b, fresh], { [a.apiKeyId]: refusal })
    const io = new RecordingIO()
    const report = await retirePreviousKeys(
      { secretName: 'DEEPGRAM_API_KEY', digest: DIGEST, keep: 0, newKey: fresh },
      client,
      io,
    )
    expect(client.deleted).toEqual([a.apiKeyId, b.apiKeyId])
    expect(report.keys.map((k) => k.outcome)).toEqual(['failed', 'deleted'])
    const warnings = io.log.filter((line) => line.startsWith('warning'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(
      `Could not delete key ${a.apiKeyId}, an earlier key of secret DEEPGRAM_API_KEY: Deepgram answered HTTP 500`,
    )
    expect(warnings[0]).toContain('An internal server error occurred. (request id req-123)')
  })

  test('a listing that fails is a warning, and nothing is deleted', async () => {
    const client = scriptedClient([], {}, refusal)
    const io = new RecordingIO()
    const report = await retirePreviousKeys(
      { secretName: 'DEEPGRAM_API_KEY', digest: DIGEST, keep: 0, newKey: ours(4) },
      client,
      io,
    )
    expect(client.deleted).toEqual([])
    expect(report.problem).toMatch(/^listing the secret's keys failed: Deepgram answered HTTP 500/)
    expect(io.log.filter((line) => line.startsWith('warning'))).toEqual([
      expect.stringMatching(/^warning No earlier key of secret DEEPGRAM_API_KEY was deleted: listing/),
    ])
  })
})
