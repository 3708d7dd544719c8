import type { CreateKeyBody, CreatedKey, ProjectKey } from '../../src/deepgram/client.ts'
import {
  ActionError,
  CancelledError,
  NetworkError,
  ServiceError,
  UnusableAnswerError,
} from '../../src/shared/errors.ts'
import {
  CleanUpError,
  createKeyBody,
  createKeyWithoutOrphans,
  mayHaveLeftKey,
  verifyCreatedKey,
  type MintRequest,
} from '../../src/deepgram/mint.ts'
import { MAIN_POLICY } from '../../src/shared/retry.ts'
import { fakeClock } from '../helpers/fakes.ts'

const projectId = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const keyId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
const request: MintRequest = {
  projectId,
  comment: 'GitHub Actions: octo-org/app',
  marker: { kind: 'action', invocation: '0123456789abcdef' },
  scopes: ['member'],
  tags: [],
  expiration: { kind: 'ttl', seconds: 3600 },
}

function refusal(status: number): ServiceError {
  return new ServiceError({ service: 'Deepgram', action: 'creating the key', status, message: 'no' })
}

/** A keys API that answers creates from a script; `serverKeys` is what Deepgram really holds. */
function scriptedApi(script: (Error | 'ok' | 'commit-then-503')[]) {
  const serverKeys: (ProjectKey & { deleted?: boolean })[] = []
  const calls: string[] = []
  let n = 0
  const commit = (body: CreateKeyBody): CreatedKey => {
    n++
    const key = {
      apiKeyId: keyId(n),
      comment: body.comment,
      scopes: body.scopes,
      created: new Date(Date.parse('2026-11-28T12:00:01Z')).toISOString(),
    }
    serverKeys.push(key)
    return {
      apiKeyId: key.apiKeyId,
      key: `secret-${n}`,
      scopes: body.scopes,
      tags: [],
      expirationDate: '2026-11-28T13:00:00Z',
    }
  }
  return {
    serverKeys,
    calls,
    live: () => serverKeys.filter((k) => !k.deleted).map((k) => k.apiKeyId),
    api: {
      async createKeyOnce(_project: string, body: CreateKeyBody): Promise<CreatedKey> {
        calls.push('create')
        const step = script.shift() ?? 'ok'
        if (step === 'ok') return commit(body)
        if (step === 'commit-then-503') {
          commit(body)
          throw refusal(503)
        }
        throw step
      },
      async listKeys(): Promise<ProjectKey[]> {
        calls.push('list')
        return serverKeys.filter((k) => !k.deleted)
      },
      async deleteKey(_project: string, keyId: string) {
        calls.push(`delete ${keyId}`)
        const key = serverKeys.find((k) => k.apiKeyId === keyId)
        if (key) key.deleted = true
        return 'deleted' as const
      },
    },
  }
}

async function mint(api: ReturnType<typeof scriptedApi>['api'], req: MintRequest = request) {
  const log: string[] = []
  const key = await createKeyWithoutOrphans(req, {
    client: api,
    clock: fakeClock(),
    policy: MAIN_POLICY,
    log: (m) => log.push(m),
  })
  return { key, log }
}

