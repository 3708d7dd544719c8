/**
 * Whether a claim matches a policy value: the whole claim must match, and `*` stands for any run
 * of characters (none included, `/` included). Nothing else is special, so `octo-org/app` never
 * matches `octo-org/app-fork` nor `evil/octo-org/app`.
 *
 * Greedy matching with one backtrack point, O(pattern × value) at worst: a regular expression
 * with several `.*` can take exponential time on a long branch name, and claims come from tokens.
 */
export function globMatches(pattern: string, value: string): boolean {
  let p = 0
  let v = 0
  let star = -1
  let resume = 0
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++
      resume = v
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++
      v++
    } else if (star >= 0) {
      p = star + 1
      v = ++resume
    } else {
      return false
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++
  return p === pattern.length
}
