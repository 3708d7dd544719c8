// Loaded with import() only when a secret is written: Octokit and libsodium stay off the path of
// every other run (ncc puts this module and what it imports in a separate chunk).
import { fetchOver, type HttpSend } from '../shared/http.ts'
import type { RetryClock } from '../shared/retry.ts'
import { prepareTargets, withPublicKeyCache, writeToTargets, type TargetResult, type WriteWatch } from './deliver.ts'
import { octokitSecretsApi } from './octokit.ts'
import { GITHUB_WRITE_LIMITS, pacingAllowanceMs, writePacer } from './pacing.ts'
import type { SecretPlan } from './plan.ts'
import { loadSeal } from './seal.ts'
import { watchServerClock } from './server-clock.ts'

/**
 * From the start of delivery (while the key is being created) to the last write starting, waits
 * included: the main step ends within 30 s, and a failure then still has time to delete the key.
 * A fan-out of more than a minute's writes gets a minute more for each further minute's worth
 * (pacingAllowanceMs): the wait is GitHub's rule, known before the first request.
 */
export const DELIVERY_BUDGET_MS = 20_000
/** A fan-out this long logs how far it got, every this many targets. */
export const PROGRESS_EVERY = 20

export interface SecretDelivery {
  /** Writes the value to every target; the results say which hold it now. `watch` hears each start and end. */
  write(value: string, watch?: WriteWatch): Promise<TargetResult[]>
  /** The least GitHub's clock is ahead of the runner's, from the answers so far (server-clock.ts). */
  serverOffsetFloorMs(): number | undefined
}

export interface DeliveryDeps {
  /** Where progress goes: the step's log. */
  io: { info(message: string): void }
  send: HttpSend
  clock: RetryClock
  userAgent: string
}

/** Readies every target (public keys, repository ids) and libsodium, in parallel. */
export async function prepareDelivery(plan: SecretPlan, deps: DeliveryDeps): Promise<SecretDelivery> {
  const allowance = pacingAllowanceMs(plan.targets.length)
  if (allowance > 0) {
    deps.io.info(
      `Secret ${plan.name}: ${plan.targets.length} targets are more than GitHub's ${GITHUB_WRITE_LIMITS.perMinute} content-creating requests a minute, so writing them takes about ${Math.round(allowance / 60_000)} minute(s) more.`,
    )
  }
  const deadline = deps.clock.now() + DELIVERY_BUDGET_MS + allowance
  const pacer = writePacer(deps.clock, deadline)
  const serverClock = watchServerClock(deps.send, deps.clock.now)
  const github = octokitSecretsApi({
    token: plan.token,
    apiUrl: plan.apiUrl,
    fetch: fetchOver(serverClock.send),
    now: deps.clock.now,
    deadline,
    userAgent: deps.userAgent,
    pacer,
  })
  const api = withPublicKeyCache(github)
  const [seal, prepared] = await Promise.all([loadSeal(), prepareTargets(plan, api)])
  const progress = (done: number, total: number) => {
    if (total > PROGRESS_EVERY && (done % PROGRESS_EVERY === 0 || done === total))
      deps.io.info(`Secret ${plan.name}: ${done} of ${total} targets done.`)
  }
  return {
    write: (value, watch) => writeToTargets(value, plan.name, prepared, api, seal, progress, watch),
    serverOffsetFloorMs: () => serverClock.offsetFloorMs(),
  }
}
