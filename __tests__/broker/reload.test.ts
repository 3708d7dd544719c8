// The policy reloaded in place by the bundled broker: through a `..data` symlink swap as the
// kubelet updates a mounted ConfigMap (harness/mounted-volume.ts), refused when it does not load,
// at once on SIGHUP, with requests judged by the policy in force when they arrived.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseAllDocuments, stringify } from 'yaml'
import { mountedVolume, type MountedVolume } from '../../harness/mounted-volume.ts'
import { startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import type { RunningBroker } from '../../harness/broker.ts'
import { parseExposition, valueOf } from '../helpers/prometheus.ts'
import { examplePolicy, startWorld, type World } from '../helpers/broker.ts'

const OTHER = { repository: 'octo-org/other', repository_id: '2002' }
const OTHER_RULE = { name: 'other', match: { repository_id: '2002' }, scopes: ['usage:write'] }

/** The audit line that `matches`, among those after the first `since`, waiting up to 20 s (a reload comes within a second). */
async function lineWhere(
  broker: RunningBroker,
  matches: (line: Record<string, unknown>) => boolean,
  since: number,
): Promise<Record<string, unknown>> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const line = broker.auditLines().slice(since).find(matches)
    if (line) return line
    await new Promise((done) => setTimeout(done, 20))
  }
  throw new Error(`no such line in:\n${broker.stdout()}\n${broker.stderr()}`)
}

const reloadLine =
  (outcome: string, trigger = 'poll') =>
  (line: Record<string, unknown>): boolean =>
    line.event === 'policy_reload' && line.outcome === outcome && line.trigger === trigger

