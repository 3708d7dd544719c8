// credential: token: grant a temporary token from the source the step names, check the answer,
// mask the token before anything else is logged, then the outputs and the summary. Nothing is
// created, so nothing is saved for post.
import type { ActionIO } from '../io.ts'
import type { Secrets } from '../secrets.ts'
import type { TokenPlan } from '../inputs/token.ts'
import { code, table } from '../summary.ts'
import type { StepTokenSource } from './token-source.ts'
import { checkToken, type CheckedToken } from '../../deepgram/grant.ts'
import { describeExpiration } from '../../deepgram/expiration.ts'
import { ActionError } from '../../shared/errors.ts'

/** Grants the token and hands it to the job. */
export async function grantTemporaryToken(
  plan: TokenPlan,
  source: StepTokenSource,
  deps: { io: ActionIO; secrets: Secrets },
): Promise<void> {
  const { io } = deps
  const token = await grant(source, plan, deps)
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
async function grant(
  source: StepTokenSource,
  plan: TokenPlan,
  { io, secrets }: { io: ActionIO; secrets: Secrets },
): Promise<CheckedToken> {
  io.info(
    `Asking ${describe(source)} for a temporary token ${describeExpiration(plan.expiration)} (${plan.seconds} s).`,
  )
  const answer = await source.grant({ seconds: plan.seconds, expiration: plan.expirationText })
  if (typeof answer.accessToken === 'string') secrets.add(answer.accessToken)
  const verdict = checkToken(answer, plan.seconds, answer.sentAt)
  if (verdict.ok) return verdict.token
  const request = answer.requestId === undefined ? 'no request id' : `request id ${answer.requestId}`
  throw new ActionError(
    `${source.service} answered HTTP ${answer.status} while granting a temporary token (${request}), but ${verdict.problem}. ` +
      'The token was not handed to the job. Run the job again; if it happens again, report it with the request id.',
  )
}

function describe(source: Pick<StepTokenSource, 'service' | 'url'>): string {
  return `${grantor(source)} at ${source.url}`
}

function grantor(source: Pick<StepTokenSource, 'service'>): string {
  return source.service === 'Deepgram' ? 'Deepgram' : 'the broker'
}

/** The summary: a token was granted, until when, and that nothing needs cleaning up. Never the token. */
export function tokenSummary(token: CheckedToken, source: Pick<StepTokenSource, 'service' | 'url'>): string {
  const rows: [string, string][] = [
    ['Credential', 'temporary token (usage:write: the speech APIs only)'],
    ['Granted by', `${grantor(source)} at ${code(source.url)}`],
    ['Expires', `${token.expiresAt.toISOString()} (${token.expiresInSeconds} s)`],
    ['When the job ends', 'nothing to clean up: a token cannot be revoked, and expires on its own'],
  ]
  return `### Deepgram temporary token granted\n\n${table(rows)}\n`
}
