import { BASE_URL_FORMS, checkBaseUrl } from '../shared/input-forms.ts'
import { ConfigError } from './config-error.ts'
import { adminKeyProblem } from './reload/admin-key.ts'
import { markerSecretProblem } from './reload/marker-secret.ts'

/** The broker's settings, all from environment variables, checked before anything starts. */
export interface BrokerConfig {
  /** DEEPGRAM_ADMIN_KEY, or the file DEEPGRAM_ADMIN_KEY_FILE names (read, and read again, by main.ts). */
  adminKey: { key: string } | { file: string }
  /**
   * BROKER_MARKER_SECRET, or the file BROKER_MARKER_SECRET_FILE names (read again like the admin
   * key's); unset: the markers' secret is derived from the admin key.
   */
  markerSecret: { secret: string } | { file: string } | undefined
  policyPath: string
  /** How often the policy and the key files are read again (POLICY_RELOAD_SECONDS); 0: only on SIGHUP. */
  reloadSeconds: number
  port: number
  host: string
  deepgramApiUrl: string
  /** Connections open at once; more are refused as they come (MAX_CONNECTIONS). */
  maxConnections: number
  /** Where GET /metrics is served (METRICS_PORT, METRICS_HOST); nowhere without METRICS_PORT. */
  metrics: { port: number; host: string } | undefined
}

export const DEFAULT_MAX_CONNECTIONS = 512
export const DEFAULT_RELOAD_SECONDS = 10

export function readConfig(env: NodeJS.ProcessEnv): BrokerConfig {
  const adminKey = readAdminKey(env)
  const policyPath = env.BROKER_POLICY ?? ''
  if (policyPath === '') throw new ConfigError('BROKER_POLICY is not set. Give the path of the policy file (YAML).')
  return {
    adminKey,
    markerSecret: readMarkerSecret(env),
    policyPath,
    reloadSeconds: readReloadSeconds(env.POLICY_RELOAD_SECONDS),
    port: readPort(env.PORT),
    host: readHost(env.HOST),
    deepgramApiUrl: readDeepgramApiUrl(env.DEEPGRAM_API_URL),
    maxConnections: readMaxConnections(env.MAX_CONNECTIONS),
    metrics: readMetrics(env),
  }
}

function readAdminKey(env: NodeJS.ProcessEnv): BrokerConfig['adminKey'] {
  const key = env.DEEPGRAM_ADMIN_KEY ?? ''
  const file = env.DEEPGRAM_ADMIN_KEY_FILE ?? ''
  if (key !== '' && file !== '')
    throw new ConfigError(
      'DEEPGRAM_ADMIN_KEY and DEEPGRAM_ADMIN_KEY_FILE are both set. Give one: the key, or the path of a file holding it (a mounted secret, read again when it changes).',
    )
  if (file !== '') return { file }
  if (key === '')
    throw new ConfigError(
      "DEEPGRAM_ADMIN_KEY is not set. Give a Deepgram API key with keys:write in the project (from the platform's secret store), or in DEEPGRAM_ADMIN_KEY_FILE the path of a file holding it.",
    )
  const problem = adminKeyProblem(key, 'DEEPGRAM_ADMIN_KEY')
  if (problem) throw new ConfigError(problem)
  return { key }
}

function readMarkerSecret(env: NodeJS.ProcessEnv): BrokerConfig['markerSecret'] {
  const secret = env.BROKER_MARKER_SECRET ?? ''
  const file = env.BROKER_MARKER_SECRET_FILE ?? ''
  if (secret !== '' && file !== '')
    throw new ConfigError(
      'BROKER_MARKER_SECRET and BROKER_MARKER_SECRET_FILE are both set. Give one: the secret, or the path of a file holding it (a mounted secret, read again when it changes).',
    )
  if (file !== '') return { file }
  if (secret === '') return undefined
  const problem = markerSecretProblem(secret, 'BROKER_MARKER_SECRET')
  if (problem) throw new ConfigError(problem)
  return { secret }
}

function readReloadSeconds(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_RELOAD_SECONDS
  const seconds = Number(text)
  if (!/^\d+$/.test(text) || seconds > 86_400)
    throw new ConfigError(
      `POLICY_RELOAD_SECONDS '${text}' is not a number of seconds. Give a whole number from 0 to 86400: how often the policy, DEEPGRAM_ADMIN_KEY_FILE and BROKER_MARKER_SECRET_FILE are read again (0: only on SIGHUP); the default is ${DEFAULT_RELOAD_SECONDS}.`,
    )
  return seconds
}

/** The metrics are private by default: served only when METRICS_PORT is set, on loopback unless METRICS_HOST says otherwise. */
function readMetrics(env: NodeJS.ProcessEnv): BrokerConfig['metrics'] {
  if (env.METRICS_PORT === undefined || env.METRICS_PORT === '') return undefined
  return {
    port: readPort(env.METRICS_PORT, 'METRICS_PORT', 'unset, there are no metrics'),
    host: readHost(env.METRICS_HOST, 'METRICS_HOST', '127.0.0.1'),
  }
}

function readPort(text: string | undefined, name = 'PORT', whenUnset = 'the default is 8080'): number {
  if (text === undefined || text === '') return 8080
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 65535)
    throw new ConfigError(
      `${name} '${text}' is not a port. Give a number from 0 to 65535 (0: any free port); ${whenUnset}.`,
    )
  return port
}

function readMaxConnections(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_MAX_CONNECTIONS
  const count = Number(text)
  if (!/^\d+$/.test(text) || count < 1 || count > 1_000_000) {
    throw new ConfigError(
      `MAX_CONNECTIONS '${text}' is not a count. Give a whole number from 1 to 1000000: the connections open at once, past which new ones are refused; the default is ${DEFAULT_MAX_CONNECTIONS}.`,
    )
  }
  return count
}

function readHost(text: string | undefined, name = 'HOST', fallback = '0.0.0.0'): string {
  if (text === undefined || text === '') return fallback
  if (!/^[0-9A-Za-z.:-]+$/.test(text))
    throw new ConfigError(
      `${name} '${text}' is not an address. Give an IP address or a host name, such as 0.0.0.0 or 127.0.0.1; the default is ${fallback}.`,
    )
  return text
}

function readDeepgramApiUrl(text: string | undefined): string {
  const checked = checkBaseUrl(text === undefined || text === '' ? 'https://api.deepgram.com' : text, 'the admin key')
  if ('problem' in checked)
    throw new ConfigError(
      `DEEPGRAM_API_URL ${checked.problem}. ${BASE_URL_FORMS}; the default is https://api.deepgram.com.`,
    )
  return checked.url
}
