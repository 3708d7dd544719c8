// The emulator is the yardstick the action's GitHub code is judged by, so its own
// behaviour is pinned here against the GitHub REST contract it imitates.
import { createConnection } from 'node:net'
import sodium from 'libsodium-wrappers'
import { DEFAULT_GITHUB_TOKEN, openSealedBox, startGitHubEmulator } from '../../harness/github-emulator.ts'
import type { GitHubEmulator, GitHubEmulatorOptions, StoredSecret, TargetRef } from '../../harness/github-emulator.ts'
import { waitFor } from '../helpers/wait.ts'

const AUTH = { authorization: `Bearer ${DEFAULT_GITHUB_TOKEN}`, 'x-github-api-version': '2022-11-28' }

interface Answer {
  status: number
  headers: Headers
  text: string
  json: unknown
}

interface ErrorBody {
  message: string
  documentation_url: string
  status: string
}

interface PublicKey {
  key_id: string
  key: string
}

let emu: GitHubEmulator

beforeAll(async () => {
  await sodium.ready
})

beforeEach(async () => {
  emu = await startGitHubEmulator({})
})

afterEach(async () => {
  await emu.close()
})

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = AUTH,
  base = emu.url,
): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    init.headers = { ...headers, 'content-type': 'application/json' }
  }
  const res = await fetch(`${base}${path}`, init)
  const text = await res.text()
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: text === '' ? undefined : (JSON.parse(text) as unknown),
  }
}

function seal(plaintext: string | Uint8Array, keyBase64: string): string {
  const publicKey = sodium.from_base64(keyBase64, sodium.base64_variants.ORIGINAL)
  return sodium.to_base64(sodium.crypto_box_seal(plaintext, publicKey), sodium.base64_variants.ORIGINAL)
}

async function publicKey(base: string): Promise<PublicKey> {
  const res = await call('GET', `${base}/secrets/public-key`)
  expect(res.status).toBe(200)
  return res.json as PublicKey
}

// Does what the action does: fetch the target's key, seal with libsodium, PUT.
async function writeSecret(
  base: string,
  name: string,
  plaintext: string,
  extra: Record<string, unknown> = {},
): Promise<Answer> {
  const key = await publicKey(base)
  return call('PUT', `${base}/secrets/${name}`, {
    encrypted_value: seal(plaintext, key.key),
    key_id: key.key_id,
    ...extra,
  })
}

/** A stored secret but for its times (tested on their own): what a write put there. */
function withoutTimes(secret: StoredSecret | undefined): Omit<StoredSecret, 'createdAt' | 'updatedAt'> | undefined {
  if (secret === undefined) return undefined
  const { createdAt, updatedAt, ...rest } = secret
  expect(updatedAt).toBeGreaterThanOrEqual(createdAt)
  return rest
}

const REPO: TargetRef = { kind: 'actions', owner: 'octo-org', repo: 'app' }
const REPO_BASE = '/repos/octo-org/app/actions'

