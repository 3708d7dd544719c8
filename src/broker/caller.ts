// Who is asking: the verified token's repository and issuer, and the rule of the policy that
// takes them. Every route needs both before it may cost a Deepgram request.
import type { BrokerOwner } from '../deepgram/marker.ts'
import type { Rule } from './policy/policy.ts'
import { Refusal } from './refusal.ts'
import type { Claims, VerifyOidcToken } from './oidc/verify-token.ts'
import { claimText, selectRule, shownClaims } from './policy/rules.ts'

/** The claims an audit line records (besides the rule and what was done). */
const AUDITED_CLAIMS = [
  'repository',
  'repository_id',
  'run_id',
  'run_attempt',
  'workflow_ref',
  'event_name',
  'ref',
  'jti',
] as const

export type AuditedClaims = { [claim in (typeof AUDITED_CLAIMS)[number]]?: string } & { issuer?: string }

export interface Caller {
  claims: Claims
  repository: string
  owner: BrokerOwner
  rule: Rule
}

/** Verifies the token and finds its rule: 401 for a bad token, 403 `no_rule` (with the claims) when no rule takes it. */
export async function identify(
  verify: VerifyOidcToken,
  rules: readonly Rule[],
  token: string,
  audit: AuditedClaims,
): Promise<Caller> {
  const claims = await verify(token)
  for (const claim of AUDITED_CLAIMS) audit[claim] = claimText(claims, claim)
  const issuer = claimText(claims, 'iss') ?? ''
  audit.issuer = issuer
  const repository = claimText(claims, 'repository')
  const repositoryId = claimText(claims, 'repository_id')
  if (!repository || !repositoryId || !/^\d{1,20}$/.test(repositoryId)) {
    throw new Refusal(
      401,
      'token_invalid',
      'The token is not valid: it has no repository and numeric repository_id claims, as GitHub Actions tokens do.',
    )
  }
  const rule = selectRule(rules, claims)
  if (!rule) throw ruleRefusal('no_rule', `No rule of the policy matches this token of issuer ${issuer}.`, claims)
  return { claims, repository, owner: { issuer, repositoryId }, rule }
}

/** A 403 about rules, with the token's claims that rules usually match, in the answer and the message. */
export function ruleRefusal(code: string, message: string, claims: Claims): Refusal {
  const shown = shownClaims(claims)
  const described = Object.entries(shown)
    .map(([claim, value]) => `${claim} ${value}`)
    .join(', ')
  return new Refusal(403, code, `${message} The token's claims: ${described}.`, { details: { claims: shown } })
}
