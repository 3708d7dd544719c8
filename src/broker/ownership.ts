// Which keys are whose. The broker keeps no state: a key's marker says whom it was minted for
// (see src/deepgram/marker.ts), and its MAC, which only the broker can compute, proves it.
import { createHmac } from 'node:crypto'
import type { ProjectKey } from '../deepgram/client.ts'
import {
  brokerMarker,
  isBrokerMarkerFor,
  parseMarker,
  type BrokerMarker,
  type BrokerOwner,
} from '../deepgram/marker.ts'

/**
 * The secret behind the markers' MACs when no marker secret is set (reload/marker-secret.ts),
 * derived from the admin key so that every copy of the broker agrees without more configuration.
 * Rotating the admin key changes it, so the broker keeps the secrets of the admin keys it used
 * before (reload/in-force.ts): keys minted under them stay deletable through it, though not
 * through a broker started after the rotation. Markers signed with it stay accepted once a
 * marker secret is set.
 */
export function adminKeyMarkerSecret(adminKey: string): string {
  return createHmac('sha256', adminKey).update('deepgram-key-broker marker v1').digest('hex')
}

/** Marker secrets, newest first: never none. */
export type MacKeys = readonly [string, ...string[]]

export class Ownership {
  private readonly macKeys: MacKeys
  /** Markers from before the MAC covered the issuer: all minted for the one issuer then trusted. */
  private readonly acceptLegacy: boolean

  /**
   * `macKeys`: the first signs new markers, and a marker signed with any of them is the broker's
   * (earlier marker secrets, and the secrets of admin keys). `issuers`: the policy's. The old marker form is honoured
   * only while there is exactly one.
   */
  constructor(macKeys: MacKeys, issuers: readonly string[]) {
    this.macKeys = macKeys
    this.acceptLegacy = issuers.length === 1
  }

  markerFor(owner: BrokerOwner, invocation: string, secret?: string): BrokerMarker {
    return brokerMarker(this.macKeys[0], owner, invocation, secret)
  }

  /** The key's marker when this broker minted it for `owner`, else undefined. */
  markerOwnedBy(key: ProjectKey, owner: BrokerOwner): BrokerMarker | undefined {
    const marker = parseMarker(key.comment)
    if (marker?.kind !== 'broker' || marker.repositoryId !== owner.repositoryId) return undefined
    return this.macKeys.some((macKey) => isBrokerMarkerFor(marker, macKey, owner, this.acceptLegacy))
      ? marker
      : undefined
  }
}