describe('server basics', () => {
  it('listens on 127.0.0.1 and stamps GitHub response headers', async () => {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await call('GET', '/repos/octo-org/app')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(res.headers.get('x-github-request-id')).toMatch(
      /^[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{8}$/,
    )
  })

  it('records method, raw path, lower-cased headers, parsed body and status', async () => {
    await writeSecret(REPO_BASE, 'deepgram_api_key', 'v1')
    const put = emu.requests.find((r) => r.method === 'PUT')
    expect(put).toBeDefined()
    expect(put?.path).toBe('/repos/octo-org/app/actions/secrets/deepgram_api_key')
    expect(put?.headers['x-github-api-version']).toBe('2022-11-28')
    expect(put?.headers['authorization']).toBe(`Bearer ${DEFAULT_GITHUB_TOKEN}`)
    expect(put?.body).toEqual({ encrypted_value: expect.any(String), key_id: emu.publicKeyFor(REPO).keyId })
    expect(put?.status).toBe(201)
    expect(emu.requests.map((r) => r.method)).toEqual(['GET', 'PUT'])
  })

  it('answers unknown routes with a GitHub-shaped 404', async () => {
    const res = await call('GET', '/repos/octo-org/app/codespaces/secrets/public-key')
    expect(res.status).toBe(404)
    expect(res.json).toEqual({
      message: 'Not Found',
      documentation_url: expect.stringMatching(/^https:\/\/docs\.github\.com\/rest/),
      status: '404',
    })
  })
})

describe('authentication', () => {
  it.each([
    ['missing', {}],
    ['wrong token', { authorization: 'Bearer ghs_wrong' }],
    ['wrong scheme', { authorization: `Basic ${DEFAULT_GITHUB_TOKEN}` }],
  ])('rejects a %s Authorization header with 401 Bad credentials', async (_label, headers) => {
    const res = await call('GET', `${REPO_BASE}/secrets/public-key`, undefined, headers)
    expect(res.status).toBe(401)
    const body = res.json as ErrorBody
    expect(body.message).toBe('Bad credentials')
    expect(body.status).toBe('401')
    expect(body.documentation_url).toMatch(/^https:\/\/docs\.github\.com\/rest/)
    expect(res.headers.get('x-github-request-id')).not.toBeNull()
  })

  it('accepts both "Bearer" and "token" schemes', async () => {
    const bearer = await call('GET', `${REPO_BASE}/secrets/public-key`, undefined, {
      authorization: `Bearer ${DEFAULT_GITHUB_TOKEN}`,
    })
    const token = await call('GET', `${REPO_BASE}/secrets/public-key`, undefined, {
      authorization: `token ${DEFAULT_GITHUB_TOKEN}`,
    })
    expect([bearer.status, token.status]).toEqual([200, 200])
  })

  it('accepts a custom token and only that token', async () => {
    const custom = await startGitHubEmulator({ token: 'ghp_custom' })
    try {
      const ok = await call('GET', '/repos/octo-org/app', undefined, { authorization: 'token ghp_custom' }, custom.url)
      const ko = await call('GET', '/repos/octo-org/app', undefined, AUTH, custom.url)
      expect([ok.status, ko.status]).toEqual([200, 401])
    } finally {
      await custom.close()
    }
  })
})

describe('public keys', () => {
  const TARGETS: [string, TargetRef][] = [
    ['/repos/octo-org/app/actions', { kind: 'actions', owner: 'octo-org', repo: 'app' }],
    [
      '/repos/octo-org/app/environments/preview',
      { kind: 'actions', owner: 'octo-org', repo: 'app', environment: 'preview' },
    ],
    [
      '/repos/octo-org/app/environments/pr-42',
      { kind: 'actions', owner: 'octo-org', repo: 'app', environment: 'pr-42' },
    ],
    ['/orgs/octo-org/actions', { kind: 'actions', org: 'octo-org' }],
    ['/repos/octo-org/app/dependabot', { kind: 'dependabot', owner: 'octo-org', repo: 'app' }],
    ['/orgs/octo-org/dependabot', { kind: 'dependabot', org: 'octo-org' }],
    ['/repos/octo-org/api/actions', { kind: 'actions', owner: 'octo-org', repo: 'api' }],
  ]

  it('serves a distinct, stable Curve25519 key and numeric key_id per target', async () => {
    const first: PublicKey[] = []
    for (const [base, target] of TARGETS) {
      const key = await publicKey(base)
      expect(key.key_id).toMatch(/^[1-9][0-9]{17}$/)
      expect(Buffer.from(key.key, 'base64')).toHaveLength(32)
      expect(await publicKey(base)).toEqual(key)
      expect(emu.publicKeyFor(target)).toEqual({ keyId: key.key_id, key: key.key })
      first.push(key)
    }
    expect(new Set(first.map((k) => k.key)).size).toBe(TARGETS.length)
    expect(new Set(first.map((k) => k.key_id)).size).toBe(TARGETS.length)
  })

  it('matches owner, repo, org and environment names case-insensitively', async () => {
    const lower = await publicKey('/repos/octo-org/app/environments/preview')
    const upper = await publicKey('/repos/Octo-Org/APP/environments/PREVIEW')
    expect(upper).toEqual(lower)
    expect(emu.publicKeyFor({ kind: 'actions', org: 'OCTO-ORG' })).toEqual(
      emu.publicKeyFor({ kind: 'actions', org: 'octo-org' }),
    )
  })

  it('decodes URL-encoded environment names', async () => {
    const custom = await startGitHubEmulator({
      repos: [{ owner: 'o', name: 'r', id: 7, environments: ['feature/x y'] }],
    })
    try {
      const res = await call(
        'GET',
        '/repos/o/r/environments/feature%2Fx%20y/secrets/public-key',
        undefined,
        AUTH,
        custom.url,
      )
      expect(res.status).toBe(200)
      expect((res.json as PublicKey).key_id).toBe(
        custom.publicKeyFor({ kind: 'actions', owner: 'o', repo: 'r', environment: 'feature/x y' }).keyId,
      )
      expect(custom.requests[0]?.path).toBe('/repos/o/r/environments/feature%2Fx%20y/secrets/public-key')
      const unencoded = await call(
        'GET',
        '/repos/o/r/environments/feature/x y/secrets/public-key',
        undefined,
        AUTH,
        custom.url,
      )
      expect(unencoded.status).toBe(404)
    } finally {
      await custom.close()
    }
  })

  it.each([
    '/repos/octo-org/nope/actions/secrets/public-key',
    '/repos/other/app/actions/secrets/public-key',
    '/repos/octo-org/app/environments/production/secrets/public-key',
    '/repos/octo-org/api/environments/preview/secrets/public-key',
    '/orgs/other-org/actions/secrets/public-key',
    '/orgs/other-org/dependabot/secrets/public-key',
    '/repos/octo-org/nope/dependabot/secrets/public-key',
  ])('answers 404 Not Found for unknown targets: %s', async (path) => {
    const res = await call('GET', path)
    expect(res.status).toBe(404)
    expect((res.json as ErrorBody).message).toBe('Not Found')
  })

  it('publicKeyFor throws for targets GitHub would 404', () => {
    expect(() => emu.publicKeyFor({ kind: 'actions', owner: 'octo-org', repo: 'nope' })).toThrow(/unknown target/)
    expect(() =>
      emu.publicKeyFor({ kind: 'dependabot', owner: 'octo-org', repo: 'app', environment: 'preview' }),
    ).toThrow(/unknown target/)
  })
})

describe('sealed boxes are opened without libsodium', () => {
  // libsodium names the secret half privateKey; tweetnacl calls it secretKey.
  const keyPair = (): { publicKey: Uint8Array; secretKey: Uint8Array } => {
    const kp = sodium.crypto_box_keypair()
    return { publicKey: kp.publicKey, secretKey: kp.privateKey }
  }

  it('openSealedBox (tweetnacl + blakejs) opens what libsodium crypto_box_seal produced', () => {
    const recipient = keyPair()
    const message = new TextEncoder().encode('dg_key \u00e9\u{1F511}\n')
    const sealed = sodium.crypto_box_seal(message, recipient.publicKey)
    expect(openSealedBox(sealed, recipient)).toEqual(new Uint8Array(message))
  })

  it('rejects tampered, truncated or wrongly addressed boxes', () => {
    const recipient = keyPair()
    const other = keyPair()
    const sealed = sodium.crypto_box_seal('value', recipient.publicKey)
    const tampered = Uint8Array.from(sealed)
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1
    expect(openSealedBox(tampered, recipient)).toBeNull()
    expect(openSealedBox(sealed.subarray(0, 40), recipient)).toBeNull()
    expect(openSealedBox(sealed, other)).toBeNull()
  })
})

describe('writing secrets', () => {
  it('creates with 201 {} then updates with 204 and no body, counting writes', async () => {
    const created = await writeSecret(REPO_BASE, 'DEEPGRAM_API_KEY', 'first')
    expect(created.status).toBe(201)
    expect(created.json).toEqual({})
    expect(created.headers.get('content-type')).toBe('application/json; charset=utf-8')

    const updated = await writeSecret(REPO_BASE, 'DEEPGRAM_API_KEY', 'second')
    expect(updated.status).toBe(204)
    expect(updated.text).toBe('')
    expect(updated.headers.get('x-github-request-id')).not.toBeNull()

    expect(emu.secrets).toHaveLength(1)
    expect(withoutTimes(emu.secret(REPO, 'DEEPGRAM_API_KEY'))).toEqual({
      target: REPO,
      name: 'DEEPGRAM_API_KEY',
      value: 'second',
      keyId: emu.publicKeyFor(REPO).keyId,
      writes: 2,
    })
  })

  it('stores the plaintext exactly, without trimming or normalising', async () => {
    const values = ['  padded\t', 'line1\nline2\r\n', '\uFEFFbom', '\u00e9\u{1F511}', '']
    for (const [i, value] of values.entries()) {
      expect((await writeSecret(REPO_BASE, `V${i}`, value)).status).toBe(201)
      expect(emu.secret(REPO, `V${i}`)?.value).toBe(value)
    }
  })

  it('stores names upper-case and treats them case-insensitively', async () => {
    expect((await writeSecret(REPO_BASE, 'deepgram_Key', 'a')).status).toBe(201)
    expect((await writeSecret(REPO_BASE, 'DEEPGRAM_KEY', 'b')).status).toBe(204)
    expect(emu.secrets.map((s) => s.name)).toEqual(['DEEPGRAM_KEY'])
    expect(emu.secret(REPO, 'deepgram_key')?.value).toBe('b')
    expect(emu.secret({ kind: 'actions', owner: 'OCTO-ORG', repo: 'App' }, 'Deepgram_Key')?.writes).toBe(2)
  })

  it('keeps repository, environment, Dependabot and org secrets of the same name apart', async () => {
    expect((await writeSecret(REPO_BASE, 'K', 'repo')).status).toBe(201)
    expect((await writeSecret('/repos/octo-org/app/environments/pr-42', 'K', 'env')).status).toBe(201)
    expect((await writeSecret('/repos/octo-org/app/dependabot', 'K', 'dependabot')).status).toBe(201)
    expect((await writeSecret('/orgs/octo-org/actions', 'K', 'org', { visibility: 'all' })).status).toBe(201)
    expect(
      (await writeSecret('/orgs/octo-org/dependabot', 'K', 'dependabot-org', { visibility: 'private' })).status,
    ).toBe(201)
    expect(emu.secret(REPO, 'K')?.value).toBe('repo')
    expect(emu.secret({ ...REPO, environment: 'pr-42' }, 'K')?.value).toBe('env')
    expect(emu.secret({ ...REPO, environment: 'preview' }, 'K')).toBeUndefined()
    expect(emu.secret({ kind: 'dependabot', owner: 'octo-org', repo: 'app' }, 'K')?.value).toBe('dependabot')
    expect(emu.secret({ kind: 'actions', org: 'octo-org' }, 'K')).toMatchObject({ value: 'org', visibility: 'all' })
    expect(emu.secret({ kind: 'dependabot', org: 'octo-org' }, 'K')).toMatchObject({
      value: 'dependabot-org',
      visibility: 'private',
    })
    expect(emu.secrets).toHaveLength(5)
  })

  it('writes environment secrets whose name is URL-encoded in the path', async () => {
    const custom = await startGitHubEmulator({
      repos: [{ owner: 'o', name: 'r', id: 7, environments: ['review/pr-1'] }],
    })
    try {
      const target: TargetRef = { kind: 'actions', owner: 'o', repo: 'r', environment: 'review/pr-1' }
      const key = custom.publicKeyFor(target)
      const res = await call(
        'PUT',
        '/repos/o/r/environments/review%2Fpr-1/secrets/DG',
        { encrypted_value: seal('k', key.key), key_id: key.keyId },
        AUTH,
        custom.url,
      )
      expect(res.status).toBe(201)
      expect(custom.secret(target, 'DG')?.value).toBe('k')
    } finally {
      await custom.close()
    }
  })

  it('answers 404 when writing to an unknown target', async () => {
    const key = emu.publicKeyFor(REPO)
    const res = await call('PUT', '/repos/octo-org/nope/actions/secrets/K', {
      encrypted_value: seal('v', key.key),
      key_id: key.keyId,
    })
    expect(res.status).toBe(404)
    expect(emu.secrets).toEqual([])
  })
})

describe('write validation', () => {
  async function expect422(path: string, body: unknown, message: RegExp): Promise<void> {
    const res = await call('PUT', path, body)
    expect(res.status).toBe(422)
    const err = res.json as ErrorBody
    expect(err.message).toMatch(message)
    expect(err.status).toBe('422')
    expect(err.documentation_url).toMatch(/^https:\/\/docs\.github\.com\/rest\//)
  }

  afterEach(() => {
    // A rejected write must never be stored.
    expect(emu.secrets).toEqual([])
  })

  it('rejects a value sealed for another target (each target has its own key)', async () => {
    const envKey = emu.publicKeyFor({ ...REPO, environment: 'preview' })
    const repoKey = emu.publicKeyFor(REPO)
    await expect422(
      `${REPO_BASE}/secrets/K`,
      { encrypted_value: seal('v', envKey.key), key_id: repoKey.keyId },
      /encrypted_value is not valid/,
    )
  })

  it('rejects a key_id that is not the target key id', async () => {
    const repoKey = emu.publicKeyFor(REPO)
    const envKey = emu.publicKeyFor({ ...REPO, environment: 'preview' })
    await expect422(
      `${REPO_BASE}/secrets/K`,
      { encrypted_value: seal('v', repoKey.key), key_id: envKey.keyId },
      /key_id/,
    )
  })

  it.each([
    ['not base64', 'not base64!'],
    ['unpadded base64', 'c2VjcmV0YQ'],
    ['URL-safe base64', 'c2VjcmV0_-8='],
    ['base64 that is not a sealed box', Buffer.alloc(80, 7).toString('base64')],
    ['a number', 42],
  ])('rejects an encrypted_value that is %s', async (_label, encrypted) => {
    await expect422(
      `${REPO_BASE}/secrets/K`,
      { encrypted_value: encrypted, key_id: emu.publicKeyFor(REPO).keyId },
      /encrypted_value/,
    )
  })

  it('rejects a value sealed with URL-safe base64 even though the box itself is fine', async () => {
    const key = emu.publicKeyFor(REPO)
    const publicKeyBytes = sodium.from_base64(key.key, sodium.base64_variants.ORIGINAL)
    let urlSafe = ''
    // Retry until the URL-safe encoding actually differs from ORIGINAL (contains - or _ or lacks padding).
    for (let i = 0; i < 50 && !/[-_]/.test(urlSafe); i++) {
      urlSafe = sodium.to_base64(sodium.crypto_box_seal('v', publicKeyBytes), sodium.base64_variants.URLSAFE_NO_PADDING)
    }
    await expect422(`${REPO_BASE}/secrets/K`, { encrypted_value: urlSafe, key_id: key.keyId }, /encrypted_value/)
  })

  it.each([
    ['encrypted_value', { key_id: 'x' }],
    ['key_id', { encrypted_value: 'c2VjcmV0' }],
  ])('rejects a body without %s', async (field, body) => {
    await expect422(`${REPO_BASE}/secrets/K`, body, new RegExp(`"${field}" wasn't supplied`))
  })

  it('rejects malformed JSON with 400 Problems parsing JSON and records the raw body', async () => {
    const res = await call('PUT', `${REPO_BASE}/secrets/K`, '{"encrypted_value":')
    expect(res.status).toBe(400)
    expect((res.json as ErrorBody).message).toBe('Problems parsing JSON')
    expect(emu.requests[0]?.body).toBe('{"encrypted_value":')
  })

  it.each(['1KEY', 'DEEPGRAM-KEY', 'HAS SPACE', 'GITHUB_TOKEN', 'github_deepgram', 'Github_X'])(
    'rejects the secret name %j',
    async (name) => {
      const key = emu.publicKeyFor(REPO)
      await expect422(
        `${REPO_BASE}/secrets/${encodeURIComponent(name)}`,
        { encrypted_value: seal('v', key.key), key_id: key.keyId },
        /Secret names/,
      )
    },
  )
})

describe('secret names that are valid', () => {
  it.each(['_LEADING', 'x', 'DEEPGRAM_API_KEY_2', 'GITHUBX'])('accepts %j', async (name) => {
    expect((await writeSecret(REPO_BASE, name, 'v')).status).toBe(201)
    expect(emu.secret(REPO, name)?.name).toBe(name.toUpperCase())
  })
})

describe('organization secrets', () => {
  const ORG_BASE = '/orgs/octo-org/actions'
  const DEPENDABOT_ORG_BASE = '/orgs/octo-org/dependabot'

  it('requires visibility to be all, private or selected', async () => {
    const missing = await writeSecret(ORG_BASE, 'K', 'v')
    const wrong = await writeSecret(ORG_BASE, 'K', 'v', { visibility: 'public' })
    expect([missing.status, wrong.status]).toEqual([422, 422])
    expect((missing.json as ErrorBody).message).toMatch(/visibility/)
    expect((wrong.json as ErrorBody).message).toMatch(/visibility/)
    expect(emu.secrets).toEqual([])
  })

  it('stores visibility and the selected repository ids', async () => {
    const res = await writeSecret(ORG_BASE, 'K', 'v', { visibility: 'selected', selected_repository_ids: [1001, 1003] })
    expect(res.status).toBe(201)
    expect(withoutTimes(emu.secret({ kind: 'actions', org: 'octo-org' }, 'K'))).toEqual({
      target: { kind: 'actions', org: 'octo-org' },
      name: 'K',
      value: 'v',
      keyId: emu.publicKeyFor({ kind: 'actions', org: 'octo-org' }).keyId,
      visibility: 'selected',
      selectedRepositoryIds: [1001, 1003],
      writes: 1,
    })
  })

  it('replaces visibility and selection on update', async () => {
    await writeSecret(ORG_BASE, 'K', 'v', { visibility: 'selected', selected_repository_ids: [1001] })
    const res = await writeSecret(ORG_BASE, 'K', 'w', { visibility: 'private' })
    expect(res.status).toBe(204)
    const stored = emu.secret({ kind: 'actions', org: 'octo-org' }, 'K')
    expect(stored).toMatchObject({ value: 'w', visibility: 'private', writes: 2 })
    expect(stored?.selectedRepositoryIds).toBeUndefined()
  })

  it.each([
    ['ids with visibility all', { visibility: 'all', selected_repository_ids: [1001] }],
    ['unknown repository id', { visibility: 'selected', selected_repository_ids: [1001, 999] }],
    ['string ids on Actions', { visibility: 'selected', selected_repository_ids: ['1001'] }],
    ['non-integer ids', { visibility: 'selected', selected_repository_ids: [1001.5] }],
    ['ids that are not an array', { visibility: 'selected', selected_repository_ids: 1001 }],
  ])('rejects %s with 422', async (_label, extra) => {
    const res = await writeSecret(ORG_BASE, 'K', 'v', extra)
    expect(res.status).toBe(422)
    expect(emu.secrets).toEqual([])
  })

  it('rejects ids of repositories outside the organization', async () => {
    const custom = await startGitHubEmulator({
      repos: [
        { owner: 'octo-org', name: 'app', id: 1 },
        { owner: 'someone', name: 'fork', id: 2 },
      ],
    })
    try {
      const key = custom.publicKeyFor({ kind: 'actions', org: 'octo-org' })
      const body = { encrypted_value: seal('v', key.key), key_id: key.keyId, visibility: 'selected' }
      const outside = await call(
        'PUT',
        `${ORG_BASE}/secrets/K`,
        { ...body, selected_repository_ids: [2] },
        AUTH,
        custom.url,
      )
      const inside = await call(
        'PUT',
        `${ORG_BASE}/secrets/K`,
        { ...body, selected_repository_ids: [1] },
        AUTH,
        custom.url,
      )
      expect([outside.status, inside.status]).toEqual([422, 201])
    } finally {
      await custom.close()
    }
  })

  it('accepts integer and numeric-string ids for Dependabot org secrets, storing numbers', async () => {
    const res = await writeSecret(DEPENDABOT_ORG_BASE, 'K', 'v', {
      visibility: 'selected',
      selected_repository_ids: [1001, '1002'],
    })
    expect(res.status).toBe(201)
    expect(emu.secret({ kind: 'dependabot', org: 'octo-org' }, 'K')?.selectedRepositoryIds).toEqual([1001, 1002])
  })
})

describe('GET /repos/{owner}/{repo}', () => {
  it('returns id, name, full_name and owner login', async () => {
    const res = await call('GET', '/repos/octo-org/web')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ id: 1003, name: 'web', full_name: 'octo-org/web', owner: { login: 'octo-org' } })
  })

  it('resolves case-insensitively to the canonical spelling', async () => {
    const res = await call('GET', '/repos/OCTO-ORG/Api')
    expect(res.json).toEqual({ id: 1002, name: 'api', full_name: 'octo-org/api', owner: { login: 'octo-org' } })
  })

  it('answers 404 for unknown repositories', async () => {
    const res = await call('GET', '/repos/octo-org/missing')
    expect(res.status).toBe(404)
    expect((res.json as ErrorBody).message).toBe('Not Found')
  })
})

