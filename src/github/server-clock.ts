// How far GitHub's clock is ahead of the runner's, read from the `Date` header every answer of
// GitHub's carries. A secret's `updated_at` is on GitHub's clock, and a runner's clock may be off
// by minutes: what post compares must be on one clock.
import type { HttpSend } from '../shared/http.ts'
import type { Now } from '../shared/retry.ts'

/**
 * The least GitHub's clock can be ahead of ours, from one answer. `Date` has whole seconds, so when
 * GitHub sent it, its clock read at least that; we received it afterwards, so ours read at most
 * `receivedAt` then. Undefined without a readable `Date`.
 */
export function offsetFloor(dateHeader: string | undefined, receivedAt: number): number | undefined {
  if (dateHeader === undefined) return undefined
  const serverTime = Date.parse(dateHeader)
  return Number.isNaN(serverTime) ? undefined : serverTime - receivedAt
}

export interface ServerClockWatch {
  /** The same network, noting each answer's `Date`. */
  send: HttpSend
  /**
   * The tightest floor of GitHub's lead over our clock from the answers so far (each one is a
   * floor, so the largest is too), in ms; undefined when no answer had a `Date`.
   */
  offsetFloorMs(): number | undefined
}

export function watchServerClock(send: HttpSend, now: Now): ServerClockWatch {
  let floor: number | undefined
  return {
    async send(request) {
      const response = await send(request)
      const seen = offsetFloor(response.headers['date'], now())
      if (seen !== undefined) floor = floor === undefined ? seen : Math.max(floor, seen)
      return response
    },
    offsetFloorMs: () => floor,
  }
}
