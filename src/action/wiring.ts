import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici'
import { undiciSend, type HttpSend } from '../shared/http.ts'
import type { RunContext } from './inputs.ts'
import type { RetryClock } from '../shared/retry.ts'

export const USER_AGENT = 'deepgram-key-action/0.1'

/** Per request: long enough for a slow answer, short enough to retry within the step's budget. */
const REQUEST_TIMEOUT_MS = 15_000

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']

/**
 * The real network. Behind a proxy (self-hosted runners) undici's EnvHttpProxyAgent honours
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY; it is made only then, because undici 6 prints an
 * "experimental" warning when it is constructed.
 */
export function realHttp(env: NodeJS.ProcessEnv): { send: HttpSend; close: () => Promise<void> } {
  const behindProxy = PROXY_VARIABLES.some((name) => (env[name] ?? '') !== '')
  const agent: Dispatcher = behindProxy ? new EnvHttpProxyAgent() : new Agent()
  // Closing lets the process end now rather than when idle keep-alive sockets time out.
  return { send: undiciSend(agent, REQUEST_TIMEOUT_MS), close: () => agent.close() }
}

export const realClock: RetryClock = { now: () => Date.now(), sleep: (ms) => sleep(ms), random: () => Math.random() }

export function runContextFromEnv(env: NodeJS.ProcessEnv): RunContext & { apiUrl?: string } {
  return {
    apiUrl: env.GITHUB_API_URL,
    actor: env.GITHUB_ACTOR,
    forkRepository: forkOf(env.GITHUB_EVENT_PATH),
    repository: env.GITHUB_REPOSITORY,
    workflow: env.GITHUB_WORKFLOW,
    runId: env.GITHUB_RUN_ID,
    runAttempt: env.GITHUB_RUN_ATTEMPT,
    job: env.GITHUB_JOB,
  }
}

/** The head repository of a pull request from a fork, read from the event payload; else undefined. */
function forkOf(eventPath: string | undefined): string | undefined {
  if (!eventPath) return undefined
  try {
    const event = JSON.parse(readFileSync(eventPath, 'utf8')) as { pull_request?: { head?: { repo?: { fork?: boolean; full_name?: string } } } }
    const head = event.pull_request?.head?.repo
    return head?.fork ? head.full_name : undefined
  } catch {
    return undefined
  }
}
