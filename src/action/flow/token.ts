// The main step with `credential: token` (issue 16): check every input, grant a temporary token
// (from Deepgram, or from the broker), check the answer, mask the token before anything else is
// logged, then the outputs and the summary. Nothing is created, so nothing is saved for post.
import { maskSecret, type ActionIO } from '../io.ts'
import { readOnMissingCredentials, type RunContext } from '../inputs.ts'
import { missingCredential, skippedForMissingCredential } from '../sources/choose.ts'
import { wantsBroker } from '../sources/broker-inputs.ts'
import { MAIN_DEEPGRAM_BUDGET_MS } from '../limits.ts'
import { code, table } from '../summary.ts'
import { checkToken, type CheckedToken } from '../../deepgram/grant.ts'
import { describeExpiration } from '../../deepgram/expiration.ts'
import { ActionError } from '../../shared/errors.ts'
import type { HttpSend } from '../../shared/http.ts'
import type { GetInput } from '../../shared/input-forms.ts'
import type { RetryClock } from '../../shared/retry.ts'
import { readBrokerTokenPlan, readDirectTokenPlan, type TokenPlan } from './inputs.ts'
import { brokerSource, deepgramSource, type SourceDeps, type TokenSource } from './sources.ts'

/** What the token flow needs of the main step. */
export interface TokenDeps {
  io: ActionIO
  run: RunContext
  send: HttpSend
  clock: RetryClock
  userAgent: string
  /** Aborted when the job is cancelled: the request in flight stops. */
  cancelled?: AbortSignal
  /** A fresh GitHub OIDC token for the audience, by `deadline` (epoch ms); undefined when the job may have none. */
  idToken: (audience: string, deadline: number) => Promise<string | undefined>
}

/**
 * The main step for a token. `secrets` collects what must never be shown (the ID token, the
 * token) for the caller's redaction; the caller has masked api-key and github-token already.
 */
export async function tokenMain(deps: TokenDeps, secrets: string[]): Promise<void> {
  const { io, clock } = deps
  const getInput: GetInput = (name) => io.getInput(name)
  const onMissing = readOnMissingCredentials(getInput)
  const sourceDeps: SourceDeps = {
    send: deps.send,
    clock,
    userAgent: deps.userAgent,
    cancelled: deps.cancelled,
    deadline: clock.now() + MAIN_DEEPGRAM_BUDGET_MS,
  }
  const now = new Date(clock.now())
  let plan: TokenPlan
  let source: TokenSource
  if (wantsBroker(getInput)) {
    const brokerPlan = readBrokerTokenPlan(getInput, now)
    const idToken = await deps.idToken(brokerPlan.broker.audience, sourceDeps.deadline)
    if (idToken === undefined) return skipOrFail(io, onMissing, 'broker', deps.run)
    maskSecret(io, idToken)
    secrets.push(idToken)
    plan = brokerPlan
    source = brokerSource(brokerPlan.broker, brokerPlan.expirationText, idToken, sourceDeps)
  } else {
    const missing = getInput('api-key') === ''
    // A skipped run still checks every other input, so that a mistake shows on the first run.
    const checked: GetInput =
      missing && onMissing === 'skip' ? (name) => (name === 'api-key' ? 'missing' : getInput(name)) : getInput
    const directPlan = readDirectTokenPlan(checked, deps.run, now)
    if (missing) return skipOrFail(io, onMissing, 'deepgram', deps.run)
    plan = directPlan
    source = deepgramSource(directPlan, sourceDeps)
  }
  io.setOutput('skipped', 'false')
  const token = await grant(source, plan, deps, secrets)
  const expiresAt = token.expiresAt.toISOString()
  io.setOutput('access-token', token.accessToken)
  io.setOutput('expires-at', expiresAt)
  if (token.warning !== undefined) io.warning(token.warning)
  io.info(
    `Granted a temporary token (usage:write) by ${describe(source)}: it expires at ${expiresAt}, in ${token.expiresInSeconds} s. A token cannot be revoked and leaves nothing to clean up.`,
  )
  await io.appendSummary(tokenSummary(token, source))
}

/** One grant, its answer masked first and then checked. */
async function grant(source: TokenSource, plan: TokenPlan, deps: TokenDeps, secrets: string[]): Promise<CheckedToken> {
  const { io } = deps
  io.info(
    `Asking ${describe(source)} for a temporary token ${describeExpiration(plan.expiration)} (${plan.seconds} s).`,
  )
  const answer = await source.grant(plan.seconds)
  if (typeof answer.accessToken === 'string' && answer.accessToken !== '') {
    maskSecret(io, answer.accessToken)
    secrets.push(answer.accessToken)
  }
  const verdict = checkToken(answer, plan.seconds, answer.sentAt)
  if (verdict.ok) return verdict.token
  const request = answer.requestId === undefined ? 'no request id' : `request id ${answer.requestId}`
  throw new ActionError(
    `${source.service} answered HTTP ${answer.status} while granting a temporary token (${request}), but ${verdict.problem}. ` +
      'The token was not handed to the job. Run the job again; if it happens again, report it with the request id.',
  )
}

function describe(source: Pick<TokenSource, 'service' | 'url'>): string {
  return `${source.service === 'Deepgram' ? 'Deepgram' : 'the broker'} at ${source.url}`
}

/** The same words as for a key: a run without its credential (forks, Dependabot) fails or is skipped. */
function skipOrFail(io: ActionIO, onMissing: 'fail' | 'skip', kind: 'deepgram' | 'broker', run: RunContext): void {
  if (onMissing === 'fail') throw new ActionError(missingCredential(kind, run))
  io.notice(skippedForMissingCredential(kind, run))
  io.setOutput('skipped', 'true')
}

/** The summary: a token was granted, until when, and that nothing needs cleaning up. Never the token. */
export function tokenSummary(token: CheckedToken, source: Pick<TokenSource, 'service' | 'url'>): string {
  const rows: [string, string][] = [
    ['Credential', 'temporary token (usage:write: the speech APIs only)'],
    ['Granted by', `${source.service === 'Deepgram' ? 'Deepgram' : 'the broker'} at ${code(source.url)}`],
    ['Expires', `${token.expiresAt.toISOString()} (${token.expiresInSeconds} s)`],
    ['When the job ends', 'nothing to clean up: a token cannot be revoked, and expires on its own'],
  ]
  return `### Deepgram temporary token granted\n\n${table(rows)}\n`
}