describe('tokenPermissions: none', () => {
  let limited: GitHubEmulator

  beforeEach(async () => {
    limited = await startGitHubEmulator({ tokenPermissions: 'none' })
  })

  afterEach(async () => {
    await limited.close()
  })

  it('answers every secrets call with 403 Resource not accessible by integration', async () => {
    const key = limited.publicKeyFor(REPO)
    const body = { encrypted_value: seal('v', key.key), key_id: key.keyId }
    const answers = [
      await call('GET', `${REPO_BASE}/secrets/public-key`, undefined, AUTH, limited.url),
      await call('PUT', `${REPO_BASE}/secrets/K`, body, AUTH, limited.url),
      await call('GET', '/repos/octo-org/app/environments/preview/secrets/public-key', undefined, AUTH, limited.url),
      await call('GET', '/orgs/octo-org/actions/secrets/public-key', undefined, AUTH, limited.url),
      await call('GET', '/repos/octo-org/app/dependabot/secrets/public-key', undefined, AUTH, limited.url),
      await call('GET', '/orgs/octo-org/dependabot/secrets/public-key', undefined, AUTH, limited.url),
    ]
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403, 403, 403])
    expect(answers[0]?.json).toEqual({
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest/actions/secrets#get-a-repository-public-key',
      status: '403',
    })
    for (const a of answers) expect((a.json as ErrorBody).message).toBe('Resource not accessible by integration')
    expect(limited.secrets).toEqual([])
  })

  it('still resolves repositories and still checks credentials first', async () => {
    expect((await call('GET', '/repos/octo-org/app', undefined, AUTH, limited.url)).status).toBe(200)
    expect((await call('GET', `${REPO_BASE}/secrets/public-key`, undefined, {}, limited.url)).status).toBe(401)
  })
})

