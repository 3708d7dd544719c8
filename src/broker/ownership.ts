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
 * The secret behind the markers' MACs, derived from the admin key so that every copy of the
 * broker agrees without more configuration. Rotating the admin key changes it: keys minted
 * before can then no longer be deleted through the broker (they still expire).
 */
export function markerSecret(adminKey: string): string {
  return createHmac('sha256', adminKey).update('deepgram-key-broker marker v1').digest('hex')
}

export class Ownership {
  private readonly macKey: string
  /** Markers from before the MAC covered the issuer: all minted for the one issuer then trusted. */
  private readonly acceptLegacy: boolean

  /** `issuers`: the policy's. The old marker form is honoured only while there is exactly one. */
  constructor(macKey: string, issuers: readonly string[]) {
    this.macKey = macKey
    this.acceptLegacy = issuers.length === 1
  }

  markerFor(owner: BrokerOwner, invocation: string, secret?: string): BrokerMarker {
    return brokerMarker(this.macKey, owner, invocation, secret)
  }

  /** The key's marker when this broker minted it for `owner`, else undefined. */
  markerOwnedBy(key: ProjectKey, owner: BrokerOwner): BrokerMarker | undefined {
    const marker = parseMarker(key.comment)
    return marker?.kind === 'broker' && isBrokerMarkerFor(marker, this.macKey, owner, this.acceptLegacy)
      ? marker
      : undefined
  }
}
