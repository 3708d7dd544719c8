// The metrics recorder and the probes, as units: each broker (and each test) has its own registry,
// and labels are fixed templates whatever the request's path.
import { ConfigError } from '../../src/broker/config-error.ts'
import { readConfig } from '../../src/broker/config.ts'
import { createBrokerMetrics } from '../../src/broker/http/metrics.ts'
import { routeOf, routeTemplate } from '../../src/broker/http/request-target.ts'
import { probeAnswer } from '../../src/broker/http/probes.ts'
import { Readiness } from '../../src/broker/readiness.ts'
import { parseExposition, valueOf } from '../helpers/prometheus.ts'

describe('createBrokerMetrics', () => {
  test('gives each broker a registry of its own: two count apart, and neither clashes with the other', async () => {
    const first = createBrokerMetrics()
    const second = createBrokerMetrics()
    first.recorder.requestStarted()
    first.recorder.requestEnded({
      route: 'POST /v1/keys',
      outcome: 'granted',
      status: 200,
      error: undefined,
      seconds: 0.02,
    })
    second.recorder.deepgramAnswered(undefined)
    const one = parseExposition(await first.registry.metrics())
    const two = parseExposition(await second.registry.metrics())
    expect(valueOf(one, 'broker_requests_total', { route: 'POST /v1/keys', outcome: 'granted', status: '200' })).toBe(1)
    expect(valueOf(one, 'broker_mint_duration_seconds_bucket', { outcome: 'granted', le: '0.025' })).toBe(1)
    expect(valueOf(one, 'broker_mint_duration_seconds_bucket', { outcome: 'granted', le: '0.01' })).toBe(0)
    expect(valueOf(two, 'broker_requests_total', { route: 'POST /v1/keys' })).toBe(0)
    expect(valueOf(two, 'broker_deepgram_responses_total', { status: 'none' })).toBe(1)
  })

  test('counts a rate-limit refusal under its route, and only that refusal', async () => {
    const { registry, recorder } = createBrokerMetrics()
    for (const error of ['rate_limited', 'no_rule', undefined]) {
      recorder.requestStarted()
      recorder.requestEnded({
        route: 'DELETE /v1/keys?tags',
        outcome: 'refused',
        status: error === 'rate_limited' ? 429 : 403,
        error,
        seconds: 0.001,
      })
    }
    const samples = parseExposition(await registry.metrics())
    expect(valueOf(samples, 'broker_rate_limited_total', { route: 'DELETE /v1/keys?tags' })).toBe(1)
    expect(valueOf(samples, 'broker_requests_in_flight')).toBe(0)
    // Only mints are timed.
    expect(samples.filter((sample) => sample.name === 'broker_mint_duration_seconds_count')).toEqual([])
  })
})

test.each([
  ['POST', '/v1/keys', 'POST /v1/keys'],
  ['POST', '/v1/tokens', 'POST /v1/tokens'],
  ['DELETE', '/v1/keys?tags=a,b', 'DELETE /v1/keys?tags'],
  ['DELETE', '/v1/keys?invocation=0123456789abcdef', 'DELETE /v1/keys?invocation'],
  ['GET', '/v1/keys?secret=0123456789ab', 'GET /v1/keys'],
  ['DELETE', '/v1/keys/3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'DELETE /v1/keys/{key_id}'],
  ['DELETE', '/v1/keys/octo-org-app-secret-token', 'DELETE /v1/keys/{key_id}'],
])('%s %s is counted as route %s, never as its path', (method, target, route) => {
  expect(routeTemplate(routeOf(method, target))).toBe(route)
})

describe('probeAnswer', () => {
  test('healthz is 200 whatever the readiness; readyz waits for every issuer, then fails again once draining', () => {
    const readiness = new Readiness(['https://a.example', 'https://b.example'])
    expect(probeAnswer('/healthz', readiness)).toEqual({ status: 200, body: { status: 'ok' } })
    expect(probeAnswer('/readyz', readiness)).toEqual({
      status: 503,
      body: { error: 'not_ready', message: expect.stringContaining('The keys of 2 issuers') },
    })
    readiness.keySetFetched('https://a.example')
    expect(probeAnswer('/readyz', readiness)?.body).toMatchObject({
      message: expect.stringContaining('The keys of 1 issuer of'),
    })
    readiness.keySetFetched('https://b.example')
    expect(probeAnswer('/readyz', readiness)).toEqual({ status: 200, body: { status: 'ready' } })
    readiness.drain()
    expect(probeAnswer('/readyz', readiness)).toEqual({
      status: 503,
      body: { error: 'not_ready', message: expect.stringContaining('shutting down') },
    })
    expect(probeAnswer('/metrics', readiness)).toBeUndefined()
  })
})

describe('METRICS_PORT and METRICS_HOST', () => {
  const BASE = { DEEPGRAM_ADMIN_KEY: 'dg_admin_key', BROKER_POLICY: '/etc/broker/policy.yml' }

  test('serve no metrics unless METRICS_PORT is set, and then on loopback unless METRICS_HOST says otherwise', () => {
    expect(readConfig(BASE).metrics).toBeUndefined()
    expect(readConfig({ ...BASE, METRICS_PORT: '9090' }).metrics).toEqual({ port: 9090, host: '127.0.0.1' })
    expect(readConfig({ ...BASE, METRICS_PORT: '9090', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({
      port: 9090,
      host: '0.0.0.0',
    })
  })

  test.each([
    [{ METRICS_PORT: 'ninety' }, /METRICS_PORT 'ninety' is not a port\. .*unset, there are no metrics/],
    [
      { METRICS_PORT: '9090', METRICS_HOST: 'http://x' },
      /METRICS_HOST 'http:\/\/x' is not an address\. .*the default is 127\.0\.0\.1/,
    ],
  ])('refuse %j, naming the variable and its forms', (env, message) => {
    expect(() => readConfig({ ...BASE, ...env })).toThrow(ConfigError)
    expect(() => readConfig({ ...BASE, ...env })).toThrow(message)
  })
})
