// The policy file: which workflows may have which keys. Every check runs when the broker starts,
// and any problem stops it (fail closed): a typo must never widen what a rule grants.
import { parse, YAMLParseError } from 'yaml'
import { isLoopbackHost } from '../../shared/loopback.ts'
import {
  ExpirationError,
  MAX_EXPIRATION_DAYS,
  MAX_EXPIRATION_SECONDS,
  parseExpiration,
} from '../../deepgram/expiration.ts'
import { isManagementScope, isScope, SCOPE_FORM, whyManagement } from '../../deepgram/scopes.ts'
import { isTag, TAG_FORM } from '../../deepgram/tags.ts'
import { isUuid } from '../../deepgram/ids.ts'

export interface ClaimMatch {
  claim: string
  /** Matches the whole claim; `*` is any run of characters (glob.ts). */
  pattern: string
}

export interface Rule {
  name: string
  /** The issuers whose tokens the rule trusts: every issuer's repositories are numbered apart. */
  issuers: string[]
  match: ClaimMatch[]
  /** The most this rule grants; a request may ask for fewer. */
  scopes: string[]
  maxExpirationSeconds: number
  /** Added to every key the rule mints. */
  tags: string[]
  allowKeyManagement: boolean
}

export interface Policy {
  projectId: string
  audience: string
  issuers: string[]
  /** Per repository, per broker instance. */
  keysPerMinute: number
  /** Deletions and listings (each reads the project with the admin key), per repository, per instance. */
  deletesPerMinute: number
  rules: Rule[]
}

/** The policy does not pass the checks; every problem found is listed. */
export class PolicyError extends Error {
  readonly problems: string[]
  constructor(problems: string[]) {
    super(`The policy is refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'PolicyError'
    this.problems = problems
  }
}

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'
export const DEFAULT_KEYS_PER_MINUTE = 30
export const DEFAULT_DELETES_PER_MINUTE = 60
export const DEFAULT_MAX_EXPIRATION_SECONDS = 3600

/** The claims a rule may match: GitHub's (its discovery document's claims_supported). */
export const MATCHABLE_CLAIMS = new Set([
  'iss',
  'sub',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'ref',
  'ref_type',
  'ref_protected',
  'sha',
  'workflow',
  'workflow_ref',
  'workflow_sha',
  'job_workflow_ref',
  'job_workflow_sha',
  'event_name',
  'environment',
  'run_id',
  'run_number',
  'run_attempt',
  'actor',
  'actor_id',
  'head_ref',
  'base_ref',
  'runner_environment',
  'enterprise',
  'enterprise_id',
])

/** Claims that tie a rule to repositories: every repository on GitHub shares one issuer. */
const PINNING_CLAIMS = ['repository', 'repository_id', 'repository_owner', 'repository_owner_id']

/** Claims whose values are a fixed set of words: a `*` there would take in more than it says (`pull_request*`). */
const NO_STAR_CLAIMS = ['event_name']

const TOP_FIELDS = new Set(['project-id', 'audience', 'issuers', 'keys-per-minute', 'deletes-per-minute', 'rules'])
const RULE_FIELDS = new Set(['name', 'issuers', 'match', 'scopes', 'max-expiration', 'tags', 'allow-key-management'])

const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/** Reads and checks a policy. `source` names the file in messages. */
export function parsePolicy(text: string, source: string): Policy {
  let document: unknown
  try {
    document = parse(text, { uniqueKeys: true })
  } catch (error) {
    const why = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error)
    throw new PolicyError([`${source} is not valid YAML: ${why}`])
  }
  const problems: string[] = []
  const policy = readPolicy(document, problems)
  if (problems.length > 0) throw new PolicyError(problems.map((p) => `${source}: ${p}`))
  return policy
}

function readPolicy(document: unknown, problems: string[]): Policy {
  const top = asMapping(document)
  if (!top) {
    problems.push('is not a mapping of project-id, audience, issuers, keys-per-minute and rules')
    return { projectId: '', audience: '', issuers: [], keysPerMinute: 0, deletesPerMinute: 0, rules: [] }
  }
  unknownFields(top, TOP_FIELDS, '', problems)
  const projectId = top['project-id']
  if (typeof projectId !== 'string' || !isUuid(projectId))
    problems.push("project-id must be the project's UUID, as in the Deepgram console")
  const audience = top.audience
  if (typeof audience !== 'string' || audience.trim() === '') {
    problems.push('audience must be set: the aud every token must carry, such as the URL of this broker')
  } else if (/^https:\/\/github\.com(\/|$)/i.test(audience)) {
    problems.push(
      `audience '${audience}' is GitHub's default audience, which tokens get when they were not asked for this broker: give this broker's own, such as its URL`,
    )
  }
  const issuers = readIssuers(top.issuers, problems)
  return {
    projectId: typeof projectId === 'string' ? projectId.toLowerCase() : '',
    audience: typeof audience === 'string' ? audience : '',
    issuers,
    keysPerMinute: readPerMinute(top['keys-per-minute'], 'keys-per-minute', DEFAULT_KEYS_PER_MINUTE, problems),
    deletesPerMinute: readPerMinute(
      top['deletes-per-minute'],
      'deletes-per-minute',
      DEFAULT_DELETES_PER_MINUTE,
      problems,
    ),
    rules: readRules(top.rules, issuers, problems),
  }
}

function readIssuers(value: unknown, problems: string[]): string[] {
  if (value === undefined) return [GITHUB_ISSUER]
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`issuers must be a list of issuer URLs, such as [${GITHUB_ISSUER}]`)
    return []
  }
  return value.filter((issuer): issuer is string => {
    const why = issuerProblem(issuer)
    if (why) problems.push(`issuer ${JSON.stringify(issuer)} ${why}`)
    return why === undefined
  })
}

/**
 * What is wrong with an issuer, if anything. It must equal tokens' `iss` exactly, so no trailing
 * slash; https, since its keys decide who gets a key; plain http only on this machine.
 */
function issuerProblem(issuer: unknown): string | undefined {
  const forms = `Give ${GITHUB_ISSUER}, or https://HOST/_services/token for GitHub Enterprise Server`
  if (typeof issuer !== 'string') return `is not a URL. ${forms}`
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    return `is not a URL. ${forms}`
  }
  if (url.username || url.password || url.search || url.hash || issuer.includes('?') || issuer.includes('#'))
    return `must not carry credentials, a query or a fragment. ${forms}`
  if (issuer.endsWith('/')) return `ends with /, which tokens' iss never does. ${forms}`
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    return `is plain http to a host that is not this machine: anyone on the way could hand out keys. ${forms}`
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `is not an https URL. ${forms}`
  return undefined
}

function readPerMinute(value: unknown, field: string, byDefault: number, problems: string[]): number {
  if (value === undefined) return byDefault
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100_000) {
    problems.push(
      `${field} must be a whole number from 1 to 100000 (per repository, per broker instance); the default is ${byDefault}`,
    )
    return 0
  }
  return value
}

