import type { CreateKeyBody, CreatedKey, ProjectKey } from '../../src/deepgram/client.ts'
import { ActionError, NetworkError, ServiceError } from '../../src/shared/errors.ts'
import { createKeyBody, createKeyWithoutOrphans, verifyCreatedKey, type MintRequest } from '../../src/deepgram/mint.ts'
import { MAIN_POLICY } from '../../src/shared/retry.ts'
import { fakeClock } from '../helpers/fakes.ts'

const projectId = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
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
    const key = { apiKeyId: `key-${n}`, comment: body.comment, scopes: body.scopes, created: new Date(Date.parse('2026-11-28T12:00:01Z')).toISOString() }
    serverKeys.push(key)
    return { apiKeyId: key.apiKeyId, key: `secret-${n}`, scopes: body.scopes, tags: [], expirationDate: '2026-11-28T13:00:00Z' }
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
  const key = await createKeyWithoutOrphans(req, { client: api, clock: fakeClock(), policy: MAIN_POLICY, log: (m) => log.push(m) })
  return { key, log }
}

describe('createKeyWithoutOrphans', () => {
  test('retries a 429 at once: Deepgram did not process it', async () => {
    const s = scriptedApi([refusal(429), 'ok'])
    const { key } = await mint(s.api)
    expect(key.apiKeyId).toBe('key-1')
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
    expect(s.calls).toEqual(['create', 'list', 'delete key-1', 'create'])
    expect(key.apiKeyId).toBe('key-2')
    expect(s.live()).toEqual(['key-2'])
    expect(log.join('\n')).toContain('Deleted key key-1')
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
    s.serverKeys.push({ apiKeyId: 'other-run', comment: 'shared [dgk:fedcba9876543210]', scopes: [], created: '2026-11-28T12:00:01Z' })
    s.serverKeys.push({ apiKeyId: 'by-hand', comment: 'shared', scopes: [], created: '2026-11-28T12:00:01Z' })
    await mint(s.api, { ...request, comment: 'shared' })
    expect(s.live().sort()).toEqual(['by-hand', 'key-2', 'other-run'])
  })

  test('says which key to delete by hand when the clean-up cannot list keys', async () => {
    const s = scriptedApi(['commit-then-503'])
    s.api.listKeys = async () => {
      throw refusal(500)
    }
    const failure = mint(s.api)
    await expect(failure).rejects.toThrow(ActionError)
    await expect(failure).rejects.toThrow('Delete any key whose name ends with "[dgk:0123456789abcdef]" in the Deepgram console.')
  })
})

describe('createKeyBody', () => {
  test('sends a time to live and omits empty tags', () => {
    expect(createKeyBody(request)).toEqual({ comment: 'GitHub Actions: octo-org/app [dgk:0123456789abcdef]', scopes: ['member'], time_to_live_in_seconds: 3600 })
  })
  test('sends an expiration date in UTC, and tags when there are some', () => {
    const body = createKeyBody({ ...request, tags: ['pr-42'], expiration: { kind: 'date', date: new Date('2026-12-01T14:00:00+02:00') } })
    expect(body).toEqual({ comment: 'GitHub Actions: octo-org/app [dgk:0123456789abcdef]', scopes: ['member'], tags: ['pr-42'], expiration_date: '2026-12-01T12:00:00.000Z' })
  })
})

describe('verifyCreatedKey', () => {
  const sentAt = Date.parse('2026-11-28T12:00:00Z')
  const key: CreatedKey = { apiKeyId: 'id', key: 'k', scopes: [], tags: [], expirationDate: '2026-11-28T13:00:00.123456Z' }
  const ttl = { kind: 'ttl' as const, seconds: 3600 }
  test('accepts the expiry asked for, at Deepgram precision', () => {
    expect(verifyCreatedKey(key, ttl, sentAt, sentAt + 300)).toBeUndefined()
  })
  test.each([
    [{ key: '' }, /no key/],
    [{ apiKeyId: '' }, /no api_key_id/],
    [{ expirationDate: undefined }, /never expire/],
    [{ expirationDate: 'soon' }, /not a date/],
    [{ expirationDate: '2027-11-28T13:00:00Z' }, /not at 2026-11-28T13:00:00.000Z/],
  ])('refuses an answer with %p', (change, why) => {
    expect(verifyCreatedKey({ ...key, ...change }, ttl, sentAt, sentAt + 300)).toMatch(why)
  })
})
