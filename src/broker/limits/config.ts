// The rate limit's settings, read with the broker's other settings before anything starts:
// RATE_LIMIT_STORE, RATE_LIMIT_STORE_PASSWORD_FILE, RATE_LIMIT_FAIL_OPEN. Any other RATE_LIMIT_*
// variable is a typo, refused like a bad value.
import { readFileSync } from 'node:fs'
import { isLoopbackHost } from '../../shared/loopback.ts'
import { ConfigError } from '../config-error.ts'

/** Where a Redis store is; `shown` is its URL without the password, for logs. */
export interface RedisTarget {
  host: string
  port: number
  tls: boolean
  username: string | undefined
  password: string | undefined
  database: number
  shown: string
}

export type RateLimitConfig =
  { store: 'memory'; failOpen: boolean } | { store: 'redis'; target: RedisTarget; failOpen: boolean }

const SETTINGS = new Set(['RATE_LIMIT_STORE', 'RATE_LIMIT_STORE_PASSWORD_FILE', 'RATE_LIMIT_FAIL_OPEN'])
const FORMS =
  'Give memory (the default: each broker process counts on its own), redis://[user:password@]host[:port][/db] to a loopback host (localhost, 127.0.0.1, [::1]), or rediss://[user:password@]host[:port][/db] (TLS) for any other host; the password may come from RATE_LIMIT_STORE_PASSWORD_FILE instead.'

export function readRateLimitConfig(
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): RateLimitConfig {
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith('RATE_LIMIT_') && !SETTINGS.has(name))
      throw new ConfigError(
        `${name} is not a setting of the broker. The rate limit's settings are ${[...SETTINGS].join(', ')}.`,
      )
  }
  const failOpen = readFailOpen(env.RATE_LIMIT_FAIL_OPEN)
  const text = env.RATE_LIMIT_STORE ?? ''
  const passwordFile = env.RATE_LIMIT_STORE_PASSWORD_FILE ?? ''
  if (text === '' || text === 'memory') {
    if (passwordFile !== '')
      throw new ConfigError(
        `RATE_LIMIT_STORE_PASSWORD_FILE is set, but RATE_LIMIT_STORE is ${text === '' ? 'not set (memory)' : 'memory'}, which needs no password. ${FORMS}`,
      )
    return { store: 'memory', failOpen }
  }
  const target = readRedisUrl(text)
  if (passwordFile !== '') {
    if (target.password !== undefined)
      throw new ConfigError(
        'RATE_LIMIT_STORE has a password and RATE_LIMIT_STORE_PASSWORD_FILE is set too: give the password in one place only.',
      )
    target.password = readPassword(passwordFile, readFile)
  }
  return { store: 'redis', target, failOpen }
}

function readFailOpen(text: string | undefined): boolean {
  if (text === undefined || text === '' || text === 'false') return false
  if (text === 'true') return true
  throw new ConfigError(
    `RATE_LIMIT_FAIL_OPEN '${text.slice(0, 40)}' is not true or false. false (the default): while the rate-limit store cannot be reached, requests are refused (503); true: they are admitted uncounted.`,
  )
}

/** The URL as it may be shown: no password. */
function withoutPassword(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@').slice(0, 200)
}

function readRedisUrl(text: string): RedisTarget {
  const shown = withoutPassword(text)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(`RATE_LIMIT_STORE '${shown}' is neither memory nor a URL. ${FORMS}`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ConfigError(`RATE_LIMIT_STORE '${shown}' is not a redis:// or rediss:// URL. ${FORMS}`)
  if (url.search !== '' || url.hash !== '') {
    const options = [...url.searchParams.keys()].join(', ')
    throw new ConfigError(
      `RATE_LIMIT_STORE '${shown}' has ${options ? `options (${options}) the broker does not know` : 'a query or fragment'}: the URL takes none. ${FORMS}`,
    )
  }
  if (url.hostname === '') throw new ConfigError(`RATE_LIMIT_STORE '${shown}' names no host. ${FORMS}`)
  const database = /^\/?$/.test(url.pathname)
    ? 0
    : /^\/\d{1,4}$/.test(url.pathname)
      ? Number(url.pathname.slice(1))
      : NaN
  if (Number.isNaN(database))
    throw new ConfigError(
      `RATE_LIMIT_STORE '${shown}' has the path ${url.pathname}: only a database number (/0, /1...) may follow the host. ${FORMS}`,
    )
  const tls = url.protocol === 'rediss:'
  if (!tls && !isLoopbackHost(url.hostname))
    throw new ConfigError(
      `RATE_LIMIT_STORE '${shown}' is plain redis:// to a host that is not this machine: its password and every count would cross the network in clear text. Use rediss:// (TLS). ${FORMS}`,
    )
  const port = url.port === '' ? 6379 : Number(url.port)
  if (port === 0) throw new ConfigError(`RATE_LIMIT_STORE '${shown}' has port 0. ${FORMS}`)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  return {
    host,
    port,
    tls,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    database,
    shown: `${url.protocol}//${url.username === '' ? '' : `${url.username}@`}${url.host}${url.pathname === '/' ? '' : url.pathname}`,
  }
}

function readPassword(path: string, readFile: (path: string) => string): string {
  let text: string
  try {
    text = readFile(path)
  } catch (error) {
    throw new ConfigError(
      `RATE_LIMIT_STORE_PASSWORD_FILE ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}). Give the path of a file that holds the store's password alone (a mounted Secret).`,
    )
  }
  const password = text.replace(/\r?\n$/, '')
  if (password === '' || /[\r\n]/.test(password))
    throw new ConfigError(
      `RATE_LIMIT_STORE_PASSWORD_FILE ${path} ${password === '' ? 'is empty' : 'holds several lines'}. Give a file that holds the store's password alone.`,
    )
  return password
}
