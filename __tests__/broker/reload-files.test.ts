// The reload machinery with its file reads, clock and timers passed in: change detection by
// content, what is logged and counted, the admin key file's form, and what stays in force.
import { brokerMarker } from '../../src/deepgram/marker.ts'
import { adminKeyMarkerSecret, Ownership } from '../../src/broker/ownership.ts'
import { parsePolicy, type Policy } from '../../src/broker/policy/policy.ts'
import { Readiness } from '../../src/broker/readiness.ts'
import { keyFingerprint, loadAdminKey } from '../../src/broker/reload/admin-key.ts'
import { adminKeyFile, firstLook, markerSecretFile, policyFile } from '../../src/broker/reload/files.ts'
import { loadMarkerSecret } from '../../src/broker/reload/marker-secret.ts'
import { InForce } from '../../src/broker/reload/in-force.ts'
import type { ReloadRecorder } from '../../src/broker/reload/metrics.ts'
import { checkFiles, startReloading, type ReloaderDeps } from '../../src/broker/reload/reloader.ts'
import { sha256, WatchedFile } from '../../src/broker/reload/watched-file.ts'

const PROJECT = '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
const ISSUER = 'https://token.actions.githubusercontent.com'

function policyText(rules: { name: string; repositoryId: string }[], extra = ''): string {
  return [
    `project-id: ${PROJECT}`,
    'audience: https://broker.example.com',
    extra,
    'rules:',
    ...rules.flatMap((rule) => [
      `  - name: ${rule.name}`,
      `    match: { repository_id: "${rule.repositoryId}" }`,
      '    scopes: [usage:write]',
    ]),
  ].join('\n')
}

const ONE_RULE = policyText([{ name: 'app', repositoryId: '1001' }])
const TWO_RULES = policyText([
  { name: 'app', repositoryId: '1001' },
  { name: 'other', repositoryId: '2002' },
])

