// The bundled broker refuses to start, with exit code 1 and one clear message, on any setting or
// policy that does not pass its checks: it fails closed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { runBrokerToExit, startBroker, type BrokerOptions } from '../../harness/broker.ts'
import { ADMIN_KEY, PROJECT_ID, expectNoLeaks } from '../helpers/broker.ts'

const RULE = {
  name: 'app-tests',
  match: { repository: 'octo-org/app', repository_owner_id: '4321' },
  scopes: ['usage:write'],
}
// An issuer on a closed local port: the broker fetches its issuers' keys as it starts, and a test goes nowhere else.
const POLICY = {
  'project-id': PROJECT_ID,
  audience: 'https://deepgram-broker.example.com',
  issuers: ['http://127.0.0.1:9'],
  rules: [RULE],
}
const withRule = (rule: Record<string, unknown>) => ({ ...POLICY, rules: [{ ...RULE, ...rule }] })
// A key file holding a key and a second word: refused, and neither word is repeated.
const KEY_DIR = mkdtempSync(join(tmpdir(), 'dg-startup-'))
const BAD_KEY_FILE = join(KEY_DIR, 'admin-key')
writeFileSync(BAD_KEY_FILE, `${ADMIN_KEY} extra\n`)
// A marker secret file holding a secret too short to be one.
const SHORT_MARKER_SECRET = 'short-marker-secret'
const SHORT_SECRET_FILE = join(KEY_DIR, 'marker-secret')
writeFileSync(SHORT_SECRET_FILE, `${SHORT_MARKER_SECRET}\n`)
afterAll(() => rmSync(KEY_DIR, { recursive: true, force: true }))
const BASE: BrokerOptions = { policy: POLICY, adminKey: ADMIN_KEY, deepgramApiUrl: 'http://127.0.0.1:9' }

