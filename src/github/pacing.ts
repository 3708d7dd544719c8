// GitHub's secondary limits on content-creating requests, kept by the writes of one fan-out.
// Whether a secret PUT counts as content creation is not documented, so it is budgeted as if it
// did. Kept free of Octokit: the job summary (on every run's path) reads the advice below.
import type { Now, Sleep } from '../shared/retry.ts'

export interface WriteLimits {
  perMinute: number
  perHour: number
}

/** docs.github.com, "Rate limits for the REST API": 80 content-creating requests a minute, 500 an hour. */
export const GITHUB_WRITE_LIMITS: WriteLimits = { perMinute: 80, perHour: 500 }

/** GitHub's windows run on its clock, after transit: a second to spare on each. */
const MARGIN_MS = 1_000
const MINUTE_MS = 60_000 + MARGIN_MS
const HOUR_MS = 3_600_000 + MARGIN_MS

/** A write that could not start before the fan-out's time is up. Same text for every such target. */
export class PacingError extends Error {
  constructor(waitMs: number, limits: WriteLimits) {
    const why =
      waitMs > 0
        ? `GitHub allows ${limits.perMinute} content-creating requests a minute and ${limits.perHour} an hour, so the next write could start only in ${Math.ceil(waitMs / 1000)} s, after the step's time for secrets is up`
        : "the step's time for secrets was up before this write could start"
    super(
      `not written: ${why}. Write to at most ${limits.perHour} targets per job, or use one organization secret with secret-visibility: selected (a single write).`,
    )
    this.name = 'PacingError'
  }
}

/** Hands out write slots: never more than the limits allow in any minute or hour. */
export interface WritePacer {
  /** Resolves when a write may start; rejects with PacingError when that is after the deadline. */
  acquire(): Promise<void>
}

export function writePacer(
  clock: { now: Now; sleep: Sleep },
  deadline: number,
  limits: WriteLimits = GITHUB_WRITE_LIMITS,
): WritePacer {
  // Start times handed out so far, in order: each slot is no earlier than the one before.
  const starts: number[] = []
  return {
    async acquire() {
      const now = clock.now()
      const minuteSlot =
        starts.length >= limits.perMinute ? (starts[starts.length - limits.perMinute] ?? 0) + MINUTE_MS : now
      const hourSlot = starts.length >= limits.perHour ? (starts[starts.length - limits.perHour] ?? 0) + HOUR_MS : now
      const start = Math.max(now, minuteSlot, hourSlot)
      if (start > deadline) throw new PacingError(start - now, limits)
      // Taken before waiting, so that writes asking at the same moment get successive slots.
      starts.push(start)
      if (start > now) await clock.sleep(start - now)
    },
  }
}

/**
 * How much longer than usual a fan-out to `targets` needs, to wait out the minute limit: nothing
 * within a minute's writes, a minute for each further minute's worth, and never more than an
 * hour's writes (beyond those a write would wait an hour: it fails instead).
 */
export function pacingAllowanceMs(targets: number, limits: WriteLimits = GITHUB_WRITE_LIMITS): number {
  const paced = Math.min(targets, limits.perHour)
  return Math.max(0, Math.ceil(paced / limits.perMinute) - 1) * MINUTE_MS
}

/** What the job summary says when the targets are more than a minute's writes. */
export function fanOutAdvice(targets: number, limits: WriteLimits = GITHUB_WRITE_LIMITS): string | undefined {
  if (targets <= limits.perMinute) return undefined
  return (
    `${targets} targets are more than GitHub's ${limits.perMinute} content-creating requests a minute, so the writes beyond each minute's ${limits.perMinute} waited for the next minute` +
    (targets > limits.perHour ? `, and those beyond ${limits.perHour} an hour were not written. ` : '. ') +
    'One organization secret with secret-visibility: selected and secret-selected-repositories is a single write, however many repositories read it.'
  )
}
