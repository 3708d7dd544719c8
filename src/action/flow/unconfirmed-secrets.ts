// The post step after a main that ended before GitHub confirmed every write of the key to its
// secrets (a cancelled job, a kill, a deadline), with revoke: auto. Which targets hold the key is a
// question GitHub answers: a secret whose `updated_at` is not earlier than the moment main started
// writing it was written by this run (a write GitHub processed moves it, whether or not its answer
// came back). No target holds it: the key is of no use, and is deleted. Some target holds it: it
// is kept, and the targets that do not are named. GitHub cannot answer: it is kept, as a secret
// may hold it. The same in every mode: the questions go to GitHub, the deletion through the source.
import type { ActionIO } from '../io.ts'
import type { Secrets } from '../secrets.ts'
import { OUTGOING_REQUEST_TIMEOUT_MS } from '../time-bounds.ts'
import { loadRecordedWrites, type RecordedWrites, type TargetWrite } from '../secret-writes.ts'
import { CONCURRENCY } from '../../github/deliver.ts'
import { PacingError, writePacer } from '../../github/pacing.ts'
import { describeTarget, type SecretPlace } from '../../github/plan.ts'
import { readSecretMetadata, type SecretMetadata } from '../../github/secret-metadata.ts'
import { mapBounded } from '../../shared/concurrency.ts'
import { describeFailure } from '../../shared/errors.ts'
import type { HttpSend } from '../../shared/http.ts'
import type { RetryClock } from '../../shared/retry.ts'

/**
 * How much earlier than the write's start (moved to GitHub's clock) `updated_at` may read and still
 * count as this write's: 1 s because GitHub's times are truncated to whole seconds, and 2 s more
 * for GitHub's own clocks (the one that stamps `Date` and the one that stamps the secret).
 */
export const KNOWN_CLOCK_MARGIN_MS = 3_000

/**
 * The same when no answer of GitHub's gave its clock (no `Date` header): the runner's clock may be
 * off, and 5 minutes is what the action allows it elsewhere. Too wide a margin can only keep a key
 * (a write of minutes before counts as this one), never delete one a secret holds.
 */
export const UNKNOWN_CLOCK_MARGIN_MS = 5 * 60_000

/**
 * Whether a secret last written at `updatedAt` (GitHub's clock) holds what a write started at
 * `startedAt` (the runner's clock) sent. The offset is a floor of GitHub's lead over the runner
 * (server-clock.ts), so the start moved to GitHub's clock is never later than it was.
 */
export function writtenSince(updatedAt: number, startedAt: number, serverOffsetFloorMs: number | undefined): boolean {
  const earliest =
    serverOffsetFloorMs === undefined
      ? startedAt - UNKNOWN_CLOCK_MARGIN_MS
      : startedAt + serverOffsetFloorMs - KNOWN_CLOCK_MARGIN_MS
  return updatedAt >= earliest
}

/** What is known of one target once GitHub was asked. */
export type TargetAnswer = { holds: true } | { holds: false } | { holds: 'unknown'; why: string }

/** One target's answer from what main recorded and what GitHub said (undefined: not asked). */
export function answerFor(
  write: TargetWrite,
  asked: SecretMetadata | Error | undefined,
  serverOffsetFloorMs: number | undefined,
): TargetAnswer {
  if (write.confirmed) return { holds: true }
  // Never sent: the secret holds what it held before.
  if (write.startedAt === undefined) return { holds: false }
  if (asked === undefined) return { holds: 'unknown', why: 'GitHub was not asked' }
  if (asked instanceof Error) return { holds: 'unknown', why: asked.message }
  return { holds: asked.exists && writtenSince(asked.updatedAt, write.startedAt, serverOffsetFloorMs) }
}

export type Fate = 'revoke' | 'keep'

/** Some target holds the key: keep it. None does, and GitHub said so for each: delete it. Else keep it. */
export function fateOf(answers: TargetAnswer[]): Fate {
  return answers.every((answer) => answer.holds === false) ? 'revoke' : 'keep'
}

export interface UnconfirmedDeps {
  io: ActionIO
  send: HttpSend
  clock: RetryClock
  userAgent: string
  /** Epoch ms by which every question has ended, answered or not. */
  deadline: number
  /** '' when post has none: then GitHub is not asked. */
  githubToken: string
  /** github-token joins them before it is used. */
  secrets: Secrets
}

