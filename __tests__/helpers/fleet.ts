// What the fleet tests share: a real redis-server, the Deepgram emulator, the issuer, and several
// bundled brokers (dist/broker) sharing the one store; a client of the store to look inside it.
import { createClient } from '@redis/client'
import { startDeepgramEmulator, type DeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { startBroker, type BrokerExit, type RunningBroker } from '../../harness/broker.ts'
import { startRedis, type RunningRedis } from '../../harness/redis.ts'
import { parseExposition, valueOf } from './prometheus.ts'
import { ADMIN_KEY, examplePolicy, expectNoLeaks, type BrokerAnswer } from './broker.ts'

/** A client of the store, RESP2 as the broker's. */
function storeClient(url: string) {
  return createClient({ url, RESP: 2, socket: { reconnectStrategy: 100 } })
}
type StoreClient = ReturnType<typeof storeClient>

export interface Fleet {
  redis: RunningRedis
  dg: DeepgramEmulator
  issuer: OidcIssuer
  brokers: RunningBroker[]
  /** A client of the store, for the test to look at its keys. */
  store: StoreClient
  sign(claims?: Record<string, unknown>): Promise<string>
  /** A request to broker `index`. */
  call(
    index: number,
    method: string,
    path: string,
    token: string,
    body?: Record<string, unknown>,
  ): Promise<BrokerAnswer>
  /** Polls /readyz of broker `index` (every 50 ms, up to `ms`) until its status is `status`; the last answer. */
  readiness(index: number, status: number, ms?: number): Promise<BrokerAnswer>
  /** Stops everything; every broker's whole output is then scanned for every secret seen. */
  close(): Promise<BrokerExit[]>
}

export interface FleetOptions {
  replicas?: number
  limits?: { 'keys-per-minute'?: number; 'deletes-per-minute'?: number }
  env?: Record<string, string>
  /** Leaves the store stopped when the brokers start. */
  storeDownAtStart?: boolean
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const redis = await startRedis()
  const dg = await startDeepgramEmulator({})
  const issuer = await startOidcIssuer()
  if (options.storeDownAtStart) await redis.stop()
  const env = { RATE_LIMIT_STORE: redis.url, METRICS_PORT: '0', ...options.env }
  const brokers = await Promise.all(
    Array.from({ length: options.replicas ?? 2 }, () =>
      startBroker({
        policy: examplePolicy(issuer, options.limits ?? {}),
        adminKey: ADMIN_KEY,
        deepgramApiUrl: dg.url,
        env,
      }),
    ),
  )
  const store = storeClient(redis.url)
  store.on('error', () => undefined)
  if (!options.storeDownAtStart) await store.connect()
  const tokens: string[] = []
  const call = async (
    index: number,
    method: string,
    path: string,
    token: string,
    body?: Record<string, unknown>,
  ): Promise<BrokerAnswer> => {
    const broker = brokers[index] as RunningBroker
    const response = await fetch(`${broker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    }
  }
  const fleet: Fleet = {
    redis,
    dg,
    issuer,
    brokers,
    store,
    sign: async (claims) => {
      const token = await issuer.sign(claims)
      tokens.push(token)
      return token
    },
    call,
    readiness: async (index, status, ms = 15_000) => {
      const broker = brokers[index] as RunningBroker
      let answer: BrokerAnswer | undefined
      for (const started = Date.now(); Date.now() - started < ms; await new Promise((done) => setTimeout(done, 50))) {
        const response = await fetch(`${broker.url}/readyz`)
        answer = {
          status: response.status,
          headers: response.headers,
          body: (await response.json()) as Record<string, unknown>,
        }
        if (answer.status === status) break
      }
      return answer as BrokerAnswer
    },
    close: async () => {
      const exits = await Promise.all(brokers.map((broker) => broker.stop()))
      if (store.isOpen) store.destroy()
      await Promise.all([dg.close(), issuer.close(), redis.close()])
      for (const exit of exits)
        expectNoLeaks(`${exit.stdout}\n${exit.stderr}`, [ADMIN_KEY, ...tokens, ...dg.keys.map((key) => key.key)])
      return exits
    },
  }
  return fleet
}

/** The value of one sample of a broker's metrics (its METRICS_PORT), 0 when absent. */
export async function metricOf(broker: RunningBroker, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(broker.metricsUrl ?? '')).text()
  return valueOf(parseExposition(text), name, labels)
}