/** A file system of one file whose content (or read error) the test sets. */
function fakeFile(initial: string): {
  read: (path: string) => Buffer
  set(content: string | NodeJS.ErrnoException): void
  reads: string[]
} {
  let content: string | NodeJS.ErrnoException = initial
  const reads: string[] = []
  return {
    reads,
    read: (path) => {
      reads.push(path)
      if (typeof content !== 'string') throw content
      return Buffer.from(content)
    },
    set: (next) => (content = next),
  }
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: no`), { code })
}

describe('WatchedFile', () => {
  test('loads a file whose content changed, and nothing while it stays the same', () => {
    const disk = fakeFile('a')
    const loads: string[] = []
    const file = new WatchedFile('/etc/x', disk.read, (text) => {
      loads.push(text)
      return { value: text.toUpperCase() }
    })
    expect(file.look()).toEqual({ kind: 'loaded', value: 'A', sha256: sha256('a') })
    expect(file.look()).toEqual({ kind: 'unchanged', sha256: sha256('a') })
    disk.set('b')
    expect(file.look()).toEqual({ kind: 'loaded', value: 'B', sha256: sha256('b') })
    expect(file.look()).toEqual({ kind: 'unchanged', sha256: sha256('b') })
    expect(loads).toEqual(['a', 'b'])
    expect(disk.reads).toEqual(['/etc/x', '/etc/x', '/etc/x', '/etc/x'])
  })

  test('refuses content that does not load once, then says unchanged until the content changes again', () => {
    const disk = fakeFile('good')
    const file = new WatchedFile('/etc/x', disk.read, (text) =>
      text === 'good' ? { value: text } : { problems: [`${text} is bad`, 'and worse'] },
    )
    file.look()
    disk.set('bad')
    expect(file.look()).toEqual({ kind: 'refused', problems: ['bad is bad', 'and worse'], sha256: sha256('bad') })
    expect(file.look()).toEqual({ kind: 'unchanged', sha256: sha256('bad') })
    // Back to what is in force: loaded again, so that the metrics say the file is good again.
    disk.set('good')
    expect(file.look()).toMatchObject({ kind: 'loaded', value: 'good' })
  })

  test('a file that cannot be read is refused once per error, naming the path and the code', () => {
    const disk = fakeFile('good')
    const file = new WatchedFile('/etc/x', disk.read, (text) => ({ value: text }))
    file.look()
    disk.set(errno('EACCES'))
    expect(file.look()).toEqual({ kind: 'refused', problems: ['/etc/x cannot be read (EACCES)'], sha256: undefined })
    expect(file.look()).toEqual({ kind: 'unchanged', sha256: undefined })
    disk.set(errno('ENOENT'))
    expect(file.look()).toMatchObject({ kind: 'refused', problems: ['/etc/x cannot be read (ENOENT)'] })
    disk.set('good')
    expect(file.look()).toMatchObject({ kind: 'loaded', value: 'good' })
  })
})

describe('the admin key file', () => {
  test('holds the key alone: a trailing line break (LF or CRLF) is dropped', () => {
    expect(loadAdminKey('dg_key_1\n', '/k')).toEqual({ value: 'dg_key_1' })
    expect(loadAdminKey('dg_key_1\r\n', '/k')).toEqual({ value: 'dg_key_1' })
    expect(loadAdminKey('dg_key_1', '/k')).toEqual({ value: 'dg_key_1' })
  })

  test.each([
    ['empty', '\n', /DEEPGRAM_ADMIN_KEY_FILE \/k is empty/],
    ['two lines', 'dg_key_1\ndg_key_2\n', /DEEPGRAM_ADMIN_KEY_FILE \/k holds spaces or characters/],
    ['a space', 'dg key\n', /holds spaces or characters that are not printable ASCII/],
    ['a zero-width space', 'dg_key\u200b', /holds spaces/],
  ])('refuses a file %s, without quoting it', (_what, text, message) => {
    const loaded = loadAdminKey(text, '/k')
    expect(loaded).toEqual({ problems: [expect.stringMatching(message)] })
    if (text.trim() !== '') expect(JSON.stringify(loaded)).not.toContain(text.trim().slice(0, 6))
  })

  test('its fingerprint is the first 16 hex digits of its SHA-256, and not the key', () => {
    expect(keyFingerprint('dg_key_1')).toBe(sha256('dg_key_1').slice(0, 16))
    expect(keyFingerprint('dg_key_1')).toMatch(/^[0-9a-f]{16}$/)
    expect(keyFingerprint('dg_key_1')).not.toBe(keyFingerprint('dg_key_2'))
  })

  test('as the broker starts: unreadable, or not a key, stops it with one message naming the setting', () => {
    const disk = fakeFile('dg key\n')
    expect(() => firstLook(adminKeyFile('/run/secrets/k', disk.read), 'DEEPGRAM_ADMIN_KEY_FILE')).toThrow(
      /^DEEPGRAM_ADMIN_KEY_FILE \/run\/secrets\/k holds spaces/,
    )
    disk.set(errno('ENOENT'))
    expect(() => firstLook(adminKeyFile('/run/secrets/k', disk.read), 'DEEPGRAM_ADMIN_KEY_FILE')).toThrow(
      'DEEPGRAM_ADMIN_KEY_FILE /run/secrets/k cannot be read (ENOENT). Give the path of the file holding the admin key.',
    )
  })
})

describe('the marker secret file', () => {
  const SECRET = '0123456789abcdef'.repeat(4)

  test('holds the secret alone: a trailing line break is dropped', () => {
    expect(loadMarkerSecret(`${SECRET}\n`, '/m')).toEqual({ value: SECRET })
    expect(loadMarkerSecret(`${SECRET}\r\n`, '/m')).toEqual({ value: SECRET })
  })

  test.each([
    ['empty', '\n', /^BROKER_MARKER_SECRET_FILE \/m holds 0 characters, fewer than 32\. .*openssl rand -hex 32/],
    ['short', 'abcdef0123456789\n', /holds 16 characters, fewer than 32/],
    ['two secrets', `${SECRET}\n${SECRET}\n`, /holds spaces or characters that are not printable ASCII/],
  ])('refuses a file %s, without quoting it', (_what, text, message) => {
    const loaded = loadMarkerSecret(text, '/m')
    expect(loaded).toEqual({ problems: [expect.stringMatching(message)] })
    if (text.trim() !== '') expect(JSON.stringify(loaded)).not.toContain(text.trim().slice(0, 8))
  })

  test('as the broker starts: unreadable stops it with one message naming the setting', () => {
    const disk = fakeFile('')
    disk.set(errno('ENOENT'))
    expect(() => firstLook(markerSecretFile('/run/secrets/m', disk.read), 'BROKER_MARKER_SECRET_FILE')).toThrow(
      'BROKER_MARKER_SECRET_FILE /run/secrets/m cannot be read (ENOENT). Give the path of the file holding the marker secret.',
    )
  })

  test('a new secret is put in use; a bad one keeps the old; neither is written out, nor a digest of it', () => {
    const disk = fakeFile(`${SECRET}\n`)
    const file = markerSecretFile('/run/secrets/m', disk.read)
    let inUse = firstLook(file, 'BROKER_MARKER_SECRET_FILE')
    const lines: Record<string, unknown>[] = []
    const counted: string[] = []
    const deps: ReloaderDeps = {
      policy: { file: policyFile('/p', fakeFile(ONE_RULE).read), use: () => undefined },
      markerSecret: { file, use: (secret) => (inUse = secret) },
      audit: (line) => lines.push(line as Record<string, unknown>),
      metrics: { reloaded: (f, outcome) => counted.push(`${f} ${outcome}`), adminKeyInUse: () => undefined },
      now: () => 0,
    }
    checkFiles(deps, 'poll')
    const next = 'fedcba9876543210'.repeat(4)
    disk.set(`${next}\n`)
    checkFiles(deps, 'poll')
    expect(inUse).toBe(next)
    disk.set('too short\n')
    checkFiles(deps, 'poll')
    checkFiles(deps, 'SIGHUP')
    expect(inUse).toBe(next)
    const markerLines = lines.filter((line) => line.event === 'marker_secret_reload')
    expect(markerLines).toEqual([
      {
        time: expect.any(String) as unknown,
        event: 'marker_secret_reload',
        trigger: 'poll',
        file: '/run/secrets/m',
        outcome: 'loaded',
      },
      expect.objectContaining({
        trigger: 'poll',
        outcome: 'refused',
        problems: [expect.stringMatching(/holds spaces/)],
      }),
      expect.objectContaining({ trigger: 'SIGHUP', outcome: 'unchanged' }),
    ])
    expect(counted.filter((c) => c.startsWith('marker_secret'))).toEqual([
      'marker_secret loaded',
      'marker_secret refused',
    ])
    const written = JSON.stringify(lines)
    for (const secret of [SECRET, next]) {
      expect(written).not.toContain(secret.slice(0, 16))
      expect(written).not.toContain(sha256(secret).slice(0, 16))
      expect(written).not.toContain(sha256(`${secret}\n`).slice(0, 16))
    }
  })
})

interface Harness {
  deps: ReloaderDeps
  lines: Record<string, unknown>[]
  counted: string[]
  inForce: { policy: Policy; key: string }
  policyDisk: ReturnType<typeof fakeFile>
  keyDisk: ReturnType<typeof fakeFile>
}

function harness(): Harness {
  const policyDisk = fakeFile(ONE_RULE)
  const keyDisk = fakeFile('dg_key_1\n')
  const policyWatch = policyFile('/etc/broker/policy.yml', policyDisk.read)
  const keyWatch = adminKeyFile('/run/secrets/admin-key', keyDisk.read)
  const inForce = {
    policy: firstLook(policyWatch, 'BROKER_POLICY'),
    key: firstLook(keyWatch, 'DEEPGRAM_ADMIN_KEY_FILE'),
  }
  const lines: Record<string, unknown>[] = []
  const counted: string[] = []
  const metrics: ReloadRecorder = {
    reloaded: (file, outcome) => counted.push(`${file} ${outcome}`),
    adminKeyInUse: (fingerprint) => counted.push(`in use ${fingerprint}`),
  }
  const deps: ReloaderDeps = {
    policy: { file: policyWatch, use: (policy) => (inForce.policy = policy) },
    adminKey: { file: keyWatch, use: (key) => (inForce.key = key), inUse: () => inForce.key },
    audit: (line) => lines.push(line as Record<string, unknown>),
    metrics,
    now: () => Date.parse('2030-01-02T03:04:05Z'),
  }
  return { deps, lines, counted, inForce, policyDisk, keyDisk }
}

describe('checkFiles', () => {
  test('a policy that changed is put in force, with a line giving its rules and its SHA-256', () => {
    const h = harness()
    checkFiles(h.deps, 'poll')
    expect(h.lines).toEqual([])
    h.policyDisk.set(TWO_RULES)
    checkFiles(h.deps, 'poll')
    expect(h.inForce.policy.rules.map((rule) => rule.name)).toEqual(['app', 'other'])
    expect(h.lines).toEqual([
      {
        time: '2030-01-02T03:04:05.000Z',
        event: 'policy_reload',
        trigger: 'poll',
        file: '/etc/broker/policy.yml',
        outcome: 'loaded',
        sha256: sha256(TWO_RULES),
        rules: 2,
      },
    ])
    expect(h.counted).toEqual(['policy loaded'])
  })

  test('a policy that does not load leaves the old one, in one line naming the file and every problem', () => {
    const h = harness()
    const before = h.inForce.policy
    const bad = policyText([{ name: 'app', repositoryId: '1001' }], 'keys-per-minute: lots\ncolour: blue').replace(
      PROJECT,
      'not-a-uuid',
    )
    h.policyDisk.set(bad)
    checkFiles(h.deps, 'poll')
    checkFiles(h.deps, 'poll')
    expect(h.inForce.policy).toBe(before)
    expect(h.lines).toHaveLength(1)
    expect(h.lines[0]).toMatchObject({ outcome: 'refused', sha256: sha256(bad), file: '/etc/broker/policy.yml' })
    const problems = h.lines[0]?.problems as string[]
    expect(problems).toHaveLength(3)
    expect(problems).toEqual([
      expect.stringMatching(/^\/etc\/broker\/policy\.yml: unknown field "colour"/),
      expect.stringMatching(/^\/etc\/broker\/policy\.yml: project-id must be the project's UUID/),
      expect.stringMatching(/^\/etc\/broker\/policy\.yml: keys-per-minute must be a whole number/),
    ])
    expect(h.counted).toEqual(['policy refused'])
    h.policyDisk.set('rules: [')
    checkFiles(h.deps, 'poll')
    expect(h.lines[1]).toMatchObject({
      outcome: 'refused',
      problems: [expect.stringMatching(/^\/etc\/broker\/policy\.yml is not valid YAML/)],
    })
  })

  test('SIGHUP looks at once, and says so when nothing changed', () => {
    const h = harness()
    checkFiles(h.deps, 'SIGHUP')
    expect(h.lines).toEqual([
      expect.objectContaining({
        event: 'policy_reload',
        trigger: 'SIGHUP',
        outcome: 'unchanged',
        sha256: sha256(ONE_RULE),
      }),
      expect.objectContaining({
        event: 'admin_key_reload',
        trigger: 'SIGHUP',
        outcome: 'unchanged',
        fingerprint: keyFingerprint('dg_key_1'),
      }),
    ])
    expect(h.counted).toEqual([])
  })

  test('a new admin key is put in use and its fingerprint shown; a bad one keeps the old, and neither is written out', () => {
    const h = harness()
    h.keyDisk.set('dg_key_2\n')
    checkFiles(h.deps, 'poll')
    expect(h.inForce.key).toBe('dg_key_2')
    expect(h.lines).toEqual([
      expect.objectContaining({
        event: 'admin_key_reload',
        file: '/run/secrets/admin-key',
        outcome: 'loaded',
        fingerprint: keyFingerprint('dg_key_2'),
      }),
    ])
    expect(h.counted).toEqual(['admin_key loaded', `in use ${keyFingerprint('dg_key_2')}`])
    h.keyDisk.set('dg_key_3 oops\n')
    checkFiles(h.deps, 'poll')
    h.keyDisk.set(errno('ENOENT'))
    checkFiles(h.deps, 'poll')
    expect(h.inForce.key).toBe('dg_key_2')
    expect(h.lines.slice(1)).toEqual([
      expect.objectContaining({
        outcome: 'refused',
        fingerprint: keyFingerprint('dg_key_2'),
        problems: [expect.stringMatching(/holds spaces/)],
      }),
      expect.objectContaining({ outcome: 'refused', problems: ['/run/secrets/admin-key cannot be read (ENOENT)'] }),
    ])
    expect(h.counted.slice(2)).toEqual(['admin_key refused', 'admin_key refused'])
    expect(JSON.stringify(h.lines)).not.toMatch(/dg_key_\d/)
  })
})

describe('startReloading', () => {
  test('looks every interval and on SIGHUP; an interval of 0 leaves only SIGHUP', () => {
    const h = harness()
    const timers: number[] = []
    let tick = (): void => undefined
    let hup = (): void => undefined
    startReloading(h.deps, {
      intervalMs: 10_000,
      every: (ms, check) => {
        timers.push(ms)
        tick = check
      },
      onSighup: (check) => (hup = check),
    })
    expect(timers).toEqual([10_000])
    h.policyDisk.set(TWO_RULES)
    tick()
    expect(h.lines.map((line) => `${String(line.trigger)} ${String(line.outcome)}`)).toEqual(['poll loaded'])
    hup()
    expect(h.lines.map((line) => `${String(line.trigger)} ${String(line.outcome)}`)).toEqual([
      'poll loaded',
      'SIGHUP unchanged',
      'SIGHUP unchanged',
    ])

    const quiet = harness()
    const none: number[] = []
    startReloading(quiet.deps, { intervalMs: 0, every: (ms) => none.push(ms), onSighup: () => undefined })
    expect(none).toEqual([])
  })
})

describe('what is in force', () => {
  const policy = parsePolicy(ONE_RULE, 'p')
  const owner = { issuer: ISSUER, repositoryId: '1001' }

  test('is built again for each new policy or admin key; the same key again changes nothing', () => {
    const built: string[] = []
    const inForce = new InForce(policy, { adminKey: 'dg_key_1' }, (p, keyring) => {
      built.push(`${p.rules.length} ${keyring.adminKey} ${keyring.macKeys.length}`)
      return built.length
    })
    inForce.usePolicy(parsePolicy(TWO_RULES, 'p'))
    inForce.useAdminKey('dg_key_1')
    inForce.useAdminKey('dg_key_2')
    expect(built).toEqual(['1 dg_key_1 1', '2 dg_key_1 1', '2 dg_key_2 2'])
    expect(inForce.value).toBe(3)
    expect(inForce.adminKey).toBe('dg_key_2')
  })

  test("keys minted under earlier admin keys stay the broker's; new markers use the newest key's secret", () => {
    let ownership: Ownership | undefined
    const inForce = new InForce(
      policy,
      { adminKey: 'dg_key_1' },
      (p, keyring) => (ownership = new Ownership(keyring.macKeys, p.issuers)),
    )
    const before = brokerMarker(adminKeyMarkerSecret('dg_key_1'), owner, '1111111111111111')
    inForce.useAdminKey('dg_key_2')
    const comment = (marker: typeof before): string =>
      `k [dgkb:${marker.invocation}:${marker.repositoryId}:${marker.mac}]`
    const key = (marker: typeof before) => ({ apiKeyId: 'id', comment: comment(marker), scopes: [] })
    expect(ownership?.markerOwnedBy(key(before), owner)).toBeDefined()
    expect(ownership?.markerOwnedBy(key(before), { ...owner, repositoryId: '2002' })).toBeUndefined()
    expect(ownership?.markerFor(owner, '2222222222222222')).toEqual(
      brokerMarker(adminKeyMarkerSecret('dg_key_2'), owner, '2222222222222222'),
    )
    const forged = brokerMarker(adminKeyMarkerSecret('someone else'), owner, '1111111111111111')
    expect(ownership?.markerOwnedBy(key(forged), owner)).toBeUndefined()
  })

  test('keeps the secrets of the last 16 admin keys, newest first', () => {
    let macKeys: readonly string[] = []
    const inForce = new InForce(policy, { adminKey: 'dg_key_0' }, (_p, keyring) => (macKeys = keyring.macKeys))
    for (let n = 1; n <= 20; n++) inForce.useAdminKey(`dg_key_${n}`)
    expect(macKeys).toHaveLength(16)
    expect(macKeys[0]).toBe(adminKeyMarkerSecret('dg_key_20'))
    expect(macKeys[15]).toBe(adminKeyMarkerSecret('dg_key_5'))
    inForce.useAdminKey('dg_key_10')
    expect(macKeys[0]).toBe(adminKeyMarkerSecret('dg_key_10'))
    expect(new Set(macKeys).size).toBe(16)
  })

  describe('with a marker secret', () => {
    const SECRET = 'b7'.repeat(32)
    const comment = (marker: { invocation: string; repositoryId: string; mac: string }): string =>
      `k [dgkb:${marker.invocation}:${marker.repositoryId}:${marker.mac}]`
    const key = (marker: Parameters<typeof comment>[0]) => ({ apiKeyId: 'id', comment: comment(marker), scopes: [] })
    const started = (keys: { adminKey: string; markerSecret?: string }) => {
      const holder: { ownership?: Ownership; macKeys?: readonly string[] } = {}
      const inForce = new InForce(policy, keys, (p, keyring) => {
        holder.macKeys = keyring.macKeys
        holder.ownership = new Ownership(keyring.macKeys, p.issuers)
      })
      return { inForce, ownership: () => holder.ownership as Ownership, macKeys: () => holder.macKeys ?? [] }
    }

    test('signs with it, whatever the admin key, and still owns the markers of the admin key in use', () => {
      const broker = started({ adminKey: 'dg_key_1', markerSecret: SECRET })
      expect(broker.ownership().markerFor(owner, '1111111111111111')).toEqual(
        brokerMarker(SECRET, owner, '1111111111111111'),
      )
      // Minted by this broker before the marker secret was set, or by a replica still without it.
      const unsetBefore = brokerMarker(adminKeyMarkerSecret('dg_key_1'), owner, '2222222222222222')
      expect(broker.ownership().markerOwnedBy(key(unsetBefore), owner)).toBeDefined()
      broker.inForce.useAdminKey('dg_key_2')
      expect(broker.ownership().markerFor(owner, '3333333333333333').mac).toBe(
        brokerMarker(SECRET, owner, '3333333333333333').mac,
      )
      expect(broker.macKeys()).toEqual([SECRET, adminKeyMarkerSecret('dg_key_2'), adminKeyMarkerSecret('dg_key_1')])
    })

    test('a broker started after an admin key rotation owns the keys minted before it, with the same secret only', () => {
      const before = started({ adminKey: 'dg_key_1', markerSecret: SECRET })
      const minted = before.ownership().markerFor(owner, '4444444444444444')
      const withoutSecret = started({ adminKey: 'dg_key_1' }).ownership().markerFor(owner, '5555555555555555')

      const after = started({ adminKey: 'dg_key_2', markerSecret: SECRET }).ownership()
      expect(after.markerOwnedBy(key(minted), owner)).toEqual(minted)
      expect(after.markerOwnedBy(key(minted), { ...owner, repositoryId: '2002' })).toBeUndefined()
      expect(
        after.markerOwnedBy(key(minted), { ...owner, issuer: 'https://ghes.example.com/_services/token' }),
      ).toBeUndefined()
      // The documented limit: keys minted without the marker secret under an admin key this broker never used.
      expect(after.markerOwnedBy(key(withoutSecret), owner)).toBeUndefined()
      // Another secret owns nothing of this one's.
      expect(
        started({ adminKey: 'dg_key_1', markerSecret: 'c9'.repeat(32) })
          .ownership()
          .markerOwnedBy(key(minted), owner),
      ).toBeUndefined()
    })

    test('a new marker secret signs from then on; the earlier ones stay accepted, 16 secrets at most', () => {
      const broker = started({ adminKey: 'dg_key_1', markerSecret: SECRET })
      const minted = broker.ownership().markerFor(owner, '6666666666666666')
      const next = 'd4'.repeat(32)
      broker.inForce.useMarkerSecret(next)
      expect(broker.ownership().markerFor(owner, '7777777777777777')).toEqual(
        brokerMarker(next, owner, '7777777777777777'),
      )
      expect(broker.ownership().markerOwnedBy(key(minted), owner)).toEqual(minted)
      for (let n = 0; n < 20; n++) broker.inForce.useMarkerSecret(`${n}`.padStart(32, 'e'))
      expect(broker.macKeys()).toHaveLength(16)
      expect(broker.macKeys()[0]).toBe('19'.padStart(32, 'e'))
      expect(broker.macKeys()[1]).toBe(adminKeyMarkerSecret('dg_key_1'))
    })
  })
})

describe('readiness across reloads', () => {
  test('before the broker is first ready, it waits for every issuer of the policy in force', () => {
    const readiness = new Readiness(['https://a.example'])
    readiness.issuersChanged(['https://b.example', 'https://c.example'])
    readiness.keySetFetched('https://b.example')
    expect(readiness.notReadyBecause()).toMatch(/The keys of 1 issuer of the policy/)
    readiness.keySetFetched('https://c.example')
    expect(readiness.notReadyBecause()).toBeUndefined()
  })

  test('once ready, a reload with a new issuer does not take it out of service', () => {
    const readiness = new Readiness(['https://a.example'])
    readiness.keySetFetched('https://a.example')
    readiness.issuersChanged(['https://a.example', 'https://b.example'])
    expect(readiness.notReadyBecause()).toBeUndefined()
  })
})
