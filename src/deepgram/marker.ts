import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

// Every key the action or the broker mints ends its comment with a short marker. Deepgram's key
// listing shows comments, so the marker is how an invocation finds its own key after a lost
// answer, how a rotation finds the earlier keys of the same secret, and how the broker knows a
// key is one it minted for a given repository. A key whose comment does not end in a marker that
// parses is never ours, however similar its comment.
//
//   action:  "<comment> [dgk:<invocation>]"                     one invocation's key
//            "<comment> [dgk:<invocation>:<secret digest>]"     a key written to a secret
//   broker:  "<comment> [dgkb:<invocation>:<repository id>:<mac>]"
//
// <invocation> is 16 random hex digits (64 bits), new for each invocation; <secret digest> is 12
// hex digits of SHA-256 over the secret's identity (name, type, targets); <mac> is 16 hex digits
// of an HMAC only the broker can compute, so nobody else can make a key the broker would delete.

export interface ActionMarker {
  kind: 'action'
  invocation: string
  /** Set when the key is written to a secret: identifies the secret and its targets. */
  secret?: string
}

export interface BrokerMarker {
  kind: 'broker'
  invocation: string
  repositoryId: string
  mac: string
}

export type Marker = ActionMarker | BrokerMarker

const ACTION_MARKER = / \[dgk:([0-9a-f]{16})(?::([0-9a-f]{12}))?\]$/
const BROKER_MARKER = / \[dgkb:([0-9a-f]{16}):([0-9]{1,20}):([0-9a-f]{16})\]$/

/** A fresh invocation id: 16 hex digits. */
export function newInvocationId(random: (bytes: number) => Buffer = randomBytes): string {
  return random(8).toString('hex')
}

export function isInvocationId(value: string): boolean {
  return /^[0-9a-f]{16}$/.test(value)
}

/** 12 hex digits naming a secret and its targets; `identity` must be canonical (sorted, lower-cased). */
export function secretDigest(identity: string): string {
  return createHash('sha256').update(identity).digest('hex').slice(0, 12)
}

export function formatMarker(marker: Marker): string {
  if (marker.kind === 'broker') return ` [dgkb:${marker.invocation}:${marker.repositoryId}:${marker.mac}]`
  return ` [dgk:${marker.invocation}${marker.secret ? `:${marker.secret}` : ''}]`
}

/** The marker a comment ends with, or undefined when it ends with none. */
export function parseMarker(comment: string): Marker | undefined {
  const action = ACTION_MARKER.exec(comment)
  if (action) return { kind: 'action', invocation: action[1] ?? '', ...(action[2] ? { secret: action[2] } : {}) }
  const broker = BROKER_MARKER.exec(comment)
  if (broker) return { kind: 'broker', invocation: broker[1] ?? '', repositoryId: broker[2] ?? '', mac: broker[3] ?? '' }
  return undefined
}

/** The comment with its marker appended. */
export function withMarker(comment: string, marker: Marker): string {
  return `${comment}${formatMarker(marker)}`
}

/** The broker's MAC over an invocation and a repository, keyed by a secret only the broker holds. */
export function brokerMac(secret: string, invocation: string, repositoryId: string): string {
  return createHmac('sha256', secret).update(`${invocation}:${repositoryId}`).digest('hex').slice(0, 16)
}

export function brokerMarker(secret: string, invocation: string, repositoryId: string): BrokerMarker {
  return { kind: 'broker', invocation, repositoryId, mac: brokerMac(secret, invocation, repositoryId) }
}

/** True when the marker is the broker's own, for this repository. */
export function isBrokerMarkerFor(marker: Marker | undefined, secret: string, repositoryId: string): boolean {
  if (marker?.kind !== 'broker' || marker.repositoryId !== repositoryId) return false
  const expected = Buffer.from(brokerMac(secret, marker.invocation, repositoryId))
  const given = Buffer.from(marker.mac)
  return expected.length === given.length && timingSafeEqual(expected, given)
}
