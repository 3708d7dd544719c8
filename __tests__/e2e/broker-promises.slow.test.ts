// Broker mode's bounded steps: a runner token service that never answers waits out main's real deadline.
// In the slow project: npm test and CI run it, npx jest does not.
import { readFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'
import { startBroker, type RunningBroker } from '../../harness/broker.ts'
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { startRelay, type Relay } from '../../harness/relay.ts'
import { runTimedStep, type StepOptions } from '../../harness/runner.ts'
import { ADMIN_KEY, theError, warningLines } from '../helpers/action.ts'

let issuer: OidcIssuer
let dg: DeepgramEmulator
let broker: RunningBroker
let relay: Relay

beforeAll(async () => {
  issuer = await startOidcIssuer()
})
afterAll(() => issuer.close())
beforeEach(async () => {
  await issuer.setRunnerClaims({})
  await issuer.misbehave({})
  dg = await startDeepgramEmulator({})
  const policy = parse(readFileSync('examples/broker/policy.yml', 'utf8')) as Record<string, unknown>
  broker = await startBroker({
    adminKey: ADMIN_KEY,
    policy: stringify({ ...policy, issuers: [issuer.url] }),
    deepgramApiUrl: dg.url,
  })
  relay = await startRelay(broker.url)
})
afterEach(async () => {
  await Promise.all([relay.close(), broker.stop(), dg.close()])
})

function step(inputs: Record<string, string> = {}, extra: Partial<StepOptions> = {}): StepOptions {
  return {
    inputs: {
      'broker-url': relay.url,
      'broker-audience': DEFAULT_AUDIENCE,
      scopes: 'usage:write',
      expiration: '30m',
      ...inputs,
    },
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: issuer.idTokenRequest.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.idTokenRequest.token,
    },
    ...extra,
  }
}

describe('bounded steps in broker mode', () => {
  test('a runner token service that never answers: main fails at its deadline and exits; post warns and exits', async () => {
    await issuer.misbehave({ delayMs: 120_000 })
    const { run: main, wallMs: mainMs } = await runTimedStep('main', step())
    expect(main.exitCode).toBe(1)
    expect(theError(main)).toBe("Getting this job's ID token from the runner took over 10 s. Run the job again.")
    expect(mainMs).toBeLessThan(20_000)
    const state = {
      source: 'broker',
      'broker-url': relay.url,
      'broker-audience': DEFAULT_AUDIENCE,
      invocation: '0123456789abcdef',
    }
    const { run: after, wallMs: postMs } = await runTimedStep('post', { ...step(), state })
    expect(after.exitCode).toBe(0)
    expect(warningLines(after).join('\n')).toContain("Getting this job's ID token from the runner took over 10 s.")
    expect(postMs).toBeLessThan(20_000)
    expect(dg.requests).toEqual([])
  }, 60_000)
})