test('starts with a good policy, logs where it listens, and stops on SIGTERM', async () => {
  const broker = await startBroker(BASE)
  expect(broker.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  const health = await fetch(`${broker.url}/healthz`)
  expect(health.status).toBe(200)
  expect(health.headers.get('cache-control')).toBe('no-store')
  const exit = await broker.stop()
  expect(exit.code).toBe(0)
  expect(exit.stdout).toBe(`listening on ${broker.url}\n`)
  expectNoLeaks(exit.stdout + exit.stderr, [ADMIN_KEY])
})

test.concurrent.each<[string, Partial<BrokerOptions>, RegExp]>([
  ['no admin key', { env: { DEEPGRAM_ADMIN_KEY: '' } }, /DEEPGRAM_ADMIN_KEY is not set/],
  ['no policy path', { env: { BROKER_POLICY: '' } }, /BROKER_POLICY is not set/],
  [
    'both the admin key and its file',
    { env: { DEEPGRAM_ADMIN_KEY_FILE: '/nonexistent/admin-key' } },
    /DEEPGRAM_ADMIN_KEY and DEEPGRAM_ADMIN_KEY_FILE are both set\. Give one/,
  ],
  [
    'an admin key file that does not exist',
    { env: { DEEPGRAM_ADMIN_KEY: '', DEEPGRAM_ADMIN_KEY_FILE: '/nonexistent/admin-key' } },
    /DEEPGRAM_ADMIN_KEY_FILE \/nonexistent\/admin-key cannot be read \(ENOENT\)\. Give the path of the file holding the admin key\./,
  ],
  [
    'an admin key file that holds more than a key',
    { env: { DEEPGRAM_ADMIN_KEY: '', DEEPGRAM_ADMIN_KEY_FILE: BAD_KEY_FILE } },
    /DEEPGRAM_ADMIN_KEY_FILE \S+ holds spaces or characters that are not printable ASCII/,
  ],
  [
    'both the marker secret and its file',
    { env: { BROKER_MARKER_SECRET: 'a'.repeat(64), BROKER_MARKER_SECRET_FILE: SHORT_SECRET_FILE } },
    /BROKER_MARKER_SECRET and BROKER_MARKER_SECRET_FILE are both set\. Give one/,
  ],
  [
    'a marker secret file that does not exist',
    { env: { BROKER_MARKER_SECRET_FILE: '/nonexistent/marker-secret' } },
    /BROKER_MARKER_SECRET_FILE \/nonexistent\/marker-secret cannot be read \(ENOENT\)\. Give the path of the file holding the marker secret\./,
  ],
  [
    'a marker secret file that holds too short a secret',
    { env: { BROKER_MARKER_SECRET_FILE: SHORT_SECRET_FILE } },
    /BROKER_MARKER_SECRET_FILE \S+ holds 19 characters, fewer than 32\. Give at least 32 random printable characters.*openssl rand -hex 32/,
  ],
  [
    'a reload interval that is not one',
    { env: { POLICY_RELOAD_SECONDS: '-1' } },
    /POLICY_RELOAD_SECONDS '-1' is not a number of seconds/,
  ],
  [
    'a policy file that does not exist',
    { env: { BROKER_POLICY: '/nonexistent/policy.yml' } },
    /BROKER_POLICY \/nonexistent\/policy.yml cannot be read \(ENOENT\)/,
  ],
  ['a port that is not one', { env: { PORT: 'eighty' } }, /PORT 'eighty' is not a port/],
  [
    'plain http to a Deepgram off this machine',
    { deepgramApiUrl: 'http://api.deepgram.com' },
    /DEEPGRAM_API_URL 'http:\/\/api.deepgram.com' is plain http/,
  ],
  ['a policy that is not YAML', { policy: 'rules: [' }, /is not valid YAML/],
  ['an unknown field', { policy: { ...POLICY, audiences: ['x'] } }, /unknown field "audiences"/],
  ['an unknown rule field', { policy: withRule({ scope: ['usage:write'] }) }, /rule app-tests: unknown field "scope"/],
  [
    'a rule that pins no repository',
    { policy: withRule({ match: { ref: 'refs/heads/main' } }) },
    /rule app-tests: match pins no repository/,
  ],
  [
    'a rule whose owner is a glob',
    { policy: withRule({ match: { repository: '*/app' } }) },
    /match pins no repository/,
  ],
  [
    'a management scope without allow-key-management',
    { policy: withRule({ scopes: ['usage:write', 'keys:write'] }) },
    /scope keys:write can manage keys or the project/,
  ],
  [
    'a max-expiration over 90 days',
    { policy: withRule({ 'max-expiration': '91d' }) },
    /max-expiration 91d is over 90 days/,
  ],
  [
    'a plain-http issuer off this machine',
    { policy: { ...POLICY, issuers: ['http://ghes.example.com/_services/token'] } },
    /plain http to a host that is not this machine/,
  ],
  ['no audience', { policy: { ...POLICY, audience: undefined } }, /audience must be set/],
  ['no rules', { policy: { ...POLICY, rules: [] } }, /rules must be a list of one or more rules/],
  [
    'several issuers and a rule that names none',
    {
      policy: {
        ...POLICY,
        issuers: ['https://token.actions.githubusercontent.com', 'https://ghes.example.com/_services/token'],
      },
    },
    /rule app-tests: issuers must be set when the policy has several issuers/,
  ],
  [
    'a * in event_name',
    { policy: withRule({ match: { repository_owner_id: '4321', event_name: 'pull_request*' } }) },
    /match event_name "pull_request\*" has a \*/,
  ],
  ['a connection cap that is not a count', { env: { MAX_CONNECTIONS: '0' } }, /MAX_CONNECTIONS '0' is not a count/],
  [
    'plain redis to a rate-limit store off this machine',
    { env: { RATE_LIMIT_STORE: 'redis://:hunter22@redis.example.com:6379' } },
    /RATE_LIMIT_STORE 'redis:\/\/:\*\*\*@redis.example.com:6379' is plain redis:\/\/ to a host that is not this machine.*Give memory/,
  ],
  [
    'an option in the store URL',
    { env: { RATE_LIMIT_STORE: 'rediss://redis.example.com?ssl_cert_reqs=none' } },
    /RATE_LIMIT_STORE .* has options \(ssl_cert_reqs\) the broker does not know/,
  ],
  [
    'a rate-limit setting that does not exist',
    { env: { RATE_LIMIT_FAILOPEN: 'true' } },
    /RATE_LIMIT_FAILOPEN is not a setting/,
  ],
])('refuses %s: exit 1, one clear message, no stack trace', async (_what, options, message) => {
  const exit = await runBrokerToExit({ ...BASE, ...options, env: { ...options.env } })
  expect(exit.code).toBe(1)
  expect(exit.stdout).toBe('')
  expect(exit.stderr).toMatch(/^deepgram-key-broker cannot start: /)
  expect(exit.stderr).toMatch(message)
  expectNoLeaks(exit.stderr, [ADMIN_KEY, SHORT_MARKER_SECRET, 'hunter22'])
})

test('names the policy file and lists every problem in it', async () => {
  const exit = await runBrokerToExit({
    ...BASE,
    policy: stringify({ ...POLICY, audience: '', rules: [{ ...RULE, 'max-expiration': '100d', scopes: ['owner'] }] }),
  })
  expect(exit.code).toBe(1)
  const problems = exit.stderr.split('\n').filter((line) => line.startsWith('  - '))
  expect(problems).toHaveLength(3)
  expect(problems.every((line) => /policy\.yml: /.test(line))).toBe(true)
})