function readRules(value: unknown, issuers: string[], problems: string[]): Rule[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('rules must be a list of one or more rules (name, match, scopes, max-expiration, tags)')
    return []
  }
  const rules = value.map((item, index) => readRule(item, index, issuers, problems))
  const seen = new Set<string>()
  for (const rule of rules) {
    if (rule.name !== '' && seen.has(rule.name))
      problems.push(
        `rule ${rule.name}: the name is used by an earlier rule; names must be unique (the audit log names the rule)`,
      )
    seen.add(rule.name)
  }
  return rules
}

function readRule(item: unknown, index: number, issuers: string[], problems: string[]): Rule {
  const rule = asMapping(item)
  const name = typeof rule?.name === 'string' && RULE_NAME.test(rule.name) ? rule.name : ''
  const at = name ? `rule ${name}` : `rule ${index + 1}`
  if (!rule) {
    problems.push(`${at} is not a mapping of name, match, scopes, max-expiration, tags and allow-key-management`)
    return { name, issuers: [], match: [], scopes: [], maxExpirationSeconds: 0, tags: [], allowKeyManagement: false }
  }
  unknownFields(rule, RULE_FIELDS, `${at}: `, problems)
  if (!name) problems.push(`${at}: name must be set: letters, digits, '.', '_' or '-', at most 64`)
  const allowKeyManagement = rule['allow-key-management'] ?? false
  if (typeof allowKeyManagement !== 'boolean') problems.push(`${at}: allow-key-management must be true or false`)
  const scopes = lowerCase(readStrings(rule.scopes, `${at}: scopes`, isScope, SCOPE_FORM, problems))
  if (scopes.length === 0 && Array.isArray(rule.scopes))
    problems.push(`${at}: scopes must list at least one scope, such as usage:write`)
  for (const scope of scopes) {
    if (isManagementScope(scope) && allowKeyManagement !== true) {
      problems.push(
        `${at}: scope ${scope} can manage keys or the project (${whyManagement(scope)}); a rule grants it only with allow-key-management: true`,
      )
    }
  }
  return {
    name,
    issuers: readRuleIssuers(rule.issuers, issuers, at, problems),
    match: readMatch(rule.match, at, problems),
    scopes,
    maxExpirationSeconds: readMaxExpiration(rule['max-expiration'], at, problems),
    tags: rule.tags === undefined ? [] : readStrings(rule.tags, `${at}: tags`, isTag, TAG_FORM, problems),
    allowKeyManagement: allowKeyManagement === true,
  }
}

/**
 * The issuers a rule trusts. With one issuer in the policy, that one by default. With several,
 * each rule must name its own: repository ids are numbered per GitHub instance, so a rule on
 * `repository_id: "1001"` would otherwise trust repository 1001 of every instance.
 */
