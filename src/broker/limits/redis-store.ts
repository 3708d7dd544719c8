// The rate-limit store that every broker sharing one Redis (or Valkey) counts in, so that N
// replicas admit a repository's budget once, not N times.
//
// One sorted set per identity and budget holds the admissions of the last minute (score: the
// time in ms on Redis's own clock, so the replicas' clocks do not matter). A Lua script drops
// what left the window, counts, and admits or refuses in one step: Redis runs a script alone, so
// two replicas can never both take the last slot. The script sets the key's TTL at every call, so
// a key never outlives its window even if its TTL was lost.
//
// Keys: dgkb:rl:v1:<budget>:<sha256 of the identity (issuer and repository id)>. Neither the
// repository's name nor any claim is written to Redis.
import { createHash, randomBytes } from 'node:crypto'
// The client's own module rather than the package's index, which also exports a helper with an
// optional `import('@node-rs/xxhash')`: ncc makes a chunk of that import and then writes only the
// chunk's licenses to dist/broker/licenses.txt. The index would also bundle cluster, sentinel and
// multi-database code the broker never runs.
import clientModule from '@redis/client/dist/lib/client/index.js'
import type { RedisTarget } from './config.ts'
import { retryAfterSeconds, WINDOW_MS, type Budget, type RateLimitStore, type RateVerdict } from './store.ts'

/** A command's answer, or its failure, within this; the broker's own deadline (rate-limits.ts) is the backstop. */
export const COMMAND_TIMEOUT_MS = 200
/** Commands waiting at once at most (a frozen store): past it they fail at once instead of piling up. */
const QUEUE_MAX = 5_000
export const KEY_PREFIX = 'dgkb:rl:v1:'

/**
 * KEYS[1]: the identity's sorted set. ARGV: the budget, the window in ms, a member no other
 * admission has. Answers {1, 0} when admitted, {0, ms until the oldest admission leaves the
 * window} when refused.
 */
export const SLIDING_WINDOW_SCRIPT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], window)
return {0, tonumber(oldest[2]) + window - now}
`
const SCRIPT_SHA1 = createHash('sha1').update(SLIDING_WINDOW_SCRIPT).digest('hex')

/** The Redis key of an identity's budget. */
export function keyOf(budget: Budget, identity: string): string {
  return `${KEY_PREFIX}${budget}:${createHash('sha256').update(identity).digest('hex')}`
}

/** ncc and SWC read this CommonJS module's default export as `exports.default`; Node's own loader as `module.exports`. */
const RedisClient = ((clientModule as { default?: unknown }).default ?? clientModule) as typeof clientModule.default

export class RedisStore implements RateLimitStore {
  readonly name = 'redis'
  private readonly client
  /** Unique members across replicas: this process's random tag and a count. */
  private readonly tag = randomBytes(6).toString('hex')
  private admissions = 0
  /** The client's last error (connection refused, TLS...), to say why the store is unreachable. */
  private lastError: string | undefined
  /** The first connection's outcome, until it is known: what the first probe waits for. */
  private firstConnection: Promise<void> | undefined

  constructor(target: RedisTarget) {
    this.client = RedisClient.create({
      socket: {
        host: target.host,
        port: target.port,
        ...(target.tls ? { tls: true as const, servername: target.host } : {}),
        connectTimeout: 2_000,
        // Forever, 100 ms to 2 s apart with jitter: the broker recovers without a restart.
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000) * (0.5 + Math.random() / 2),
      },
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      database: target.database,
      // RESP2: every Redis from 5 and every Valkey; the script's answer is a plain array either way.
      RESP: 2,
      // While disconnected, a command fails at once rather than waiting for a connection.
      disableOfflineQueue: true,
      commandsQueueMaxLength: QUEUE_MAX,
      // A command sent to a store that stopped answering fails too; its late answer is dropped.
      commandOptions: { timeout: COMMAND_TIMEOUT_MS, rejectInFlight: true },
    })
    // Without a listener, an error event would end the process. The errors come at every failed
    // reconnection; the broker logs when the store stops and starts answering (rate-limits.ts).
    this.client.on('error', (error: unknown) => {
      this.lastError = error instanceof Error ? error.message : String(error)
    })
    this.client.on('ready', () => (this.lastError = undefined))
    const first = new Promise<void>((resolve, reject) => {
      this.client.once('ready', resolve)
      this.client.once('error', reject)
    })
    this.firstConnection = first.finally(() => (this.firstConnection = undefined))
    this.firstConnection.catch(() => undefined)
    // Connects, and keeps trying until it does (reconnectStrategy); commands fail meanwhile.
    this.client.connect().catch((error: unknown) => {
      this.lastError = error instanceof Error ? error.message : String(error)
    })
  }

  async take(budget: Budget, identity: string, perMinute: number): Promise<RateVerdict> {
    const key = keyOf(budget, identity)
    const args = [String(perMinute), String(WINDOW_MS), `${this.tag}:${(this.admissions++).toString(36)}`]
    const reply = await this.evaluate(key, args)
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number')
      throw new Error(`the rate-limit script answered ${JSON.stringify(reply).slice(0, 100)}`)
    return reply[0] === 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: retryAfterSeconds(reply[1]) }
  }

  async ping(): Promise<void> {
    await this.firstConnection
    await this.command(['PING'])
  }

  async close(): Promise<void> {
    this.client.destroy()
    return Promise.resolve()
  }

  /** The script by its SHA-1, or whole when Redis does not know it yet (after a restart, say). */
  private async evaluate(key: string, args: string[]): Promise<unknown> {
    try {
      return await this.command(['EVALSHA', SCRIPT_SHA1, '1', key, ...args])
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return this.command(['EVAL', SLIDING_WINDOW_SCRIPT, '1', key, ...args])
    }
  }

  /** A command; while disconnected, its failure says why (the connection's last error). */
  private async command(args: string[]): Promise<unknown> {
    try {
      return await this.client.sendCommand(args)
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const why = !this.client.isReady && this.lastError !== undefined ? `${message}: ${this.lastError}` : message
      throw new Error(why, { cause: error })
    }
  }
}
