// What the broker's end-to-end tests share: the emulator, the issuer and the bundled broker with
// a policy, a client for its API, and the leak scan over its whole output.
import {
  DEFAULT_ACCOUNT,
  DEFAULT_PROJECT,
  startDeepgramEmulator,
  type DeepgramEmulator,
  type DeepgramEmulatorOptions,
} from '../../harness/deepgram-emulator.ts'
import { DEFAULT_AUDIENCE, startOidcIssuer, type OidcIssuer } from '../../harness/oidc-issuer.ts'
import { startBroker, type RunningBroker } from '../../harness/broker.ts'
import { waitFor } from './wait.ts'

export const ADMIN_KEY = DEFAULT_ACCOUNT.apiKey
export const PROJECT_ID = DEFAULT_PROJECT.projectId

export interface BrokerAnswer {
  status: number
  headers: Headers
  body: Record<string, unknown>
}

/** A policy with one rule for octo-org/app (repository id 1001) and `rules` before it, for `issuer`. */
export function examplePolicy(
  issuer: OidcIssuer,
  extra: {
    rules?: Record<string, unknown>[]
    'keys-per-minute'?: number
    'deletes-per-minute'?: number
    issuers?: string[]
    ruleIssuers?: string[]
  } = {},
): Record<string, unknown> {
  return {
    'project-id': PROJECT_ID,
    audience: DEFAULT_AUDIENCE,
    issuers: extra.issuers ?? [issuer.url],
    ...(extra['keys-per-minute'] ? { 'keys-per-minute': extra['keys-per-minute'] } : {}),
    ...(extra['deletes-per-minute'] ? { 'deletes-per-minute': extra['deletes-per-minute'] } : {}),
    rules: [
      ...(extra.rules ?? []),
      {
        name: 'app-tests',
        ...(extra.ruleIssuers ? { issuers: extra.ruleIssuers } : {}),
        match: { repository: 'octo-org/app', repository_id: '1001', ref: 'refs/heads/*' },
        scopes: ['usage:write', 'usage:read'],
        'max-expiration': '2h',
        tags: ['ci'],
      },
    ],
  }
}

export interface World {
  dg: DeepgramEmulator
  issuer: OidcIssuer
  broker: RunningBroker
  /** Every token signed so far, for the leak scan. */
  tokens: string[]
  sign(claims?: Record<string, unknown>): Promise<string>
  call(
    method: 'GET' | 'POST' | 'DELETE' | 'PUT',
    path: string,
    options?: { token?: string; body?: string | Record<string, unknown>; headers?: Record<string, string> },
  ): Promise<BrokerAnswer>
  /** Stops everything; the broker's whole output is then scanned for every secret seen. */
  close(): Promise<void>
}

export interface WorldOptions {
  policy?: (issuer: OidcIssuer) => Record<string, unknown>
  emulator?: DeepgramEmulatorOptions
  env?: Record<string, string>
  /** Runs before the broker starts, which fetches the issuer's keys at once (a misbehaviour, say). */
  beforeBroker?: (issuer: OidcIssuer, dg: DeepgramEmulator) => Promise<void>
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const policy = options.policy
  const dg = await startDeepgramEmulator(options.emulator ?? {})
  const issuer = await startOidcIssuer()
  await options.beforeBroker?.(issuer, dg)
  const broker = await startBroker({
    policy: (policy ?? examplePolicy)(issuer),
    adminKey: ADMIN_KEY,
    deepgramApiUrl: dg.url,
    env: options.env,
  })
  const tokens: string[] = []
  return {
    dg,
    issuer,
    broker,
    tokens,
    sign: async (claims) => {
      const token = await issuer.sign(claims)
      tokens.push(token)
      return token
    },
    call: async (method, path, options = {}) => {
      const headers: Record<string, string> = { ...options.headers }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
      const body =
        options.body === undefined
          ? undefined
          : typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body)
      if (body !== undefined) headers['content-type'] = 'application/json'
      const response = await fetch(`${broker.url}${path}`, { method, headers, body })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown> }
    },
    close: async () => {
      const exit = await broker.stop()
      await Promise.all([dg.close(), issuer.close()])
      expectNoLeaks(`${exit.stdout}\n${exit.stderr}`, [ADMIN_KEY, ...tokens, ...dg.keys.map((k) => k.key)])
    },
  }
}

/** No secret, nor a long piece of one (a JWT's signature alone), anywhere in the broker's output; no stack trace. */
export function expectNoLeaks(output: string, secrets: string[]): void {
  const leaks: string[] = []
  for (const secret of secrets) {
    const pieces = secret.includes('.') ? [secret, ...secret.split('.').filter((part) => part.length >= 16)] : [secret]
    if (pieces.some((piece) => output.includes(piece))) leaks.push(`${secret.slice(0, 6)}…`)
  }
  expect(leaks).toEqual([])
  expect(output).not.toMatch(/\n\s+at .+:\d+:\d+/)
}

/** The first audit line that `matches`, waiting for it: each line is written just after its answer. */
export function auditLineWhere(
  broker: RunningBroker,
  matches: (line: Record<string, unknown>) => boolean,
  since = 0,
): Promise<Record<string, unknown>> {
  return waitFor(() => broker.auditLines().slice(since).find(matches), 'an audit line that matches')
}

/** Whether a mint (a POST creating a key) has reached the world's Deepgram emulator. */
export function mintReached(world: World): boolean {
  return world.dg.requests.some((request) => request.method === 'POST' && request.path.endsWith('/keys'))
}