describe('createKeyWithoutOrphans', () => {
  test('retries a 429 at once: Deepgram did not process it', async () => {
    const s = scriptedApi([refusal(429), 'ok'])
    const { key } = await mint(s.api)
    expect(key.apiKeyId).toBe(keyId(1))
    expect(s.calls).toEqual(['create', 'create'])
  })

  test('retries a connection that never opened without looking for a key', async () => {
    const s = scriptedApi([new NetworkError('Deepgram', 'creating the key', 'ECONNREFUSED', false), 'ok'])
    await mint(s.api)
    expect(s.calls).toEqual(['create', 'create'])
  })

  test('after a 503 from a create that went through, deletes that key before retrying', async () => {
    const s = scriptedApi(['commit-then-503', 'ok'])
    const { key, log } = await mint(s.api)
    expect(s.calls).toEqual(['create', 'list', `delete ${keyId(1)}`, 'create'])
    expect(key.apiKeyId).toBe(keyId(2))
    expect(s.live()).toEqual([keyId(2)])
    expect(log.join('\n')).toContain(`Deleted key ${keyId(1)}`)
  })

  test('after a reset once the request was sent, looks for the key before retrying', async () => {
    const s = scriptedApi([new NetworkError('Deepgram', 'creating the key', 'ECONNRESET', true), 'ok'])
    await mint(s.api)
    expect(s.calls).toEqual(['create', 'list', 'create'])
  })

  test('when every attempt fails ambiguously, leaves no key behind', async () => {
    const s = scriptedApi(['commit-then-503', 'commit-then-503', 'commit-then-503', 'commit-then-503'])
    await expect(mint(s.api)).rejects.toThrow(ServiceError)
    expect(s.serverKeys).toHaveLength(4)
    expect(s.live()).toEqual([])
  })

  test('does not retry or look for keys after a 400', async () => {
    const s = scriptedApi([refusal(400)])
    await expect(mint(s.api)).rejects.toThrow('HTTP 400')
    expect(s.calls).toEqual(['create'])
  })

  test('leaves alone keys of other runs that share the comment, even created a moment ago', async () => {
    const s = scriptedApi(['commit-then-503', 'ok'])
    s.serverKeys.push({
      apiKeyId: 'other-run',
      comment: 'shared [dgk:fedcba9876543210]',
      scopes: [],
      created: '2026-11-28T12:00:01Z',
    })
    s.serverKeys.push({ apiKeyId: 'by-hand', comment: 'shared', scopes: [], created: '2026-11-28T12:00:01Z' })
    await mint(s.api, { ...request, comment: 'shared' })
    expect(s.live().sort()).toEqual([keyId(2), 'by-hand', 'other-run'])
  })

  test('says which key to delete by hand when the clean-up cannot list keys', async () => {
    const s = scriptedApi(['commit-then-503'])
    s.api.listKeys = async () => {
      throw refusal(500)
    }
    const failure = mint(s.api)
    await expect(failure).rejects.toThrow(ActionError)
    await expect(failure).rejects.toThrow(
      'delete any key whose name ends with "[dgk:0123456789abcdef]" in the Deepgram console.',
    )
  })
})

describe('unusable 2xx answers', () => {
  test('are ambiguous and final: the key with the marker is deleted, no retry, one clear error', async () => {
    const s = scriptedApi([])
    s.api.createKeyOnce = async (_project: string, body: CreateKeyBody): Promise<CreatedKey> => {
      s.calls.push('create')
      s.serverKeys.push({ apiKeyId: keyId(7), comment: body.comment, scopes: body.scopes })
      throw new UnusableAnswerError('Deepgram', 'creating the key', 200, 'the answer is not a JSON object', 'req-1')
    }
    const failure = mint(s.api)
    await expect(failure).rejects.toThrow(ActionError)
    await expect(failure).rejects.toThrow(
      'Deepgram answered HTTP 200 while creating the key, but the answer is not a JSON object (request id req-1). Any key it made was found by its marker and deleted; run the job again.',
    )
    expect(s.live()).toEqual([])
    expect(s.calls).toEqual(['create', 'list', `delete ${keyId(7)}`])
  })
})

describe('mayHaveLeftKey', () => {
  test.each([
    [new NetworkError('Deepgram', 'creating the key', 'timeout', true), true],
    [new NetworkError('Deepgram', 'creating the key', 'ECONNREFUSED', false), false],
    [refusal(503), true],
    [refusal(401), false],
    [new CancelledError('cancelled'), true],
    [new CleanUpError('listing failed'), true],
  ])('%p: %p', (error, maybe) => {
    expect(mayHaveLeftKey(error)).toBe(maybe)
  })
})

describe('createKeyBody', () => {
  test('sends a time to live and omits empty tags', () => {
    expect(createKeyBody(request)).toEqual({
      comment: 'GitHub Actions: octo-org/app [dgk:0123456789abcdef]',
      scopes: ['member'],
      time_to_live_in_seconds: 3600,
    })
  })
  test('sends an expiration date in UTC, and tags when there are some', () => {
    const body = createKeyBody({
      ...request,
      tags: ['pr-42'],
      expiration: { kind: 'date', date: new Date('2026-12-01T14:00:00+02:00') },
    })
    expect(body).toEqual({
      comment: 'GitHub Actions: octo-org/app [dgk:0123456789abcdef]',
      scopes: ['member'],
      tags: ['pr-42'],
      expiration_date: '2026-12-01T12:00:00.000Z',
    })
  })
})