describe('faults', () => {
  it('answers the next matching request once by default, then behaves normally', async () => {
    emu.fail({ match: /^GET .*\/public-key$/, status: 503 })
    const first = await call('GET', `${REPO_BASE}/secrets/public-key`)
    const second = await call('GET', `${REPO_BASE}/secrets/public-key`)
    expect(first.status).toBe(503)
    expect(first.json).toEqual({ message: 'Service Unavailable', documentation_url: expect.any(String), status: '503' })
    expect(first.headers.get('x-github-request-id')).not.toBeNull()
    expect(second.status).toBe(200)
    expect(emu.requests.map((r) => r.status)).toEqual([503, 200])
  })

  it('honours times, including Infinity, and only matching requests', async () => {
    emu.fail({ match: /^PUT /, status: 500, times: 2 })
    emu.fail({ match: /\/orgs\//, status: 502, times: Infinity })
    const key = emu.publicKeyFor(REPO)
    const body = { encrypted_value: seal('v', key.key), key_id: key.keyId }
    const puts = [
      await call('PUT', `${REPO_BASE}/secrets/K`, body),
      await call('PUT', `${REPO_BASE}/secrets/K`, body),
      await call('PUT', `${REPO_BASE}/secrets/K`, body),
    ]
    expect(puts.map((p) => p.status)).toEqual([500, 500, 201])
    expect((puts[0]?.json as ErrorBody).message).toBe('Server Error')
    for (let i = 0; i < 4; i++) {
      const res = await call('GET', '/orgs/octo-org/actions/secrets/public-key')
      expect(res.status).toBe(502)
      expect((res.json as ErrorBody).message).toBe('Bad Gateway')
    }
  })

  it('does not process a failed request', async () => {
    emu.fail({ match: /^PUT /, status: 500 })
    const failed = await writeSecret(REPO_BASE, 'K', 'v')
    expect(failed.status).toBe(500)
    expect(emu.secrets).toEqual([])
    const retried = await writeSecret(REPO_BASE, 'K', 'v')
    expect(retried.status).toBe(201)
    expect(emu.secret(REPO, 'K')?.writes).toBe(1)
  })

  it('pre-empts authentication (the failure happens in front of the API)', async () => {
    emu.fail({ match: /public-key/, status: 502 })
    expect((await call('GET', `${REPO_BASE}/secrets/public-key`, undefined, {})).status).toBe(502)
  })

  it.each([
    [403, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'],
    [422, 'Validation Failed'],
    [429, 'API rate limit exceeded'],
    [500, 'Server Error'],
    [502, 'Bad Gateway'],
    [503, 'Service Unavailable'],
  ])('uses GitHub default message for %i', async (status, message) => {
    emu.fail({ match: /./, status })
    const res = await call('GET', '/repos/octo-org/app')
    expect(res.status).toBe(status)
    expect(res.json).toEqual({
      message,
      documentation_url: expect.stringMatching(/^https:\/\/docs\.github\.com\//),
      status: String(status),
    })
  })

  it('sends a custom message and headers such as retry-after', async () => {
    emu.fail({
      match: /./,
      status: 403,
      message: 'slow down',
      headers: { 'retry-after': '3', 'x-ratelimit-remaining': '0' },
    })
    const res = await call('GET', '/repos/octo-org/app')
    expect(res.status).toBe(403)
    expect((res.json as ErrorBody).message).toBe('slow down')
    expect(res.headers.get('retry-after')).toBe('3')
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0')
  })

  it('matches against the raw path including the prefix', async () => {
    const ghes = await startGitHubEmulator({ prefix: '/api/v3' })
    try {
      ghes.fail({ match: /^GET \/api\/v3\/repos\/octo-org\/app$/, status: 500 })
      expect((await call('GET', '/repos/octo-org/app', undefined, AUTH, ghes.url)).status).toBe(500)
    } finally {
      await ghes.close()
    }
  })

  it('refuses nonsensical times', () => {
    expect(() => emu.fail({ match: /./, status: 500, times: 0 })).toThrow(/times/)
    expect(() => emu.fail({ match: /./, status: 500, times: 1.5 })).toThrow(/times/)
  })
})

describe('latency', () => {
  it('delays every response by latencyMs and can be changed with setLatency', async () => {
    // 500 ms: far above what a local answer takes even on a busy machine, so the last check holds.
    const slow = await startGitHubEmulator({ latencyMs: 500 })
    try {
      let started = performance.now()
      expect((await call('GET', '/repos/octo-org/app', undefined, AUTH, slow.url)).status).toBe(200)
      expect(performance.now() - started).toBeGreaterThanOrEqual(490)

      slow.fail({ match: /./, status: 500 })
      started = performance.now()
      expect((await call('GET', '/repos/octo-org/app', undefined, AUTH, slow.url)).status).toBe(500)
      expect(performance.now() - started).toBeGreaterThanOrEqual(490)

      slow.setLatency(0)
      started = performance.now()
      expect((await call('GET', '/repos/octo-org/app', undefined, AUTH, slow.url)).status).toBe(200)
      expect(performance.now() - started).toBeLessThan(490)
    } finally {
      await slow.close()
    }
  })

  it('applies a write even when the client gives up before the delayed response', async () => {
    emu.setLatency(300)
    const key = emu.publicKeyFor(REPO)
    const body = JSON.stringify({ encrypted_value: seal('v', key.key), key_id: key.keyId })
    const giveUp = new AbortController()
    const writing = fetch(`${emu.url}${REPO_BASE}/secrets/K`, {
      method: 'PUT',
      headers: AUTH,
      body,
      signal: giveUp.signal,
    })
    // The client gives up once its request has arrived, before the delayed answer.
    await waitFor(() => emu.requests.some((r) => r.method === 'PUT'), 'the PUT to arrive')
    giveUp.abort()
    await expect(writing).rejects.toThrow()
    expect(emu.secret(REPO, 'K')?.value).toBe('v')
  })
})

describe('GitHub Enterprise Server prefix', () => {
  const options: GitHubEmulatorOptions = { prefix: '/api/v3' }

  it('serves every route under the prefix and includes it in url', async () => {
    const ghes = await startGitHubEmulator(options)
    try {
      expect(ghes.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/)
      const created = await call(
        'PUT',
        `${REPO_BASE}/secrets/K`,
        (() => {
          const key = ghes.publicKeyFor(REPO)
          return { encrypted_value: seal('v', key.key), key_id: key.keyId }
        })(),
        AUTH,
        ghes.url,
      )
      expect(created.status).toBe(201)
      expect(ghes.secret(REPO, 'K')?.value).toBe('v')
      expect(ghes.requests[0]?.path).toBe('/api/v3/repos/octo-org/app/actions/secrets/K')

      const root = ghes.url.replace(/\/api\/v3$/, '')
      expect((await call('GET', '/repos/octo-org/app', undefined, AUTH, root)).status).toBe(404)
      expect((await call('GET', '/repos/octo-org/app', undefined, AUTH, ghes.url)).status).toBe(200)
    } finally {
      await ghes.close()
    }
  })
})

describe("a secret's metadata (GET …/secrets/{name})", () => {
  const ROUTES: [string, string, TargetRef, Record<string, unknown>][] = [
    ['repository', REPO_BASE, REPO, {}],
    [
      'environment',
      '/repos/octo-org/app/environments/pr-42',
      { kind: 'actions', owner: 'octo-org', repo: 'app', environment: 'pr-42' },
      {},
    ],
    ['organization', '/orgs/octo-org/actions', { kind: 'actions', org: 'octo-org' }, { visibility: 'private' }],
    ['Dependabot repository', '/repos/octo-org/app/dependabot', { ...REPO, kind: 'dependabot' }, {}],
    [
      'Dependabot organization',
      '/orgs/octo-org/dependabot',
      { kind: 'dependabot', org: 'octo-org' },
      { visibility: 'private' },
    ],
  ]
  const WHOLE_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

  it.each(ROUTES)(
    '%s: 404 before any write, then the name and times, never the value',
    async (_, base, target, extra) => {
      const before = Math.floor(Date.now() / 1000) * 1000
      expect((await call('GET', `${base}/secrets/deepgram_api_key`)).status).toBe(404)
      expect((await writeSecret(base, 'deepgram_api_key', 'the value', extra)).status).toBe(201)
      const res = await call('GET', `${base}/secrets/Deepgram_Api_Key`)
      expect(res.status).toBe(200)
      const body = res.json as Record<string, string>
      expect(body).toMatchObject({ name: 'DEEPGRAM_API_KEY', created_at: body['updated_at'] })
      expect(body['updated_at']).toMatch(WHOLE_SECONDS)
      expect(Date.parse(body['updated_at'] ?? '')).toBeGreaterThanOrEqual(before)
      expect(Date.parse(body['updated_at'] ?? '')).toBe(
        Math.floor((emu.secret(target, 'DEEPGRAM_API_KEY')?.updatedAt ?? 0) / 1000) * 1000,
      )
      expect(res.text).not.toContain('the value')
      if ('visibility' in extra) expect(body['visibility']).toBe('private')
    },
  )

  it('gives selected_repositories_url for an organization secret with selected visibility', async () => {
    await writeSecret('/orgs/octo-org/actions', 'K', 'v', { visibility: 'selected', selected_repository_ids: [1001] })
    const res = await call('GET', '/orgs/octo-org/actions/secrets/K')
    expect(res.json).toMatchObject({
      visibility: 'selected',
      selected_repositories_url: `${emu.url}/orgs/octo-org/actions/secrets/K/repositories`,
    })
  })

  it('moves updated_at only with a write it processed, on its own clock (setClockSkew)', async () => {
    await writeSecret(REPO_BASE, 'K', 'v1')
    const first = (await call('GET', `${REPO_BASE}/secrets/K`)).json as Record<string, string>
    emu.setClockSkew(3_600_000)
    // Failed, hung and unanswered-but-processed writes: only the last moves updated_at.
    emu.fail({ match: /^PUT /, status: 500 })
    expect((await writeSecret(REPO_BASE, 'K', 'v2')).status).toBe(500)
    expect((await call('GET', `${REPO_BASE}/secrets/K`)).json).toEqual(first)
    emu.fail({ match: /^PUT /, drop: 'hang' })
    const arrived = emu.nextRequest(/^PUT /)
    const hanging = writeSecret(REPO_BASE, 'K', 'v3').catch(() => 'no answer')
    await arrived
    expect((await call('GET', `${REPO_BASE}/secrets/K`)).json).toEqual(first)
    expect(emu.secret(REPO, 'K')?.value).toBe('v1')
    emu.fail({ match: /^PUT /, drop: 'lose' })
    const lost = emu.nextRequest(/^PUT /)
    const losing = writeSecret(REPO_BASE, 'K', 'v4').catch(() => 'no answer')
    await lost
    const after = (await call('GET', `${REPO_BASE}/secrets/K`)).json as Record<string, string>
    expect(emu.secret(REPO, 'K')?.value).toBe('v4')
    expect(after['created_at']).toBe(first['created_at'])
    expect(Date.parse(after['updated_at'] ?? '') - Date.parse(first['updated_at'] ?? '')).toBeGreaterThanOrEqual(
      3_599_000,
    )
    await emu.close()
    expect(await hanging).toBe('no answer')
    expect(await losing).toBe('no answer')
  })

  it("stamps every answer with GitHub's Date header, on its clock", async () => {
    emu.setClockSkew(-600_000)
    const before = Date.now()
    const res = await call('GET', '/repos/octo-org/app')
    const date = Date.parse(res.headers.get('date') ?? '')
    expect(date).toBeGreaterThanOrEqual(Math.floor((before - 600_000) / 1000) * 1000)
    expect(date).toBeLessThanOrEqual(Date.now() - 600_000)
    expect((await call('GET', `${REPO_BASE}/secrets/K`)).headers.get('date')).not.toBeNull()
  })

  it.each([
    [500, 'Server Error'],
    [403, 'Resource not accessible by integration'],
  ])('fails on demand with %i', async (status, message) => {
    await writeSecret(REPO_BASE, 'K', 'v')
    emu.fail({ match: /^GET .*\/secrets\/K$/, status, message })
    const res = await call('GET', `${REPO_BASE}/secrets/K`)
    expect(res.status).toBe(status)
    expect((res.json as ErrorBody).message).toBe(message)
    expect((await call('GET', `${REPO_BASE}/secrets/K`)).status).toBe(200)
  })

  it('is refused (403) to a token without secrets permissions', async () => {
    const limited = await startGitHubEmulator({ tokenPermissions: 'none' })
    try {
      expect((await call('GET', `${REPO_BASE}/secrets/K`, undefined, AUTH, limited.url)).status).toBe(403)
    } finally {
      await limited.close()
    }
  })

  it('hangs on demand: the request is recorded, never answered, until close', async () => {
    emu.fail({ match: /^GET .*\/secrets\/K$/, drop: 'hang' })
    const arrived = emu.nextRequest(/secrets\/K$/)
    const pending = call('GET', `${REPO_BASE}/secrets/K`)
    expect((await arrived).path).toBe(`${REPO_BASE}/secrets/K`)
    expect(emu.requests.at(-1)?.status).toBe(0)
    await emu.close()
    await expect(pending).rejects.toThrow()
  })
})

describe('nextRequest', () => {
  it('resolves with the next matching request from the call on, not an earlier one', async () => {
    await call('GET', '/repos/octo-org/app')
    const next = emu.nextRequest(/^GET \/repos\/octo-org\/(app|api)$/)
    let resolved = false
    void next.then(() => (resolved = true))
    await call('GET', '/repos/octo-org/web')
    expect(resolved).toBe(false)
    await call('GET', '/repos/octo-org/api')
    expect((await next).path).toBe('/repos/octo-org/api')
  })
})

describe('close', () => {
  it('destroys kept-alive connections and stops listening', async () => {
    const server = await startGitHubEmulator({})
    const { port } = new URL(server.url)
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) })
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    socket.on('error', () => undefined)

    const started = performance.now()
    await server.close()
    await socketClosed
    expect(performance.now() - started).toBeLessThan(1000)
    await expect(fetch(`${server.url}/repos/octo-org/app`, { headers: AUTH })).rejects.toThrow()
    await expect(server.close()).resolves.toBeUndefined()
  })

  it('does not leave delayed responses pending', async () => {
    const slow = await startGitHubEmulator({ latencyMs: 10_000 })
    const pending = fetch(`${slow.url}/repos/octo-org/app`, { headers: AUTH })
    await new Promise((r) => setTimeout(r, 50))
    await slow.close()
    await expect(pending).rejects.toThrow()
    expect(slow.requests[0]?.status).toBe(0)
  })
})
