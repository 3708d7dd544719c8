import { REFUSAL_CLAIMS } from '../../shared/refusal-claims.ts'
import { globMatches } from './glob.ts'
import type { Claims } from '../oidc/verify-token.ts'
import type { ClaimMatch, Rule } from './policy.ts'

/** Claims whose `*` never crosses `@`: what follows it is the ref, which a branch name can fake. */
const BARRIERS: Record<string, string> = { workflow_ref: '@', job_workflow_ref: '@' }

/**
 * A claim as text for matching. GitHub's custom claims are strings; a number or boolean is taken
 * as written, anything else (absent, a list, an object) matches no pattern.
 */
export function claimText(claims: Claims, claim: string): string | undefined {
  const value = claims[claim]
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

/** Whether one claim of the token matches one pattern of a rule. */
export function claimMatches(claims: Claims, claim: string, pattern: string): boolean {
  const value = claimText(claims, claim)
  return value !== undefined && globMatches(pattern, value, BARRIERS[claim])
}

/**
 * Why a rule does not take the token: the issuer it does not trust, or the first of its claims
 * that the token's does not match. Undefined when the rule matches.
 */
export function firstMismatch(rule: Rule, claims: Claims): ClaimMatch | { claim: 'iss'; pattern: string } | undefined {
  const issuer = claimText(claims, 'iss')
  if (issuer === undefined || !rule.issuers.includes(issuer))
    return { claim: 'iss', pattern: rule.issuers.join(' or ') }
  return rule.match.find(({ claim, pattern }) => !claimMatches(claims, claim, pattern))
}

/** The first rule that trusts the token's issuer and whose every listed claim matches the token's, or undefined. */
export function selectRule(rules: readonly Rule[], claims: Claims): Rule | undefined {
  return rules.find((rule) => firstMismatch(rule, claims) === undefined)
}

/** The REFUSAL_CLAIMS the token carries, as text. */
export function shownClaims(claims: Claims): Record<string, string> {
  const shown: Record<string, string> = {}
  for (const claim of REFUSAL_CLAIMS) {
    const value = claimText(claims, claim)
    if (value !== undefined) shown[claim] = value
  }
  return shown
}
