// `check` and `explain`, the policy tools for the CI of the repository that holds the policy: the
// bundled broker run as a child process with no admin key, and an issuer URL that would record
// any connection, to show that neither tool touches the network.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse, stringify } from 'yaml'
import { runBrokerToExit } from '../../harness/broker.ts'
import { parsePolicy } from '../../src/broker/policy/policy.ts'
import { ADMIN_KEY, PROJECT_ID } from '../helpers/broker.ts'

let dir: string
let listener: Server
let connections = 0
let issuer: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'policy-tools-'))
  listener = createServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((done) => listener.listen(0, '127.0.0.1', done))
  const address = listener.address()
  issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await new Promise((done) => listener.close(done))
  // Nothing ran by these tests ever connected to the issuer.
  expect(connections).toBe(0)
})

const policy = (): Record<string, unknown> => ({
  'project-id': PROJECT_ID,
  audience: 'https://deepgram-broker.example.com',
  issuers: [issuer],
  rules: [
    {
      name: 'main-only',
      match: { repository_id: '1001', ref: 'refs/heads/main' },
      scopes: ['usage:read'],
      tags: ['main'],
    },
    {
      name: 'app-tests',
      match: { repository: 'octo-org/app', repository_owner_id: '4321', ref: 'refs/heads/*' },
      scopes: ['usage:write'],
      'max-expiration': '90m',
    },
    { name: 'any-branch', match: { repository_owner_id: '4321' }, scopes: ['usage:write'] },
  ],
})

function file(name: string, content: string | Record<string, unknown>): string {
  const path = join(dir, name)
  writeFileSync(
    path,
    typeof content === 'string' ? content : name.endsWith('.json') ? JSON.stringify(content) : stringify(content),
  )
  return path
}

/** The bundled broker with these arguments, with no admin key, no policy variable and no proxy. */
function broker(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, [resolve('dist/broker/index.js'), ...args], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 10_000,
  })
  return { code: child.status, stdout: child.stdout, stderr: child.stderr }
}