async function metric(broker: RunningBroker, name: string, labels: Record<string, string> = {}): Promise<number> {
  return valueOf(parseExposition(await (await fetch(broker.metricsUrl ?? '')).text()), name, labels)
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

describe('the policy, reloaded when its mounted ConfigMap changes', () => {
  let volume: MountedVolume
  let world: World
  let issuer: OidcIssuer
  /** Swaps the policy in, as the kubelet does; what the file now holds. */
  const swap = (policy: Record<string, unknown>): string => {
    const text = stringify(policy)
    volume.update({ 'policy.yml': text })
    return text
  }
  const status = async (claims: Record<string, unknown> = {}): Promise<number> =>
    (await world.call('POST', '/v1/keys', { token: await world.sign(claims) })).status

  beforeAll(async () => {
    volume = mountedVolume({ 'policy.yml': '' })
    world = await startWorld({
      beforeBroker: (started) => {
        issuer = started
        swap(examplePolicy(started))
        return Promise.resolve()
      },
      env: { BROKER_POLICY: volume.path('policy.yml'), POLICY_RELOAD_SECONDS: '1', METRICS_PORT: '0' },
    })
  })
  afterAll(async () => {
    await world.close()
    volume.remove()
  })

  test('a rule added takes effect, with one line giving the file, the rules and the SHA-256', async () => {
    expect(await status(OTHER)).toBe(403)
    const since = world.broker.auditLines().length
    const text = swap(examplePolicy(issuer, { rules: [OTHER_RULE] }))
    const line = await lineWhere(world.broker, reloadLine('loaded'), since)
    expect(line).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      event: 'policy_reload',
      trigger: 'poll',
      file: volume.path('policy.yml'),
      outcome: 'loaded',
      sha256: sha256(text),
      rules: 2,
    })
    expect(await status(OTHER)).toBe(200)
    expect(await metric(world.broker, 'broker_policy_reloads_total', { outcome: 'loaded' })).toBe(1)
    expect(await metric(world.broker, 'broker_policy_last_reload_successful')).toBe(1)
  })

  test('a rule removed refuses the repositories it let in', async () => {
    const since = world.broker.auditLines().length
    const onlyOther = { ...examplePolicy(issuer), rules: [OTHER_RULE] }
    swap(onlyOther)
    await lineWhere(world.broker, reloadLine('loaded'), since)
    const refused = await world.call('POST', '/v1/keys', { token: await world.sign() })
    expect(refused).toMatchObject({ status: 403, body: { error: 'no_rule' } })
    expect(await status(OTHER)).toBe(200)
  })

  test('a policy that does not load leaves the one in force, in one line naming the file and every problem', async () => {
    const since = world.broker.auditLines().length
    const bad = {
      ...examplePolicy(issuer),
      'project-id': 'not-a-uuid',
      'keys-per-minute': 'lots',
      rules: [{ name: 'anyone', match: { ref: 'refs/heads/main' }, scopes: ['usage:write'] }],
    }
    const text = swap(bad)
    const line = await lineWhere(world.broker, reloadLine('refused'), since)
    const file = volume.path('policy.yml')
    expect(line).toMatchObject({ file, sha256: sha256(text) })
    expect(line.problems).toEqual([
      `${file}: project-id must be the project's UUID, as in the Deepgram console`,
      expect.stringMatching(new RegExp(`^${file}: keys-per-minute must be a whole number`)),
      expect.stringMatching(new RegExp(`^${file}: rule anyone: match pins no repository`)),
    ])
    // A SIGHUP finds the same bad file: unchanged, not reported again (nor by the polls meanwhile).
    process.kill(world.broker.pid, 'SIGHUP')
    await lineWhere(world.broker, reloadLine('unchanged', 'SIGHUP'), since)
    expect(
      world.broker
        .auditLines()
        .slice(since)
        .filter((l) => l.event === 'policy_reload'),
    ).toHaveLength(2)
    expect(await status(OTHER)).toBe(200)
    expect(await status()).toBe(403)
    expect(await metric(world.broker, 'broker_policy_reloads_total', { outcome: 'refused' })).toBe(1)
    expect(await metric(world.broker, 'broker_policy_last_reload_successful')).toBe(0)

    const yamlSince = world.broker.auditLines().length
    volume.update({ 'policy.yml': 'rules: [\n' })
    const yamlLine = await lineWhere(world.broker, reloadLine('refused'), yamlSince)
    expect(yamlLine.problems).toEqual([expect.stringMatching(new RegExp(`^${file} is not valid YAML: `))])

    const fixed = world.broker.auditLines().length
    swap(examplePolicy(issuer, { rules: [OTHER_RULE] }))
    await lineWhere(world.broker, reloadLine('loaded'), fixed)
    expect(await metric(world.broker, 'broker_policy_last_reload_successful')).toBe(1)
    expect(await status()).toBe(200)
  })

  test('a request under way when the policy changes ends under the policy it arrived with', async () => {
    const creates = (): number => world.dg.requests.filter((r) => r.method === 'POST').length
    const before = creates()
    world.dg.setLatency(2000)
    const since = world.broker.auditLines().length
    const minting = world.call('POST', '/v1/keys', { token: await world.sign() })
    for (const deadline = Date.now() + 10_000; creates() === before && Date.now() < deadline;)
      await new Promise((done) => setTimeout(done, 10))
    expect(creates()).toBe(before + 1)
    swap({ ...examplePolicy(issuer), rules: [OTHER_RULE] })
    process.kill(world.broker.pid, 'SIGHUP')
    // The SIGHUP's, or the poll's if it came first.
    const reloaded = (line: Record<string, unknown>): boolean =>
      line.event === 'policy_reload' && line.outcome === 'loaded'
    await lineWhere(world.broker, reloaded, since)
    world.dg.setLatency(0)
    const answer = await minting
    expect(answer.status).toBe(200)
    const minted = (line: Record<string, unknown>): boolean => line.key_id === answer.body.key_id
    expect(await lineWhere(world.broker, minted, since)).toMatchObject({ outcome: 'granted', rule: 'app-tests' })
    // The new policy was in force before the mint under way answered.
    const lines = world.broker.auditLines().slice(since)
    expect(lines.findIndex(reloaded)).toBeLessThan(lines.findIndex(minted))
    expect(await status()).toBe(403)
  })

  test('a new issuer gets its keys fetched, and the broker stays ready meanwhile', async () => {
    const second = await startOidcIssuer()
    try {
      const since = world.broker.auditLines().length
      swap(
        examplePolicy(issuer, {
          issuers: [issuer.url, second.url],
          ruleIssuers: [issuer.url],
          rules: [{ ...OTHER_RULE, issuers: [second.url] }],
        }),
      )
      await lineWhere(world.broker, reloadLine('loaded'), since)
      expect((await fetch(`${world.broker.url}/readyz`)).status).toBe(200)
      const token = await second.sign(OTHER)
      world.tokens.push(token)
      expect((await world.call('POST', '/v1/keys', { token })).status).toBe(200)
      expect(await status()).toBe(200)
      expect(
        await metric(world.broker, 'broker_issuer_key_set_fetches_total', { issuer: second.url, outcome: 'ok' }),
      ).toBeGreaterThanOrEqual(1)
      // The first issuer's keys were kept, not fetched again.
      expect(
        await metric(world.broker, 'broker_issuer_key_set_fetches_total', { issuer: issuer.url, outcome: 'ok' }),
      ).toBe(1)
    } finally {
      await second.close()
    }
  })
})

