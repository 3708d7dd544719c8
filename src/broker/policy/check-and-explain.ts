// `node dist/broker/index.js check POLICY` and `explain POLICY --claims CLAIMS.json`: the policy
// tooling for the CI of the repository that holds the policy. Both read files only: no admin
// key, no network. `check` runs the very parsePolicy start-up runs; `explain` matches with the
// broker's own firstMismatch, so neither can disagree with the broker.
import { stringify } from 'yaml'
import { describeSeconds } from '../../deepgram/expiration.ts'
import { logLine } from '../../shared/log-text.ts'
import { parsePolicy, PolicyError, type Policy, type Rule } from './policy.ts'
import type { Claims } from '../oidc/verify-token.ts'
import { claimText, firstMismatch } from './rules.ts'

/** What the tools touch, passed in so that tests can give their own. */
export interface ToolIO {
  /** The file's text; throws an Error with a `code` (ENOENT...) when it cannot be read. */
  readFile: (path: string) => string
  out: (line: string) => void
  err: (line: string) => void
}

const USAGE = [
  'usage: node dist/broker/index.js [serve]                               serve; the settings come from the environment',
  '       node dist/broker/index.js check POLICY                          validate a policy as start-up does, print the rules in effect',
  '       node dist/broker/index.js explain POLICY --claims CLAIMS.json   which rule matches these claims, and why the others do not',
].join('\n')

/** Exit codes: 0 done (explain: a rule matches), 1 refused (a bad file; explain: no rule matches), 2 misused. */
export function runPolicyTool(command: string, args: readonly string[], io: ToolIO): number {
  if (command === 'check' && args.length === 1 && args[0] !== undefined) return check(args[0], io)
  if (command === 'explain' && args.length === 3) {
    const at = args.indexOf('--claims')
    const claimsPath = args[at + 1]
    const policyPath = args.find((_, i) => i !== at && i !== at + 1)
    if (at >= 0 && claimsPath !== undefined && policyPath !== undefined) return explain(policyPath, claimsPath, io)
  }
  io.err(
    `deepgram-key-broker: '${logLine([command, ...args].join(' '))}' is not a command line it understands.\n${USAGE}`,
  )
  return 2
}

function check(path: string, io: ToolIO): number {
  const policy = loadOrReport(path, io)
  if (!policy) return 1
  io.out(`# ${logLine(path)} is valid: the broker starts with it. The policy in effect, every default written out;`)
  io.out('# the first rule that matches a token wins.')
  io.out(stringify(policyInEffect(policy)).trimEnd())
  return 0
}

function explain(policyPath: string, claimsPath: string, io: ToolIO): number {
  const policy = loadOrReport(policyPath, io)
  const read = policy && readClaims(claimsPath, io)
  if (!policy || !read) return 1
  // Claims copied from a workflow often leave out iss: with one issuer, it can only be that one.
  const [onlyIssuer] = policy.issuers
  const claims =
    read.iss === undefined && policy.issuers.length === 1 && onlyIssuer !== undefined
      ? { ...read, iss: onlyIssuer }
      : read
  const verdicts = policy.rules.map((rule) => ({ rule, mismatch: firstMismatch(rule, claims) }))
  const chosen = verdicts.find((verdict) => verdict.mismatch === undefined)?.rule
  io.out(
    logLine(
      chosen
        ? `Rule ${chosen.name} matches ${claimsPath}: the broker mints with it (at most ${chosen.scopes.join(', ')}, for at most ${describeSeconds(chosen.maxExpirationSeconds)}).`
        : `No rule matches ${claimsPath}: the broker answers 403 no_rule.`,
    ),
  )
  const width = Math.max(...policy.rules.map((rule) => rule.name.length))
  for (const { rule, mismatch } of verdicts) {
    const verdict = mismatch
      ? `does not match: ${mismatch.claim} is ${shown(claimText(claims, mismatch.claim))}, the rule wants ${JSON.stringify(mismatch.pattern)}`
      : rule === chosen
        ? 'matches'
        : `matches too, but rule ${chosen?.name ?? '?'} comes first`
    io.out(logLine(`  ${rule.name.padEnd(width)}  ${verdict}`))
  }
  return chosen ? 0 : 1
}

/** The policy, or undefined once its problems are written, in the words of start-up. */
function loadOrReport(path: string, io: ToolIO): Policy | undefined {
  let text: string
  try {
    text = io.readFile(path)
  } catch (error) {
    io.err(
      `deepgram-key-broker: cannot read ${logLine(path)} (${(error as NodeJS.ErrnoException).code ?? 'error'}). Give the path of the policy file.`,
    )
    return undefined
  }
  try {
    return parsePolicy(text, path)
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error
    io.err(`deepgram-key-broker would not start: ${error.message}`)
    return undefined
  }
}

function readClaims(path: string, io: ToolIO): Claims | undefined {
  const refuse = (why: string): undefined =>
    void io.err(
      `deepgram-key-broker: ${logLine(path)} ${why}. Give a JSON object of claims, such as a token's payload.`,
    )
  let text: string
  try {
    text = io.readFile(path)
  } catch (error) {
    return refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let claims: unknown
  try {
    claims = JSON.parse(text)
  } catch {
    return refuse('is not JSON')
  }
  return typeof claims === 'object' && claims !== null && !Array.isArray(claims)
    ? (claims as Claims)
    : refuse('is not a JSON object')
}

/** A claim's value as explain shows it: quoted, or why there is none to match. */
function shown(value: string | undefined): string {
  return value === undefined ? 'absent (or not text)' : JSON.stringify(value)
}

/** The policy as a policy file again, with the defaults start-up filled in; it parses to the same policy. */
function policyInEffect(policy: Policy): Record<string, unknown> {
  return {
    'project-id': policy.projectId,
    audience: policy.audience,
    issuers: policy.issuers,
    'keys-per-minute': policy.keysPerMinute,
    'deletes-per-minute': policy.deletesPerMinute,
    rules: policy.rules.map(ruleInEffect),
  }
}

function ruleInEffect(rule: Rule): Record<string, unknown> {
  const { name, issuers, match, scopes, maxExpirationSeconds, tags, allowKeyManagement, ...rest } = rule
  return {
    name,
    issuers,
    match: Object.fromEntries(match.map(({ claim, pattern }) => [claim, pattern])),
    scopes,
    'max-expiration': describeSeconds(maxExpirationSeconds).replaceAll(' ', ''),
    tags,
    'allow-key-management': allowKeyManagement,
    // Fields a later policy version adds are shown as they are.
    ...rest,
  }
}
