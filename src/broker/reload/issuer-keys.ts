// Fetching the issuers' keys ahead of the first token: as the broker starts, and again when a
// reload brings a new verifier (a new issuer's keys). Failures are tried again with growing
// pauses until every issuer's keys have come once; a newer round supersedes an older one.
import { setTimeout as sleep } from 'node:timers/promises'

/** Pauses between tries at the issuers' keys while some are missing. */
const KEY_SET_RETRY = { firstMs: 1_000, maxMs: 30_000 }

export interface IssuerKeyFetchDeps {
  /** The verifier in force's prefetch: resolves to its failures. */
  prefetch: () => Promise<unknown[]>
  /** False until the broker was first ready (the log line says `not ready` until then). */
  ready: () => boolean
  logError: (message: string) => void
}

/** Returns `start`: begins a round of fetches, ending any round under way at its next pause. */
export function issuerKeyFetches(deps: IssuerKeyFetchDeps): () => void {
  let round = 0
  const fetchAll = async (mine: number): Promise<void> => {
    for (let pauseMs = KEY_SET_RETRY.firstMs; ; pauseMs = Math.min(2 * pauseMs, KEY_SET_RETRY.maxMs)) {
      const failures = await deps.prefetch()
      if (failures.length === 0 || round !== mine) return
      const state = deps.ready() ? 'issuer keys missing' : 'not ready'
      for (const failure of failures)
        deps.logError(
          `${state}: ${failure instanceof Error ? failure.message : String(failure)}; trying again in ${pauseMs / 1000} s`,
        )
      await sleep(pauseMs, undefined, { ref: false })
      if (round !== mine) return
    }
  }
  return () => void fetchAll(++round)
}