describe('POLICY_RELOAD_SECONDS=0', () => {
  test('never looks by itself; SIGHUP reloads at once', async () => {
    const volume = mountedVolume({ 'policy.yml': '' })
    let issuer: OidcIssuer | undefined
    const world = await startWorld({
      beforeBroker: (started) => {
        issuer = started
        volume.update({ 'policy.yml': stringify(examplePolicy(started)) })
        return Promise.resolve()
      },
      env: { BROKER_POLICY: volume.path('policy.yml'), POLICY_RELOAD_SECONDS: '0' },
    })
    try {
      const since = world.broker.auditLines().length
      volume.update({ 'policy.yml': stringify(examplePolicy(issuer!, { rules: [OTHER_RULE] })) })
      expect((await world.call('POST', '/v1/keys', { token: await world.sign(OTHER) })).status).toBe(403)
      process.kill(world.broker.pid, 'SIGHUP')
      await lineWhere(world.broker, reloadLine('loaded', 'SIGHUP'), since)
      expect((await world.call('POST', '/v1/keys', { token: await world.sign(OTHER) })).status).toBe(200)
    } finally {
      await world.close()
      volume.remove()
    }
  })
})

describe('deploy/kubernetes.yaml', () => {
  interface Pod {
    metadata: { annotations?: Record<string, string> }
    spec: {
      volumes: { name: string; configMap?: unknown; secret?: { secretName: string } }[]
      containers: {
        env: { name: string; value?: string }[]
        volumeMounts: { name: string; mountPath: string; subPath?: string }[]
      }[]
    }
  }
  const deployment = parseAllDocuments(readFileSync('deploy/kubernetes.yaml', 'utf8'))
    .map((document) => document.toJS() as { kind: string; spec: { template: Pod } })
    .find((document) => document.kind === 'Deployment')
  const pod = deployment?.spec.template
  const container = pod?.spec.containers[0]

  test('mounts the policy and the admin key as whole directories the kubelet updates, and rolls no pod for a change', () => {
    const mountOf = (volume: string) => container?.volumeMounts.find((mount) => mount.name === volume)
    const env = Object.fromEntries((container?.env ?? []).map((variable) => [variable.name, variable.value]))
    expect(container?.volumeMounts.filter((mount) => mount.subPath !== undefined)).toEqual([])
    expect(pod?.spec.volumes.find((volume) => volume.name === 'policy')?.configMap).toBeDefined()
    expect(pod?.spec.volumes.find((volume) => volume.name === 'admin-key')?.secret).toBeDefined()
    expect(env.BROKER_POLICY).toBe(`${mountOf('policy')?.mountPath}/policy.yml`)
    expect(env.DEEPGRAM_ADMIN_KEY_FILE).toBe(`${mountOf('admin-key')?.mountPath}/admin-key`)
    // The marker secret: a second item of the same Secret, so that pods started after a rotation own earlier keys.
    expect(env.BROKER_MARKER_SECRET_FILE).toBe(`${mountOf('admin-key')?.mountPath}/marker-secret`)
    expect(container?.env.map((variable) => variable.name)).not.toContain('BROKER_MARKER_SECRET')
    expect(container?.env.map((variable) => variable.name)).not.toContain('DEEPGRAM_ADMIN_KEY')
    expect(Object.keys(pod?.metadata.annotations ?? {}).filter((name) => !name.startsWith('prometheus.io/'))).toEqual(
      [],
    )
  })
})
