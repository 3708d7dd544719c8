// What the runner's host gives the steps: the network (undici, behind a proxy or not), the
// runner's ID-token service, the clock, the job's signals, and the run's environment.
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici'
import { MAX_ANSWER_BYTES, proxyFromEnv, undiciSend, type HttpSend } from '../../shared/http.ts'
import type { ActionIO } from '../io.ts'
import type { RunContext } from '../inputs/source.ts'
import { requestIdToken } from '../../github/id-token.ts'
import type { RetryClock } from '../../shared/retry.ts'
import { ID_TOKEN_TIMEOUT_MS, OUTGOING_REQUEST_TIMEOUT_MS } from '../time-bounds.ts'

export const USER_AGENT = 'deepgram-key-action/0.1'

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']

/**
 * The real network. Behind a proxy (self-hosted runners) undici's EnvHttpProxyAgent honours
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY; it is made only then, because undici 6 prints an
 * "experimental" warning when it is constructed.
 */
export function realHttp(env: NodeJS.ProcessEnv): { send: HttpSend; close: () => Promise<void> } {
  const behindProxy = PROXY_VARIABLES.some((name) => (env[name] ?? '') !== '')
  const agent: Dispatcher = behindProxy ? new EnvHttpProxyAgent() : new Agent()
  const send = undiciSend(agent, {
    timeoutMs: OUTGOING_REQUEST_TIMEOUT_MS,
    maxAnswerBytes: MAX_ANSWER_BYTES,
    proxyFor: (url) => proxyFromEnv(env, url),
  })
  // Destroying lets the process end now: idle keep-alive sockets, and any request still open once
  // the step is done (nothing waits for it any more), would otherwise hold it.
  return { send, close: () => agent.destroy() }
}

/**
 * The job's ID tokens, asked of the runner's token service through our own HTTP client: with a
 * deadline, and abandoned at it (@actions/core's request has neither).
 */
export function runnerIdToken(send: HttpSend, env: NodeJS.ProcessEnv): ActionIO['getIDToken'] {
  return (audience, timeoutMs = ID_TOKEN_TIMEOUT_MS) =>
    requestIdToken(send, env, audience, Math.min(timeoutMs, ID_TOKEN_TIMEOUT_MS), USER_AGENT)
}

export const realClock: RetryClock = { now: () => Date.now(), sleep: (ms) => sleep(ms), random: () => Math.random() }

/** The real clock, whose waits end early when the job is cancelled, so that main stops at once. */
export function cancellableClock(cancelled: AbortSignal): RetryClock {
  return { ...realClock, sleep: (ms) => sleep(ms, undefined, { signal: cancelled }).catch(() => undefined) }
}

/**
 * Aborts `controller` on the runner's first SIGINT or SIGTERM (a cancelled job), so that main
 * stops its requests and ends; a second signal ends the process at once.
 */
export function abortOnSignals(controller: AbortController): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(1)
    controller.abort(signal)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return () => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
}

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
    const event = JSON.parse(readFileSync(eventPath, 'utf8')) as {
      pull_request?: { head?: { repo?: { fork?: boolean; full_name?: string } } }
    }
    const head = event.pull_request?.head?.repo
    return head?.fork ? head.full_name : undefined
  } catch {
    return undefined
  }
}
