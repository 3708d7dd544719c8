import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

// Every key the action or the broker mints ends its comment with a short marker. Deepgram's key
// listing shows comments, so the marker is how an invocation finds its own key after a lost
// answer, how a rotation finds the earlier keys of the same secret, and how the broker knows a
// key is one it minted for a given repository. A key whose comment does not end in a marker that
// parses is never ours, however similar its comment.
//
//   action:  "<comment> [dgk:<invocation>]"                     one invocation's key
//            "<comment> [dgk:<invocation>:<secret digest>]"     a key written to a secret
//   broker:  "<comment> [dgkb:<invocation>[:<secret digest>]:<repository id>:<mac>]"
//
// <invocation> is 16 random hex digits (64 bits), new for each invocation; <secret digest> is 12
// hex digits of SHA-256 over the secret's identity (name, type, targets); <mac> is 16 hex digits
// of an HMAC only the broker can compute, so nobody else can make a key the broker would delete.
// The MAC covers the token's issuer as well as the repository id: numeric ids are unique only
// within one GitHub instance, so the same id on another instance must never own the key.

export interface ActionMarker {
  kind: 'action'
  invocation: string
  /** Set when the key is written to a secret: identifies the secret and its targets. */
  secret?: string
}

export interface BrokerMarker {
  kind: 'broker'
  invocation: string
  /** The digest of the secret the caller writes the key to, when it named one. */
  secret?: string
  repositoryId: string
  mac: string
}

/** Whom a broker key belongs to: a repository of one issuer (one GitHub instance). */
export interface BrokerOwner {
  issuer: string
  repositoryId: string
}

export type Marker = ActionMarker | BrokerMarker

const ACTION_MARKER = / \[dgk:([0-9a-f]{16})(?::([0-9a-f]{12}))?\]$/
const BROKER_MARKER = / \[dgkb:([0-9a-f]{16})(?::([0-9a-f]{12}))?:([0-9]{1,20}):([0-9a-f]{16})\]$/

/** A fresh invocation id: 16 hex digits. */
export function newInvocationId(random: (bytes: number) => Buffer = pooledRandomBytes): string {
  return random(8).toString('hex')
}

/** Random bytes drawn this many at a time: one system call serves 512 invocation ids of the broker's. */
const RANDOM_POOL_BYTES = 4096
let pool = Buffer.alloc(0)
let taken = 0

/** randomBytes, from a pool that is never handed out twice. */
function pooledRandomBytes(bytes: number): Buffer {
  if (taken + bytes > pool.length) {
    pool = randomBytes(Math.max(RANDOM_POOL_BYTES, bytes))
    taken = 0
  }
  taken += bytes
  return pool.subarray(taken - bytes, taken)
}

export function isInvocationId(value: string): boolean {
  return /^[0-9a-f]{16}$/.test(value)
}

/** 12 hex digits naming a secret and its targets; `identity` must be canonical (sorted, lower-cased). */
export function secretDigest(identity: string): string {
  return createHash('sha256').update(identity).digest('hex').slice(0, 12)
}

export function formatMarker(marker: Marker): string {
  if (marker.kind === 'broker')
    return ` [dgkb:${marker.invocation}${marker.secret ? `:${marker.secret}` : ''}:${marker.repositoryId}:${marker.mac}]`
  return ` [dgk:${marker.invocation}${marker.secret ? `:${marker.secret}` : ''}]`
}

/** The marker a comment ends with, or undefined when it ends with none. */
export function parseMarker(comment: string): Marker | undefined {
  const action = ACTION_MARKER.exec(comment)
  if (action) return { kind: 'action', invocation: action[1] ?? '', ...(action[2] ? { secret: action[2] } : {}) }
  const broker = BROKER_MARKER.exec(comment)
  if (broker)
    return {
      kind: 'broker',
      invocation: broker[1] ?? '',
      ...(broker[2] ? { secret: broker[2] } : {}),
      repositoryId: broker[3] ?? '',
      mac: broker[4] ?? '',
    }
  return undefined
}

/** The comment with its marker appended. */
export function withMarker(comment: string, marker: Marker): string {
  return `${comment}${formatMarker(marker)}`
}

/**
 * The broker's MAC over the owner (issuer and repository id), the invocation and the secret
 * digest, keyed by a secret only the broker holds. Fields are joined with NUL, which none holds.
 */
export function brokerMac(macKey: string, owner: BrokerOwner, invocation: string, secret = ''): string {
  return hmac16(macKey, ['dgkb2', owner.issuer, invocation, secret, owner.repositoryId].join('\u0000'))
}

/** The MAC of markers written before it covered the issuer: the invocation and the repository id. */
function legacyBrokerMac(macKey: string, invocation: string, repositoryId: string): string {
  return hmac16(macKey, `${invocation}:${repositoryId}`)
}

function hmac16(macKey: string, text: string): string {
  return createHmac('sha256', macKey).update(text).digest('hex').slice(0, 16)
}

export function brokerMarker(macKey: string, owner: BrokerOwner, invocation: string, secret?: string): BrokerMarker {
  return {
    kind: 'broker',
    invocation,
    ...(secret ? { secret } : {}),
    repositoryId: owner.repositoryId,
    mac: brokerMac(macKey, owner, invocation, secret),
  }
}

/**
 * True when the marker is the broker's own, for this owner. `acceptLegacy` also accepts the MAC
 * of markers written before the issuer was covered (no secret digest): right only while the
 * broker trusts a single issuer, the one every such key was minted for.
 */
export function isBrokerMarkerFor(
  marker: Marker | undefined,
  macKey: string,
  owner: BrokerOwner,
  acceptLegacy = false,
): boolean {
  if (marker?.kind !== 'broker' || marker.repositoryId !== owner.repositoryId) return false
  if (sameMac(marker.mac, brokerMac(macKey, owner, marker.invocation, marker.secret))) return true
  return (
    acceptLegacy &&
    marker.secret === undefined &&
    sameMac(marker.mac, legacyBrokerMac(macKey, marker.invocation, owner.repositoryId))
  )
}

function sameMac(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
