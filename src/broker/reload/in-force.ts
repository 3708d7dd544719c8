// What the broker serves with, rebuilt whenever the policy, the admin key or the marker secret is
// reloaded. Each request takes the one in force when it arrives and keeps it to the end: a reload
// never changes the rules, the limits or the admin key of a request already under way.
import { adminKeyMarkerSecret, type MacKeys } from '../ownership.ts'
import type { Policy } from '../policy/policy.ts'

/** The admin key in use, and the secrets of every marker this process would call its own, newest first. */
export interface AdminKeyring {
  adminKey: string
  /**
   * The first signs new keys' markers: the marker secret when one is set, else the admin key's.
   * Every one is accepted on deletion, so keys minted under an earlier admin key or marker secret
   * stay deletable through the broker after a rotation (ownership.ts).
   */
  macKeys: MacKeys
}

/** Enough for a weekly rotation to outlast the longest key (90 days), and a bound on the checks per key. */
const MAC_KEYS_KEPT = 16

export class InForce<T> {
  private readonly build: (policy: Policy, keyring: AdminKeyring) => T
  private policyInForce: Policy
  private markerSecret: string | undefined
  private keyring: AdminKeyring
  private built: T

  /** `markerSecret`: BROKER_MARKER_SECRET(_FILE), when set; else markers are signed with the admin key's secret. */
  constructor(
    policy: Policy,
    { adminKey, markerSecret }: { adminKey: string; markerSecret?: string | undefined },
    build: (policy: Policy, keyring: AdminKeyring) => T,
  ) {
    this.build = build
    this.policyInForce = policy
    this.markerSecret = markerSecret
    this.keyring = keyring(adminKey, markerSecret, [])
    this.built = build(policy, this.keyring)
  }

  get value(): T {
    return this.built
  }

  get policy(): Policy {
    return this.policyInForce
  }

  get adminKey(): string {
    return this.keyring.adminKey
  }

  usePolicy(policy: Policy): void {
    this.policyInForce = policy
    this.built = this.build(policy, this.keyring)
  }

  useAdminKey(adminKey: string): void {
    if (adminKey === this.keyring.adminKey) return
    this.rekey(keyring(adminKey, this.markerSecret, this.keyring.macKeys))
  }

  /** Only when a marker secret was set as the broker started: its absence is not a change. */
  useMarkerSecret(markerSecret: string): void {
    if (markerSecret === this.markerSecret) return
    this.markerSecret = markerSecret
    this.rekey(keyring(this.keyring.adminKey, markerSecret, this.keyring.macKeys))
  }

  private rekey(next: AdminKeyring): void {
    this.keyring = next
    this.built = this.build(this.policyInForce, this.keyring)
  }
}

/**
 * The signing secret first, then the admin key's own (markers other replicas sign while they run
 * without a marker secret), then the earlier ones, each once, at most MAC_KEYS_KEPT.
 */
function keyring(adminKey: string, markerSecret: string | undefined, earlier: readonly string[]): AdminKeyring {
  const own = adminKeyMarkerSecret(adminKey)
  const [first, ...rest] = [...new Set([markerSecret ?? own, own, ...earlier])].slice(0, MAC_KEYS_KEPT)
  return { adminKey, macKeys: [first ?? own, ...rest] }
}