describe('check POLICY', () => {
  test('passes a good policy and prints it as it takes effect, defaults written out, in a form that parses to the same policy', () => {
    const path = file('good.yml', policy())
    const { code, stdout, stderr } = broker('check', path)
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toMatch(new RegExp(`^# ${path} is valid: the broker starts with it\\.`))
    const inEffect = parse(stdout) as Record<string, unknown>
    expect(inEffect).toMatchObject({ 'keys-per-minute': 30, issuers: [issuer] })
    expect(
      (inEffect.rules as Record<string, unknown>[]).map((rule) => [
        rule.name,
        rule['max-expiration'],
        rule['allow-key-management'],
      ]),
    ).toEqual([
      ['main-only', '1h', false],
      ['app-tests', '1h30m', false],
      ['any-branch', '1h', false],
    ])
    expect(parsePolicy(stdout, 'printed')).toEqual(parsePolicy(stringify(policy()), 'given'))
  })

  test('refuses a bad policy with exit 1 and the very messages start-up gives', async () => {
    const bad = {
      ...policy(),
      audience: '',
      rules: [{ name: 'loose', match: { ref: 'refs/heads/*' }, scopes: ['keys:write'], 'max-expiration': '100d' }],
    }
    const path = file('bad.yml', bad)
    const checked = broker('check', path)
    expect(checked.code).toBe(1)
    expect(checked.stdout).toBe('')
    expect(checked.stderr.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(4)
    const started = await runBrokerToExit({ policy: bad, adminKey: ADMIN_KEY, deepgramApiUrl: 'http://127.0.0.1:9' })
    expect(started.code).toBe(1)
    // The broker's harness writes the same policy to a file of its own: only the path differs.
    const startMessage = started.stderr.replace(/\S*policy\.yml/g, 'POLICY').replace('cannot start', 'would not start')
    expect(checked.stderr.replaceAll(path, 'POLICY')).toBe(startMessage)
  })

  test.each([
    ['that is not YAML', 'rules: [', /is not valid YAML/],
    [
      'with an unknown claim',
      { ...policy(), rules: [{ name: 'x', match: { repository_id: '1', colour: 'blue' }, scopes: ['usage:write'] }] },
      /match has an unknown claim "colour"/,
    ],
  ])('refuses a policy %s', (_what, content, message) => {
    const { code, stderr } = broker('check', file(`case-${_what.replaceAll(' ', '-')}.yml`, content))
    expect(code).toBe(1)
    expect(stderr).toMatch(/^deepgram-key-broker would not start: /)
    expect(stderr).toMatch(message)
  })

  test('names a policy file it cannot read', () => {
    expect(broker('check', join(dir, 'missing.yml'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `deepgram-key-broker: cannot read ${join(dir, 'missing.yml')} (ENOENT). Give the path of the policy file.\n`,
    })
  })
})

describe('explain POLICY --claims CLAIMS.json', () => {
  test('names the rule that matches and, for each rule that does not, the first claim that differs', () => {
    const claims = file('feature.json', {
      repository: 'octo-org/app',
      repository_id: '1001',
      repository_owner_id: '4321',
      ref: 'refs/heads/feature/x',
    })
    const { code, stdout, stderr } = broker('explain', file('explain.yml', policy()), '--claims', claims)
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout.split('\n')).toEqual([
      `Rule app-tests matches ${claims}: the broker mints with it (at most usage:write, for at most 1h 30m).`,
      '  main-only   does not match: ref is "refs/heads/feature/x", the rule wants "refs/heads/main"',
      '  app-tests   matches',
      '  any-branch  matches too, but rule app-tests comes first',
      '',
    ])
  })

  test('exits 1 when no rule matches, and tells a missing claim from a different one', () => {
    const claims = file('fork.json', {
      repository: 'octo-org/app-fork',
      repository_id: '2002',
      ref: 'refs/heads/main',
      run_id: 7,
    })
    const { code, stdout } = broker('explain', '--claims', claims, file('explain.yml', policy()))
    expect(code).toBe(1)
    expect(stdout.split('\n')).toEqual([
      `No rule matches ${claims}: the broker answers 403 no_rule.`,
      '  main-only   does not match: repository_id is "2002", the rule wants "1001"',
      '  app-tests   does not match: repository is "octo-org/app-fork", the rule wants "octo-org/app"',
      '  any-branch  does not match: repository_owner_id is absent (or not text), the rule wants "4321"',
      '',
    ])
  })

  test('shows a claim that would break the line or pass for a workflow command as escaped text, on one line', () => {
    const claims = file('hostile.json', { repository_id: '1001', ref: 'refs/heads/x\n::error::owned\u2028' })
    const { stdout } = broker('explain', file('explain.yml', policy()), '--claims', claims)
    expect(stdout.split('\n')[1]).toBe(
      '  main-only   does not match: ref is "refs/heads/x\\n::error::owned\\u2028", the rule wants "refs/heads/main"',
    )
    expect(stdout).not.toMatch(/^::/m)
  })

  test.each([
    ['not JSON', '{"ref": ', 'is not JSON'],
    ['a list', '["ref"]', 'is not a JSON object'],
  ])('refuses a claims file that is %s, with exit 1', (_what, content, message) => {
    const claims = file(`claims-${_what.replaceAll(' ', '-')}.json`, content)
    const { code, stderr } = broker('explain', file('explain.yml', policy()), '--claims', claims)
    expect(code).toBe(1)
    expect(stderr).toBe(
      `deepgram-key-broker: ${claims} ${message}. Give a JSON object of claims, such as a token's payload.\n`,
    )
  })
})

test.each([
  [['check']],
  [['explain', 'policy.yml']],
  [['check', 'a.yml', 'b.yml']],
  [['serve', 'now']],
  [['lint', 'policy.yml']],
])('%j is a misuse: exit 2 and the usage', (args) => {
  const { code, stdout, stderr } = broker(...args)
  expect(code).toBe(2)
  expect(stdout).toBe('')
  expect(stderr).toContain('usage: node dist/broker/index.js [serve]')
})
