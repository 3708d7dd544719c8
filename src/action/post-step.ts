// The post step: delete the key main created, if there is one to delete, through the source main
// used. It never fails the job: the key expires on its own, so a failed revocation is a warning.
// It does not trust the runner's clock to say the key has expired: only the source's word counts.
import type { ActionIO } from './io.ts'
import { Secrets } from './secrets.ts'
import { POST_BUDGET_MS, POST_GITHUB_QUESTIONS_MS } from './time-bounds.ts'
import { loadPostWork } from './state.ts'
import { revokedSummary } from './summary.ts'
import { readPostInputs } from './inputs/post.ts'
import { reopenKeySource } from './sources/credentials.ts'
import { settleUnconfirmedWrites } from './flow/unconfirmed-secrets.ts'
import { reportBeforeDelete } from './usage/post.ts'
import { describeFailure } from '../shared/errors.ts'
import type { HttpSend } from '../shared/http.ts'
import { POST_POLICY, type RetryClock } from '../shared/retry.ts'

export interface PostDeps {
  io: ActionIO
  send: HttpSend
  clock: RetryClock
  userAgent: string
}

export async function runPost(deps: PostDeps): Promise<void> {
  const { io } = deps
  // One bound for all of post's work, GitHub's questions included.
  const deadline = deps.clock.now() + POST_BUDGET_MS
  const inputs = readPostInputs((name) => io.getInput(name))
  const secrets = new Secrets(io)
  secrets.add(inputs.apiKey)
  let work = loadPostWork(io)
  if (work.kind === 'none') {
    io.info(
      inputs.tokenCredential
        ? 'A temporary token cannot be revoked and leaves nothing behind: nothing to do.'
        : 'The main step created no key: nothing to revoke.',
    )
    return
  }
  if (work.kind === 'malformed') {
    io.warning(
      `The main step's saved ${work.what} is not one this action saves, so no request was made. Check the project's keys in the Deepgram console.`,
    )
    return
  }
  if (work.kind === 'key' && work.askGitHub) {
    const questions = {
      ...deps,
      githubToken: inputs.githubToken,
      secrets,
      deadline: Math.min(deadline, deps.clock.now() + POST_GITHUB_QUESTIONS_MS),
    }
    if ((await settleUnconfirmedWrites(work, questions)) === 'keep') return
    work = { ...work, revoke: true }
  }
  if (work.kind === 'key' && !work.revoke) {
    io.info(
      `Key ${work.keyId} is kept until it expires at ${work.expiresAt}${work.keptBecause ? `: ${work.keptBecause}` : ''}.`,
    )
    return
  }
  const what = work.kind === 'key' ? `key ${work.keyId}` : 'the key this run may have created'
  try {
    const reach = { ...deps, policy: POST_POLICY, deadline, budgetMs: POST_BUDGET_MS }
    const source = await reopenKeySource(work.locator, inputs, reach, secrets)
    if (source === undefined) {
      io.warning(
        `Could not revoke ${what}: api-key is empty in the post step. ${work.kind === 'key' ? `It expires on its own at ${work.expiresAt}.` : "Check the project's keys in the Deepgram console."}`,
      )
      return
    }
    if (work.kind === 'key') {
      await reportBeforeDelete(io, source, work.keyId, { report: inputs.usageReport, secrets })
      const outcome = await source.deleteKey(work.keyId)
      io.info(outcome === 'deleted' ? `Revoked key ${work.keyId}.` : `Key ${work.keyId} was already deleted.`)
      await io.appendSummary(revokedSummary(work.keyId, outcome))
      return
    }
    const deleted = await source.deleteInvocationKeys(work.invocation)
    if (deleted.length === 0) io.info("No key of this run's invocation was found: nothing to revoke.")
    for (const id of deleted) {
      io.info(`Revoked key ${id}, created by this run although main never saw the answer.`)
      await io.appendSummary(revokedSummary(id, 'deleted'))
    }
  } catch (error) {
    const later = work.kind === 'key' ? `It expires on its own at ${work.expiresAt}.` : 'It expires on its own.'
    io.warning(`Could not revoke ${what}: ${secrets.redact(describeFailure(error))} ${later}`)
  }
}
