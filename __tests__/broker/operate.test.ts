// Operating the bundled broker: GET /metrics on its own port (METRICS_PORT) in Prometheus text,
// and the probes GET /healthz and GET /readyz, against the Deepgram emulator and the local issuer.
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { startDeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { startBroker } from '../../harness/broker.ts'
import { startOidcIssuer } from '../../harness/oidc-issuer.ts'
import { parseExposition, valueOf } from '../helpers/prometheus.ts'
import { waitFor } from '../helpers/wait.ts'
import { ADMIN_KEY, examplePolicy, expectNoLeaks, startWorld, type World } from '../helpers/broker.ts'

const METRICS = { METRICS_PORT: '0' }

async function get(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(url)
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() }
}

/** GET /readyz until it answers `status`, for up to `ms`; the last answer. */
async function readyzUntil(base: string, status: number, ms = 8000): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + ms
  for (;;) {
    const answer = await get(`${base}/readyz`)
    if (answer.status === status || Date.now() > deadline) return answer
    await new Promise((done) => setTimeout(done, 50))
  }
}

const opsBase = (world: World): string => (world.broker.metricsUrl ?? '').replace(/\/metrics$/, '')

describe('GET /metrics', () => {
  let world: World
  let metrics: string
  let keyId: string
  beforeAll(async () => {
    world = await startWorld({ policy: (issuer) => examplePolicy(issuer, { 'keys-per-minute': 2 }), env: METRICS })
    expect((await readyzUntil(world.broker.url, 200)).status).toBe(200)
    const granted = await world.call('POST', '/v1/keys', { token: await world.sign() })
    keyId = String(granted.body.key_id)
    expect(granted.status).toBe(200)
    expect((await world.call('POST', '/v1/keys', {})).status).toBe(401)
    expect((await world.call('POST', '/v1/keys', { token: await world.sign() })).status).toBe(200)
    expect((await world.call('POST', '/v1/keys', { token: await world.sign() })).status).toBe(429)
    expect((await world.call('DELETE', `/v1/keys/${keyId}`, { token: await world.sign() })).status).toBe(200)
    const answer = await get(world.broker.metricsUrl ?? '')
    expect(answer.status).toBe(200)
    expect(answer.type).toBe('text/plain; version=0.0.4; charset=utf-8')
    metrics = answer.text
  })
  afterAll(() => world.close())

  test('is served on its own port, on loopback unless METRICS_HOST says otherwise, and not on the public one', async () => {
    expect(world.broker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(world.broker.metricsUrl).not.toContain(world.broker.url)
    const publicPort = await get(`${world.broker.url}/metrics`)
    expect(publicPort.status).toBe(404)
    expect(JSON.parse(publicPort.text)).toMatchObject({ error: 'not_found' })
  })

  test('is Prometheus text: every line a HELP or TYPE comment or a sample of a typed metric', () => {
    const samples = parseExposition(metrics)
    expect(samples.length).toBeGreaterThan(20)
    expect(samples.map((sample) => sample.name)).toEqual(
      expect.arrayContaining(['process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']),
    )
  })

  test('counts requests by route template, outcome and status, and mints in a histogram', () => {
    const samples = parseExposition(metrics)
    expect(
      valueOf(samples, 'broker_requests_total', { route: 'POST /v1/keys', outcome: 'granted', status: '200' }),
    ).toBe(2)
    expect(
      valueOf(samples, 'broker_requests_total', { route: 'POST /v1/keys', outcome: 'refused', status: '401' }),
    ).toBe(1)
    expect(
      valueOf(samples, 'broker_requests_total', { route: 'POST /v1/keys', outcome: 'refused', status: '429' }),
    ).toBe(1)
    expect(
      valueOf(samples, 'broker_requests_total', {
        route: 'DELETE /v1/keys/{key_id}',
        outcome: 'deleted',
        status: '200',
      }),
    ).toBe(1)
    expect(valueOf(samples, 'broker_mint_duration_seconds_count', { outcome: 'granted' })).toBe(2)
    expect(valueOf(samples, 'broker_mint_duration_seconds_bucket', { outcome: 'granted', le: '+Inf' })).toBe(2)
    expect(valueOf(samples, 'broker_mint_duration_seconds_sum', { outcome: 'granted' })).toBeGreaterThan(0)
    expect(valueOf(samples, 'broker_requests_in_flight')).toBe(0)
  })

  test("counts rate-limit refusals, Deepgram's answers by status and the issuer's key-set fetches", () => {
    const samples = parseExposition(metrics)
    expect(valueOf(samples, 'broker_rate_limited_total', { route: 'POST /v1/keys' })).toBe(1)
    // Two creates and, for the delete, one read and one delete.
    const deepgram = samples.filter((sample) => sample.name === 'broker_deepgram_responses_total')
    expect(deepgram.reduce((sum, sample) => sum + sample.value, 0)).toBe(world.dg.requests.length)
    expect(deepgram.every((sample) => /^2\d\d$/.test(sample.labels.status ?? ''))).toBe(true)
    expect(valueOf(samples, 'broker_issuer_key_set_fetches_total', { issuer: world.issuer.url, outcome: 'ok' })).toBe(1)
  })

  test('never name a repository, a claim, a key id, a token or a key', () => {
    expect(metrics).not.toMatch(/octo-org|refs\/heads/)
    expect(metrics).not.toContain(keyId)
    // Ids are numbers, which a sample's value may hold by chance (54242304 bytes): look at labels.
    const labelValues = parseExposition(metrics).flatMap((sample) => Object.values(sample.labels))
    expect(labelValues.filter((value) => /\b(4242|1001)\b/.test(value))).toEqual([])
    expectNoLeaks(metrics, [ADMIN_KEY, ...world.tokens, ...world.dg.keys.map((key) => key.key)])
  })

  test('answers anything else on its port with JSON: 404 for another path, 405 for another method', async () => {
    const other = await get(`${opsBase(world)}/v1/keys`)
    expect(other.status).toBe(404)
    expect(JSON.parse(other.text)).toMatchObject({ error: 'not_found' })
    const post = await fetch(world.broker.metricsUrl ?? '', { method: 'POST' })
    expect(post.status).toBe(405)
    expect(await post.json()).toMatchObject({ error: 'method_not_allowed' })
  })
})

describe('GET /healthz and GET /readyz', () => {
  test('healthz answers at once; readyz answers 503 until the issuer has given its keys, then 200', async () => {
    const dg = await startDeepgramEmulator({})
    const issuer = await startOidcIssuer()
    await issuer.misbehave({ discoveryStatus: 503 })
    const broker = await startBroker({
      policy: examplePolicy(issuer),
      adminKey: ADMIN_KEY,
      deepgramApiUrl: dg.url,
      env: METRICS,
    })
    try {
      expect((await get(`${broker.url}/healthz`)).status).toBe(200)
      const waiting = await get(`${broker.url}/readyz`)
      expect(waiting.status).toBe(503)
      expect(JSON.parse(waiting.text)).toEqual({
        error: 'not_ready',
        message: expect.stringContaining('The keys of 1 issuer of the policy have not been fetched yet'),
      })
      await issuer.misbehave({})
      const ready = await readyzUntil(broker.url, 200)
      expect(ready.status).toBe(200)
      expect(JSON.parse(ready.text)).toEqual({ status: 'ready' })
      // The probes are not audited, and the failed fetches are counted and logged.
      expect(broker.auditLines()).toEqual([])
      const samples = parseExposition((await get(broker.metricsUrl ?? '')).text)
      expect(
        valueOf(samples, 'broker_issuer_key_set_fetches_total', { issuer: issuer.url, outcome: 'failed' }),
      ).toBeGreaterThanOrEqual(1)
      expect(valueOf(samples, 'broker_issuer_key_set_fetches_total', { issuer: issuer.url, outcome: 'ok' })).toBe(1)
      expect(broker.stderr()).toContain(
        `not ready: ${issuer.url}/.well-known/openid-configuration answered HTTP 503; trying again in 1 s`,
      )
    } finally {
      expect((await broker.stop()).code).toBe(0)
      await Promise.all([dg.close(), issuer.close()])
    }
  })

  test('readyz answers 503 while the broker drains after SIGTERM, and the mint in flight still gets its key', async () => {
    const world = await startWorld({ env: METRICS, emulator: { latencyMs: 1500 } })
    expect((await readyzUntil(opsBase(world), 200)).status).toBe(200)
    const minting = world.call('POST', '/v1/keys', { token: await world.sign() })
    await waitFor(() => world.dg.requests.length > 0, 'the mint to reach Deepgram')
    const exited = world.broker.stop()
    const draining = await readyzUntil(opsBase(world), 503, 1000)
    expect(draining.status).toBe(503)
    expect(JSON.parse(draining.text)).toEqual({ error: 'not_ready', message: expect.stringContaining('shutting down') })
    expect((await get(`${opsBase(world)}/healthz`)).status).toBe(200)
    expect((await minting).status).toBe(200)
    expect((await exited).code).toBe(0)
    await world.close()
  })
})

/** What the test reads of the manifest's objects. */
interface ManifestObject {
  kind: string
  spec: {
    replicas?: number
    template?: {
      spec: {
        containers: {
          image: string
          env: { name: string; value?: string; valueFrom?: unknown }[]
          readinessProbe: { httpGet: unknown }
          livenessProbe: { httpGet: unknown }
        }[]
      }
    }
    ports?: { targetPort: string }[]
  }
}

describe('deploy/kubernetes.yaml', () => {
  const documents = parseAllDocuments(readFileSync('deploy/kubernetes.yaml', 'utf8')).map(
    (document) => document.toJS() as ManifestObject,
  )
  const container = documents.find((d) => d.kind === 'Deployment')?.spec.template?.spec.containers[0]
  const service = documents.find((d) => d.kind === 'Service')

  test("runs the release's image by tag, probes /readyz and /healthz, and keeps the metrics port out of the Service", () => {
    expect(container?.image).toMatch(/^ghcr\.io\/OWNER\/deepgram-key-broker:\d+\.\d+\.\d+$/)
    expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' })
    expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' })
    expect(container?.env).toEqual(expect.arrayContaining([{ name: 'METRICS_PORT', value: '9090' }]))
    expect(service?.spec.ports?.map((port) => port.targetPort)).toEqual(['http'])
  })

  test('its replicas count the rate limit in one shared store, from the Secret', () => {
    const deployment = documents.find((d) => d.kind === 'Deployment')
    expect(deployment?.spec.replicas).toBeGreaterThan(1)
    expect(container?.env.find((variable) => variable.name === 'RATE_LIMIT_STORE')).toEqual({
      name: 'RATE_LIMIT_STORE',
      valueFrom: { secretKeyRef: { name: 'deepgram-broker-store', key: 'RATE_LIMIT_STORE' } },
    })
  })
})
