// Loaded with import() only when a secret is written: Octokit and libsodium stay off the path of
// every other run (ncc puts this module and what it imports in a separate chunk).
import { fetchOver, type HttpSend } from '../shared/http.ts'
import { MAIN_POLICY, type RetryClock } from '../shared/retry.ts'
import { prepareTargets, withPublicKeyCache, writeToTargets, type TargetResult } from './deliver.ts'
import { octokitSecretsApi } from './octokit.ts'
import type { SecretPlan } from './plan.ts'
import { loadSeal } from './seal.ts'

export interface SecretDelivery {
  /** Writes the value to every target; the results say which hold it now. */
  write(value: string): Promise<TargetResult[]>
}

export interface DeliveryDeps {
  send: HttpSend
  clock: RetryClock
  userAgent: string
}

/** Readies every target (public keys, repository ids) and libsodium, in parallel. */
export async function prepareDelivery(plan: SecretPlan, deps: DeliveryDeps): Promise<SecretDelivery> {
  const api = withPublicKeyCache(
    octokitSecretsApi({ token: plan.token, apiUrl: plan.apiUrl, fetch: fetchOver(deps.send), clock: deps.clock, policy: MAIN_POLICY, userAgent: deps.userAgent }),
  )
  const [seal, prepared] = await Promise.all([loadSeal(), prepareTargets(plan, api)])
  return { write: (value) => writeToTargets(value, plan.name, prepared, api, seal) }
}