/**
 * Asks GitHub which targets hold the key, says what it found, and returns the key's fate. Never
 * throws: whatever goes wrong leaves the key kept.
 */
export async function settleUnconfirmedWrites(
  key: { keyId: string; expiresAt: string },
  deps: UnconfirmedDeps,
): Promise<Fate> {
  const { io, secrets } = deps
  const kept = `Key ${key.keyId} is kept until it expires at ${key.expiresAt}`
  const recorded = loadRecordedWrites(io)
  if (typeof recorded === 'string') {
    io.warning(
      `${kept}: the job ended while writing it to a secret, and the main step's ${recorded}, so GitHub was not asked which secrets hold it.`,
    )
    return 'keep'
  }
  const token = deps.githubToken
  secrets.add(token)
  const asked = await askGitHub(recorded, token, deps)
  const answers = recorded.writes.map((write, i) => answerFor(write, asked[i], recorded.serverOffsetFloorMs))
  const report = describeAnswers(recorded, answers, secrets)
  const fate = fateOf(answers)
  if (fate === 'revoke')
    io.info(
      `The job ended while writing secret ${recorded.name}, and GitHub shows that no target holds key ${key.keyId} (not written: ${report.lacking}): deleting it (revoke: auto).`,
    )
  else if (report.holding === '')
    io.warning(
      `${kept}: the job ended while writing secret ${recorded.name}, and GitHub could not say which targets hold it: ${report.unknown}${report.lacking ? ` Not written: ${report.lacking}.` : ''}`,
    )
  else if (report.lacking === '' && report.unknown === '')
    io.info(`${kept}: secret ${recorded.name} holds it in ${report.holding}.`)
  else
    io.warning(
      `${kept}: secret ${recorded.name} holds it in ${report.holding}, but the job ended before writing it to every target.${report.lacking ? ` Not written: ${report.lacking}.` : ''}${report.unknown ? ` GitHub could not say for ${report.unknown}` : ''} Run the job again to write them.`,
    )
  return fate
}

/**
 * One question per write that was started and not confirmed, paced like the writes (at most
 * CONCURRENCY at a time, within GitHub's limits): the metadata, or why there is none.
 */
async function askGitHub(
  recorded: RecordedWrites,
  token: string,
  deps: UnconfirmedDeps,
): Promise<(SecretMetadata | Error | undefined)[]> {
  const unasked = (write: TargetWrite) => write.confirmed || write.startedAt === undefined
  if (token === '')
    return recorded.writes.map((write) =>
      unasked(write) ? undefined : new Error('github-token is empty in the post step.'),
    )
  const pacer = writePacer(deps.clock, deps.deadline)
  const link = {
    apiUrl: recorded.apiUrl,
    token,
    send: deps.send,
    now: deps.clock.now,
    userAgent: deps.userAgent,
    deadline: deps.deadline,
    timeoutMs: OUTGOING_REQUEST_TIMEOUT_MS,
  }
  return mapBounded(recorded.writes, CONCURRENCY, async (write) => {
    if (unasked(write)) return undefined
    try {
      await pacer.acquire()
      return await readSecretMetadata(link, write.place, recorded.name)
    } catch (error) {
      if (error instanceof PacingError) return new Error("post's time for GitHub ran out before it could be asked.")
      return error instanceof Error ? error : new Error(describeFailure(error))
    }
  })
}

/** The targets by answer, as phrases; targets that GitHub could not answer for the same reason share one. */
function describeAnswers(
  recorded: RecordedWrites,
  answers: TargetAnswer[],
  secrets: Pick<Secrets, 'redact'>,
): { holding: string; lacking: string; unknown: string } {
  const places = (holds: boolean) =>
    recorded.writes.flatMap((write, i) => (answers[i]?.holds === holds ? [describeTarget(write.place)] : []))
  const byWhy = new Map<string, SecretPlace[]>()
  recorded.writes.forEach((write, i) => {
    const answer = answers[i]
    if (answer?.holds === 'unknown') byWhy.set(answer.why, [...(byWhy.get(answer.why) ?? []), write.place])
  })
  const unknown = [...byWhy]
    .map(([why, targets]) => `${targets.map(describeTarget).join(', ')}: ${secrets.redact(why)}`)
    .join(' ')
  return { holding: places(true).join(', '), lacking: places(false).join(', '), unknown }
}
