import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { ConfigError } from '../../src/broker/config-error.ts'
import { readConfig } from '../../src/broker/config.ts'
import { discoverKeySet, fetchIssuerJson, IssuerUnavailable } from '../../src/broker/oidc/discovery.ts'
import { undiciSend } from '../../src/shared/http.ts'

const MARKER_SECRET = 'a3f1'.repeat(16)
const BASE = { DEEPGRAM_ADMIN_KEY: 'dg_admin_key', BROKER_POLICY: '/etc/broker/policy.yml' }

describe('readConfig', () => {
  test('defaults: port 8080 on every interface, Deepgram itself', () => {
    expect(readConfig(BASE)).toEqual({
      adminKey: { key: 'dg_admin_key' },
      policyPath: '/etc/broker/policy.yml',
      reloadSeconds: 10,
      port: 8080,
      host: '0.0.0.0',
      deepgramApiUrl: 'https://api.deepgram.com',
      maxConnections: 512,
    })
  })

  test('reads PORT, HOST and DEEPGRAM_API_URL', () => {
    expect(
      readConfig({ ...BASE, PORT: '0', HOST: '127.0.0.1', DEEPGRAM_API_URL: 'http://127.0.0.1:9000/' }),
    ).toMatchObject({ port: 0, host: '127.0.0.1', deepgramApiUrl: 'http://127.0.0.1:9000' })
  })

  test('reads the admin key from DEEPGRAM_ADMIN_KEY_FILE, and POLICY_RELOAD_SECONDS (0: only on SIGHUP)', () => {
    const env = { BROKER_POLICY: BASE.BROKER_POLICY, DEEPGRAM_ADMIN_KEY_FILE: '/run/secrets/deepgram/admin-key' }
    expect(readConfig(env)).toMatchObject({ adminKey: { file: '/run/secrets/deepgram/admin-key' }, reloadSeconds: 10 })
    expect(readConfig({ ...BASE, POLICY_RELOAD_SECONDS: '0' }).reloadSeconds).toBe(0)
    expect(readConfig({ ...BASE, POLICY_RELOAD_SECONDS: '300' }).reloadSeconds).toBe(300)
  })

  test('reads the marker secret from BROKER_MARKER_SECRET or BROKER_MARKER_SECRET_FILE; unset, there is none', () => {
    expect(readConfig(BASE).markerSecret).toBeUndefined()
    expect(readConfig({ ...BASE, BROKER_MARKER_SECRET: MARKER_SECRET }).markerSecret).toEqual({ secret: MARKER_SECRET })
    expect(readConfig({ ...BASE, BROKER_MARKER_SECRET_FILE: '/run/secrets/m' }).markerSecret).toEqual({
      file: '/run/secrets/m',
    })
  })

  test.each<[string, Record<string, string>, RegExp]>([
    [
      'both the marker secret and its file',
      { ...BASE, BROKER_MARKER_SECRET: MARKER_SECRET, BROKER_MARKER_SECRET_FILE: '/run/secrets/m' },
      /^BROKER_MARKER_SECRET and BROKER_MARKER_SECRET_FILE are both set\. Give one/,
    ],
    [
      'a marker secret too short',
      { ...BASE, BROKER_MARKER_SECRET: 'x'.repeat(31) },
      /^BROKER_MARKER_SECRET holds 31 characters, fewer than 32\. Give at least 32 random printable characters .*openssl rand -hex 32/,
    ],
    [
      'a marker secret with a space',
      { ...BASE, BROKER_MARKER_SECRET: `${MARKER_SECRET} x` },
      /^BROKER_MARKER_SECRET holds spaces or characters that are not printable ASCII\. Give at least 32/,
    ],
    ['no admin key', { ...BASE, DEEPGRAM_ADMIN_KEY: '' }, /DEEPGRAM_ADMIN_KEY is not set.*DEEPGRAM_ADMIN_KEY_FILE/],
    [
      'both the admin key and its file',
      { ...BASE, DEEPGRAM_ADMIN_KEY_FILE: '/run/secrets/admin-key' },
      /DEEPGRAM_ADMIN_KEY and DEEPGRAM_ADMIN_KEY_FILE are both set\. Give one/,
    ],
    [
      'a reload interval in minutes',
      { ...BASE, POLICY_RELOAD_SECONDS: '5m' },
      /POLICY_RELOAD_SECONDS '5m' is not a number of seconds\. Give a whole number from 0 to 86400.*0: only on SIGHUP/,
    ],
    ['a reload interval over a day', { ...BASE, POLICY_RELOAD_SECONDS: '86401' }, /POLICY_RELOAD_SECONDS '86401'/],
    ['an admin key with a space', { ...BASE, DEEPGRAM_ADMIN_KEY: 'dg key' }, /DEEPGRAM_ADMIN_KEY holds spaces/],
    ['no policy', { DEEPGRAM_ADMIN_KEY: 'k' }, /BROKER_POLICY is not set/],
    ['a port that is not a number', { ...BASE, PORT: 'http' }, /PORT 'http' is not a port/],
    ['a port too high', { ...BASE, PORT: '65536' }, /is not a port/],
    ['a host with a slash', { ...BASE, HOST: 'http://x' }, /HOST 'http:\/\/x' is not an address/],
    [
      'plain http to Deepgram off this machine',
      { ...BASE, DEEPGRAM_API_URL: 'http://api.deepgram.com' },
      /plain http to a host that is not this machine/,
    ],
    ['a Deepgram URL that is not one', { ...BASE, DEEPGRAM_API_URL: 'api.deepgram.com' }, /is not a URL/],
    [
      'a Deepgram URL with credentials',
      { ...BASE, DEEPGRAM_API_URL: 'https://u:p@api.deepgram.com' },
      /without credentials/,
    ],
  ])('refuses %s', (_what, env, message) => {
    expect(() => readConfig(env)).toThrow(ConfigError)
    expect(() => readConfig(env)).toThrow(message)
  })

  test('never repeats the admin key or the marker secret in a refusal', () => {
    expect(() => readConfig({ ...BASE, DEEPGRAM_ADMIN_KEY: 'dg secret' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('dg secret') }),
    )
    for (const secret of ['short-secret', `${MARKER_SECRET} x`]) {
      const refusal = (): string => {
        try {
          readConfig({ ...BASE, BROKER_MARKER_SECRET: secret })
        } catch (error) {
          return (error as Error).message
        }
        return 'accepted'
      }
      expect(refusal()).toMatch(/^BROKER_MARKER_SECRET holds/)
      expect(refusal()).not.toContain(secret.slice(0, 10))
    }
  })
})

