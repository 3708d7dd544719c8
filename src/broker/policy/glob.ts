/**
 * Whether a claim matches a policy value: the whole claim must match, and `*` stands for a run
 * of one or more characters (never none: a pattern never matches an empty claim through `*`).
 * Nothing else is special, so `octo-org/app` never matches `octo-org/app-fork` nor
 * `evil/octo-org/app`. With a `barrier` character (`@` in the workflow_ref claims), `*` never
 * crosses it: the pattern and the claim must hold as many of it, and each piece matches alone,
 * so `…/ci.yml@refs/heads/main` cannot be met by a branch named `x@refs/heads/main`.
 *
 * Greedy matching with one backtrack point, O(pattern × value) at worst: a regular expression
 * with several `.*` can take exponential time on a long branch name, and claims come from tokens.
 */
export function globMatches(pattern: string, value: string, barrier?: string): boolean {
  if (barrier === undefined) return piecesMatch(pattern, value)
  const patterns = pattern.split(barrier)
  const values = value.split(barrier)
  return patterns.length === values.length && patterns.every((piece, index) => piecesMatch(piece, values[index] ?? ''))
}

/** `*` as one character of any kind followed by a classic star (any run, none included). */
const ONE = 1
const STAR = 2
type Token = string | typeof ONE | typeof STAR

function piecesMatch(pattern: string, value: string): boolean {
  const tokens: Token[] = []
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? ''
    if (char === '*') tokens.push(ONE, STAR)
    else tokens.push(char)
  }
  let p = 0
  let v = 0
  let star = -1
  let resume = 0
  while (v < value.length) {
    const token = tokens[p]
    if (token === STAR) {
      star = p++
      resume = v
    } else if (token !== undefined && (token === ONE || token === value[v])) {
      p++
      v++
    } else if (star >= 0) {
      p = star + 1
      v = ++resume
    } else {
      return false
    }
  }
  while (tokens[p] === STAR) p++
  return p === tokens.length
}
