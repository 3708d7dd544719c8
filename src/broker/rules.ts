import { globMatches } from './glob.ts'
import type { ClaimMatch, Rule } from './policy.ts'

/** A verified token's claims. */
export type Claims = Record<string, unknown>

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

/** The first of a rule's claims that the token's does not match, or undefined when the rule matches. */
export function firstMismatch(rule: Rule, claims: Claims): ClaimMatch | undefined {
  return rule.match.find(({ claim, pattern }) => {
    const value = claimText(claims, claim)
    return value === undefined || !globMatches(pattern, value)
  })
}

/** The first rule whose every listed claim matches the token's, or undefined. */
export function selectRule(rules: readonly Rule[], claims: Claims): Rule | undefined {
  return rules.find((rule) => firstMismatch(rule, claims) === undefined)
}
