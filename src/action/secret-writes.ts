// What main records, in the runner's state, about the writes of the key to its secrets, for a post
// step that follows a main cut short (a cancelled job, a kill, a deadline): which targets there
// were, when each write was started and whether GitHub confirmed it, and how far GitHub's clock is
// ahead of the runner's. Never the key, nor the token: post reads github-token again from its input.
// The targets are recorded as main wrote them: post's inputs are evaluated again, and may differ.
import type { ActionIO } from './io.ts'
import type { TargetResult, WriteWatch } from '../github/deliver.ts'
import { placeOf, type SecretPlace, type SecretPlan, type SecretTarget } from '../github/plan.ts'
import type { Now } from '../shared/retry.ts'
import { readBaseUrl } from '../shared/input-forms.ts'

/** The fan-out as main started it. */
export interface WritePlan {
  name: string
  apiUrl: string
  /** The least GitHub's clock is ahead of the runner's, in ms (server-clock.ts); undefined when unknown. */
  serverOffsetFloorMs?: number
  places: SecretPlace[]
}

/** One target's write as main last recorded it. */
export interface TargetWrite {
  place: SecretPlace
  /** When main started the write (runner's clock, epoch ms); undefined: never started. */
  startedAt?: number
  /** GitHub answered that it wrote it. */
  confirmed: boolean
}

export interface RecordedWrites {
  name: string
  apiUrl: string
  serverOffsetFloorMs?: number
  writes: TargetWrite[]
}

const PLAN = 'secret-writes'
const targetState = (index: number) => `secret-write-${index}`

export function writePlanOf(plan: SecretPlan, serverOffsetFloorMs: number | undefined): WritePlan {
  return {
    name: plan.name,
    apiUrl: plan.apiUrl,
    ...(serverOffsetFloorMs === undefined ? {} : { serverOffsetFloorMs }),
    places: plan.targets.map(placeOf),
  }
}

/** Records each write's start and GitHub's confirmation, by the target's place in `targets`. */
export function writeRecorder(io: Pick<ActionIO, 'saveState'>, targets: SecretTarget[], now: Now): WriteWatch {
  const startedAt = new Map<SecretTarget, number>()
  return {
    // Throws when the state cannot be written, and then the write is not sent: post must know of
    // every write that may have reached GitHub.
    started(target) {
      const at = now()
      startedAt.set(target, at)
      saveWriteStarted(io, targets.indexOf(target), at)
    },
    ended(result: TargetResult) {
      const at = startedAt.get(result.target)
      // A write that failed stays "started": GitHub may have processed it all the same, and post asks.
      if (!('outcome' in result) || at === undefined) return
      try {
        saveWriteConfirmed(io, targets.indexOf(result.target), at)
      } catch {
        // Unrecorded, the write counts as unconfirmed: post asks GitHub about it, which is safe.
      }
    },
  }
}

/** Saved once, before the first write. Throws when the state file cannot be written. */
export function saveWritePlan(io: Pick<ActionIO, 'saveState'>, plan: WritePlan): void {
  io.saveState(PLAN, JSON.stringify(plan))
}

/** One short line per event, so that a fan-out of hundreds of targets appends little to the state file. */
export function saveWriteStarted(io: Pick<ActionIO, 'saveState'>, index: number, at: number): void {
  io.saveState(targetState(index), `started ${at}`)
}

export function saveWriteConfirmed(io: Pick<ActionIO, 'saveState'>, index: number, startedAt: number): void {
  io.saveState(targetState(index), `confirmed ${startedAt}`)
}

/** What main recorded, or a description of what is wrong with it. */
export function loadRecordedWrites(io: Pick<ActionIO, 'getState'>): RecordedWrites | string {
  let plan: unknown
  try {
    plan = JSON.parse(io.getState(PLAN))
  } catch {
    return 'record of the secret writes is missing or not JSON'
  }
  if (!isWritePlan(plan)) return 'record of the secret writes is not one this action saves'
  let apiUrl: string
  try {
    // The token goes there: only a URL that github-api-url accepts.
    apiUrl = readBaseUrl(() => plan.apiUrl, 'github-api-url', '')
  } catch {
    return 'GitHub API URL is not one this action accepts'
  }
  const writes = plan.places.map((place, index): TargetWrite => {
    const match = /^(started|confirmed) (\d{1,16})$/.exec(io.getState(targetState(index)))
    if (match === null) return { place, confirmed: false }
    return { place, startedAt: Number(match[2]), confirmed: match[1] === 'confirmed' }
  })
  const offset = plan.serverOffsetFloorMs
  return { name: plan.name, apiUrl, ...(offset === undefined ? {} : { serverOffsetFloorMs: offset }), writes }
}

function isWritePlan(value: unknown): value is WritePlan {
  if (typeof value !== 'object' || value === null) return false
  const plan = value as Partial<WritePlan>
  return (
    typeof plan.name === 'string' &&
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(plan.name) &&
    typeof plan.apiUrl === 'string' &&
    (plan.serverOffsetFloorMs === undefined || Number.isSafeInteger(plan.serverOffsetFloorMs)) &&
    Array.isArray(plan.places) &&
    plan.places.every(isPlace)
  )
}

function isPlace(value: unknown): value is SecretPlace {
  if (typeof value !== 'object' || value === null) return false
  const place = value as Record<string, unknown>
  const text = (key: string) => typeof place[key] === 'string' && place[key] !== ''
  const type = place['type'] === 'actions' || place['type'] === 'dependabot'
  if (place['scope'] === 'organization') return type && text('org')
  if (place['scope'] === 'environment')
    return place['type'] === 'actions' && text('owner') && text('repo') && text('environment')
  return place['scope'] === 'repository' && type && text('owner') && text('repo')
}