describe('discoverKeySet', () => {
  const issuer = 'https://token.example.com'
  const jwks = { keys: [{ kty: 'RSA', kid: 'k1', n: 'x', e: 'AQAB' }] }
  function fetchFrom(answers: Record<string, unknown>): {
    fetchJson: (url: string) => Promise<unknown>
    fetched: string[]
  } {
    const fetched: string[] = []
    return {
      fetched,
      fetchJson: async (url) => {
        fetched.push(url)
        if (!(url in answers)) throw new IssuerUnavailable(`${url} answered HTTP 404`)
        return answers[url]
      },
    }
  }

  test("follows the discovery document to the issuer's keys", async () => {
    const { fetchJson, fetched } = fetchFrom({
      [`${issuer}/.well-known/openid-configuration`]: { issuer, jwks_uri: `${issuer}/.well-known/jwks` },
      [`${issuer}/.well-known/jwks`]: jwks,
    })
    expect(await discoverKeySet(issuer, fetchJson)).toEqual(jwks)
    expect(fetched).toEqual([`${issuer}/.well-known/openid-configuration`, `${issuer}/.well-known/jwks`])
  })

  test.each<[string, unknown, RegExp]>([
    [
      'another issuer',
      { issuer: 'https://evil.example.com', jwks_uri: `${issuer}/.well-known/jwks` },
      /names another issuer/,
    ],
    ['no jwks_uri', { issuer }, /has no jwks_uri/],
    ['keys on another host', { issuer, jwks_uri: 'https://evil.example.com/jwks' }, /on another host/],
    ['keys over plain http', { issuer, jwks_uri: 'http://token.example.com/.well-known/jwks' }, /on another host/],
    [
      'keys on another port',
      { issuer, jwks_uri: 'https://token.example.com:8443/.well-known/jwks' },
      /on another host/,
    ],
    ['a list', [issuer], /names another issuer/],
  ])('refuses a discovery document that names %s, fetching nothing more', async (_what, document, message) => {
    const { fetchJson, fetched } = fetchFrom({ [`${issuer}/.well-known/openid-configuration`]: document })
    await expect(discoverKeySet(issuer, fetchJson)).rejects.toThrow(message)
    expect(fetched).toHaveLength(1)
  })

  test('refuses keys that are not a key set', async () => {
    const { fetchJson } = fetchFrom({
      [`${issuer}/.well-known/openid-configuration`]: { issuer, jwks_uri: `${issuer}/k` },
      [`${issuer}/k`]: { key: [] },
    })
    await expect(discoverKeySet(issuer, fetchJson)).rejects.toThrow(/is not a JSON Web Key Set/)
  })
})

describe('fetchIssuerJson over undiciSend with limits', () => {
  let server: Server
  let url = ''
  const agent = new Agent()
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') return void res.end(JSON.stringify({ padding: 'x'.repeat(5000) }))
      if (req.url === '/slow') return void res.write('{') // and never more
      if (req.url === '/text') return void res.end('<html>')
      if (req.url === '/missing') return void res.writeHead(404).end('{}')
      res.end('{"issuer": "x"}')
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await agent.close()
    server.closeAllConnections()
    await new Promise((done) => server.close(done))
  })

  const send = () => undiciSend(agent, { timeoutMs: 300, maxAnswerBytes: 1024 })

  test('reads a small JSON answer', async () => {
    expect(await fetchIssuerJson(send(), `${url}/ok`)).toEqual({ issuer: 'x' })
  })

  test.each([
    ['/big', /longer than the 1024 bytes/],
    ['/slow', /could not be read/],
    ['/text', /did not answer JSON/],
    ['/missing', /answered HTTP 404/],
  ])('refuses %s', async (path, message) => {
    await expect(fetchIssuerJson(send(), `${url}${path}`)).rejects.toThrow(message)
  })
})
