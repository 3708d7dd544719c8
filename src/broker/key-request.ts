// The body of POST /v1/keys, checked field by field, and what the matched rule lets it have.
import { isJsonObject } from '../shared/json.ts'
import { unprintableIn } from '../shared/printable.ts'
import { ExpirationError, parseExpiration, type Expiration } from '../deepgram/expiration.ts'
import { isScope, SCOPE_FORM } from '../deepgram/scopes.ts'
import { isTag, MAX_TAGS, TAG_FORM } from '../deepgram/tags.ts'
import { lowerCase, type Rule } from './policy/policy.ts'
import { badRequest, forbidden } from './refusal.ts'

export interface KeyRequestBody {
  scopes?: string[]
  /** A duration or date-time as the action accepts it, or seconds. */
  expiration?: string | number
  tags?: string[]
  comment?: string
  /** The caller's invocation id (16 hex digits), carried by the key's marker. */
  invocation?: string
  /** The digest of the secret the caller writes the key to (12 hex digits), carried by the marker. */
  secret?: string
}

/** The terms of the key the broker will ask Deepgram for, as the matched rule allows them. */
export interface KeyTerms {
  scopes: string[]
  expiration: Expiration
  tags: string[]
  /** Without the marker, which minting appends. */
  comment: string
}

const FIELDS = new Set(['scopes', 'expiration', 'tags', 'comment', 'invocation', 'secret'])
const FIELD_LIST = 'scopes, expiration, tags, comment, invocation and secret'
const MAX_COMMENT = 200
/** A key request nests two deep (an object of lists); anything much deeper is not one. */
export const MAX_DEPTH = 8

/** Parses and checks the body; an empty body asks for the rule's defaults. */
export function parseKeyRequest(body: string): KeyRequestBody {
  if (body.trim() === '') return {}
  if (nestingDepth(body) > MAX_DEPTH)
    throw badRequest(`The body nests deeper than ${MAX_DEPTH} levels; a key request is an object of strings and lists.`)
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    throw badRequest(`The body is not JSON. Send an object with any of ${FIELD_LIST}, or no body for the defaults.`)
  }
  if (!isJsonObject(value)) throw badRequest(`The body must be a JSON object with any of ${FIELD_LIST}.`)
  const fields = value
  const unknown = Object.keys(fields).filter((name) => !FIELDS.has(name))
  if (unknown.length > 0)
    throw badRequest(
      `The body has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}; the fields are ${FIELD_LIST}.`,
    )
  const request: KeyRequestBody = {}
  if (fields.scopes !== undefined)
    request.scopes = lowerCase(readList(fields.scopes, 'scopes', isScope, SCOPE_FORM, 1, 50))
  if (fields.tags !== undefined) request.tags = readList(fields.tags, 'tags', isTag, TAG_FORM, 0, MAX_TAGS)
  if (fields.expiration !== undefined) {
    const expiration = fields.expiration
    if (
      typeof expiration !== 'string' &&
      !(typeof expiration === 'number' && Number.isSafeInteger(expiration) && expiration > 0)
    ) {
      throw badRequest(
        'expiration must be a duration such as "30m" or "2h", an ISO 8601 date-time with a zone, or a whole number of seconds.',
      )
    }
    request.expiration = expiration
  }
  if (fields.comment !== undefined) request.comment = readComment(fields.comment)
  if (fields.invocation !== undefined)
    request.invocation = readHex(
      fields.invocation,
      'invocation',
      16,
      'the invocation id the caller saved before sending',
    )
  if (fields.secret !== undefined)
    request.secret = readHex(
      fields.secret,
      'secret',
      12,
      'the digest of the secret the key is written to (secretDigest of its name, type and targets)',
    )
  return request
}

function readComment(comment: unknown): string {
  if (typeof comment !== 'string' || comment.length > MAX_COMMENT)
    throw badRequest(`comment must be a string of at most ${MAX_COMMENT} characters of printable text.`)
  const unprintable = unprintableIn(comment)
  if (unprintable)
    throw badRequest(
      `comment holds ${unprintable}; give printable text only: no control, line-separator, bidirectional-text or zero-width characters.`,
    )
  return comment.trim()
}

function readHex(value: unknown, name: string, digits: number, what: string): string {
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-f]{${digits}}$`).test(value))
    throw badRequest(`${name} must be exactly ${digits} lower-case hex digits: ${what}.`)
  return value
}

/** How deep `[` and `{` nest in JSON text, strings skipped: checked before parsing, in one pass. */
export function nestingDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (inString) {
      if (char === '\\') i++
      else if (char === '"') inString = false
    } else if (char === '"') {
      inString = true
    } else if (char === '[' || char === '{') {
      deepest = Math.max(deepest, ++depth)
    } else if (char === ']' || char === '}') {
      depth--
    }
  }
  return deepest
}

function readList(
  value: unknown,
  name: string,
  isForm: (text: string) => boolean,
  forms: string,
  min: number,
  max: number,
): string[] {
  if (!Array.isArray(value) || value.length < min || value.length > max)
    throw badRequest(`${name} must be a list of ${min === 0 ? 'at most' : `${min} to`} ${max} ${forms}.`)
  const bad = (value as unknown[]).find((item) => typeof item !== 'string' || !isForm(item))
  if (bad !== undefined) throw badRequest(`${name}: ${JSON.stringify(bad)} is not one of ${forms}.`)
  return [...new Set(value as string[])]
}

/** Who the key is for, as the comment names it. */
export interface Holder {
  repository: string
  runId: string
  runAttempt: string
}

/**
 * The key the rule lets this request have: the requested scopes if the rule has them all (else
 * 403), the requested lifetime if within the rule's max-expiration (else 403), the rule's tags and
 * the requested ones, and a comment naming the repository, the run and the rule.
 */
export function keyTermsFor(rule: Rule, request: KeyRequestBody, holder: Holder, now: Date): KeyTerms {
  const scopes = request.scopes ?? rule.scopes
  const extra = scopes.filter((scope) => !rule.scopes.includes(scope))
  if (extra.length > 0) {
    throw forbidden(
      'scope_not_allowed',
      `Rule ${rule.name} does not grant ${extra.join(', ')}; it grants at most ${rule.scopes.join(', ')}.`,
    )
  }
  const expiration = requestedExpiration(request.expiration, rule, now)
  const seconds = expiration.kind === 'ttl' ? expiration.seconds : (expiration.date.getTime() - now.getTime()) / 1000
  if (seconds > rule.maxExpirationSeconds) {
    throw forbidden(
      'lifetime_not_allowed',
      `The key would live ${Math.ceil(seconds)} s; rule ${rule.name} allows at most ${rule.maxExpirationSeconds} s (max-expiration).`,
    )
  }
  const about = `${holder.repository} run ${holder.runId}.${holder.runAttempt}, rule ${rule.name}`
  return {
    scopes,
    expiration,
    tags: [...new Set([...rule.tags, ...(request.tags ?? [])])],
    comment: request.comment ? `${request.comment} (${about})` : about,
  }
}

function requestedExpiration(value: string | number | undefined, rule: Rule, now: Date): Expiration {
  if (value === undefined) return { kind: 'ttl', seconds: Math.min(3600, rule.maxExpirationSeconds) }
  if (typeof value === 'number') return { kind: 'ttl', seconds: value }
  try {
    // The rule's max-expiration (at most 90 days) is checked next, as a refusal of the lifetime.
    return parseExpiration(value, now, Number.MAX_SAFE_INTEGER)
  } catch (error) {
    if (error instanceof ExpirationError) throw badRequest(`expiration ${error.message}`)
    throw error
  }
}