function readRuleIssuers(value: unknown, issuers: string[], at: string, problems: string[]): string[] {
  if (value === undefined) {
    if (issuers.length > 1)
      problems.push(
        `${at}: issuers must be set when the policy has several issuers: list the ones whose repositories this rule trusts (of ${issuers.join(', ')})`,
      )
    return issuers.length === 1 ? issuers : []
  }
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${at}: issuers must be a list of one or more of the policy's issuers (${issuers.join(', ')})`)
    return []
  }
  const unknown = value.filter((issuer) => typeof issuer !== 'string' || !issuers.includes(issuer))
  if (unknown.length > 0)
    problems.push(
      `${at}: issuers ${unknown.map((i) => JSON.stringify(i)).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not among the policy's issuers (${issuers.join(', ')})`,
    )
  return [
    ...new Set(value.filter((issuer): issuer is string => typeof issuer === 'string' && issuers.includes(issuer))),
  ]
}

function readMatch(value: unknown, at: string, problems: string[]): ClaimMatch[] {
  const match = asMapping(value)
  if (!match || Object.keys(match).length === 0) {
    problems.push(`${at}: match must map claims to values, such as repository_id: "1001"`)
    return []
  }
  const matches: ClaimMatch[] = []
  for (const [claim, pattern] of Object.entries(match)) {
    if (!MATCHABLE_CLAIMS.has(claim)) {
      problems.push(
        `${at}: match has an unknown claim ${JSON.stringify(claim)}; rules match GitHub's claims (${[...MATCHABLE_CLAIMS].join(', ')})`,
      )
    } else if (NO_STAR_CLAIMS.includes(claim) && typeof pattern === 'string' && pattern.includes('*')) {
      problems.push(
        `${at}: match ${claim} ${JSON.stringify(pattern)} has a *: ${claim} is one word of a fixed set, and a * would take in more than it says (pull_request* is also pull_request_target); list one value per rule`,
      )
    } else if (
      (typeof pattern === 'string' && pattern !== '') ||
      (typeof pattern === 'number' && Number.isSafeInteger(pattern))
    ) {
      matches.push({ claim, pattern: String(pattern) })
    } else {
      problems.push(`${at}: match ${claim} must be a non-empty string (quote numbers: repository_id: "1001")`)
    }
  }
  if (!matches.some(isPin)) {
    problems.push(
      `${at}: match pins no repository: it needs repository_id, repository_owner_id, repository_owner (no *) or repository (no * in the owner), ` +
        'since every repository on GitHub gets its tokens from the same issuer',
    )
  }
  return matches
}

/** Ties the rule to one owner at least: a `*` there would let any account in. */
function isPin({ claim, pattern }: ClaimMatch): boolean {
  if (!PINNING_CLAIMS.includes(claim)) return false
  if (claim === 'repository') return pattern.includes('/') && !pattern.slice(0, pattern.indexOf('/')).includes('*')
  return !pattern.includes('*')
}

function readMaxExpiration(value: unknown, at: string, problems: string[]): number {
  if (value === undefined) return DEFAULT_MAX_EXPIRATION_SECONDS
  const forms = `give a duration such as 30m, 1h or 7d (at most ${MAX_EXPIRATION_DAYS}d)`
  if (typeof value !== 'string' && typeof value !== 'number') {
    problems.push(`${at}: max-expiration must be a duration; ${forms}`)
    return 0
  }
  try {
    const expiration = parseExpiration(String(value), new Date(), Number.MAX_SAFE_INTEGER)
    if (expiration.kind !== 'ttl') throw new ExpirationError('is a date', 'Give a duration')
    if (expiration.seconds > MAX_EXPIRATION_SECONDS) {
      problems.push(`${at}: max-expiration ${value} is over ${MAX_EXPIRATION_DAYS} days, the longest any key may live`)
      return 0
    }
    return expiration.seconds
  } catch (error) {
    if (!(error instanceof ExpirationError)) throw error
    problems.push(`${at}: max-expiration ${JSON.stringify(value)} is not a duration; ${forms}`)
    return 0
  }
}

function readStrings(
  value: unknown,
  what: string,
  isForm: (text: string) => boolean,
  forms: string,
  problems: string[],
): string[] {
  if (!Array.isArray(value)) {
    problems.push(`${what} must be a list of ${forms}`)
    return []
  }
  const bad = value.filter((v) => typeof v !== 'string' || !isForm(v))
  if (bad.length > 0)
    problems.push(
      `${what}: ${bad.map((v) => JSON.stringify(v)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not ${forms}`,
    )
  return [...new Set(value.filter((v): v is string => typeof v === 'string' && isForm(v)))]
}

/** Scopes in lower case, once each: they are compared without regard to case. */
export function lowerCase(scopes: readonly string[]): string[] {
  return [...new Set(scopes.map((scope) => scope.toLowerCase()))]
}

function unknownFields(mapping: Record<string, unknown>, known: Set<string>, at: string, problems: string[]): void {
  for (const field of Object.keys(mapping)) {
    if (!known.has(field))
      problems.push(`${at}unknown field ${JSON.stringify(field)} (known: ${[...known].join(', ')})`)
  }
}

function asMapping(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}