describe('verifyCreatedKey', () => {
  const sentAt = Date.parse('2026-11-28T12:00:00Z')
  const key: CreatedKey = {
    apiKeyId: 'id',
    key: 'k',
    scopes: [],
    tags: [],
    expirationDate: '2026-11-28T13:00:00.123456Z',
  }
  const ttl = { kind: 'ttl' as const, seconds: 3600 }
  const minutes = (n: number) => n * 60_000
  /** Deepgram's answer for a key it created at `created` (its clock) with the TTL asked. */
  const fromDeepgram = (created: number, seconds: number): CreatedKey => ({
    ...key,
    created: new Date(created).toISOString().replace('Z', '123Z'),
    expirationDate: new Date(created + seconds * 1000).toISOString().replace('Z', '456Z'),
  })

  test('accepts the expiry asked for, at Deepgram precision', () => {
    expect(verifyCreatedKey(key, ttl, sentAt, sentAt + 300)).toBeUndefined()
  })
  test.each([
    ['ahead', 1, 10],
    ['behind', 1, -10],
    ['ahead', 1 / 12, 10],
    ['behind', 1 / 12, -10],
  ])("trusts Deepgram's own created: its clock %s of the runner's, a %p h key", (_, hours, skewMinutes) => {
    const seconds = hours * 3600
    expect(
      verifyCreatedKey(
        fromDeepgram(sentAt + minutes(skewMinutes), seconds),
        { kind: 'ttl', seconds },
        sentAt,
        sentAt + 300,
      ),
    ).toBeUndefined()
  })
  test("refuses an expiry that does not match Deepgram's own created plus the TTL, whatever the runner's clock says", () => {
    const wrong = {
      ...fromDeepgram(sentAt, 3600),
      expirationDate: new Date(sentAt + 3600_000 + minutes(3)).toISOString(),
    }
    expect(verifyCreatedKey(wrong, ttl, sentAt, sentAt + 300)).toMatch(
      /not at 2026-11-28T13:00:00.000Z \(created 2026-11-28T12:00:00.000Z plus the time to live\)/,
    )
  })
  test('checks a date asked against the date itself, not against any clock', () => {
    const date = { kind: 'date' as const, date: new Date('2026-12-01T12:00:00Z') }
    expect(
      verifyCreatedKey(
        { ...key, created: '2026-11-28T12:20:00Z', expirationDate: '2026-12-01T12:00:00.000000Z' },
        date,
        sentAt,
        sentAt,
      ),
    ).toBeUndefined()
    expect(verifyCreatedKey({ ...key, expirationDate: '2026-12-01T13:00:00Z' }, date, sentAt, sentAt)).toMatch(
      /not at 2026-12-01T12:00:00.000Z as asked/,
    )
  })
  test("falls back to the runner's clock, with room for skew, only when created is absent", () => {
    expect(
      verifyCreatedKey(
        { ...key, expirationDate: new Date(sentAt + 3600_000 + minutes(4)).toISOString() },
        ttl,
        sentAt,
        sentAt,
      ),
    ).toBeUndefined()
    expect(
      verifyCreatedKey(
        { ...key, expirationDate: new Date(sentAt + 3600_000 + minutes(6)).toISOString() },
        ttl,
        sentAt,
        sentAt,
      ),
    ).toMatch(/not at/)
  })
  test.each([
    [{ expirationDate: undefined }, /never expire/],
    [{ expirationDate: 'soon' }, /not a date/],
    [{ expirationDate: '2027-11-28T13:00:00Z' }, /not at 2026-11-28T13:00:00.000Z/],
  ])('refuses an answer with %p', (change, why) => {
    expect(verifyCreatedKey({ ...key, ...change }, ttl, sentAt, sentAt + 300)).toMatch(why)
  })
})
