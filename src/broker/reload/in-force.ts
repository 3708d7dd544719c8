// What the broker serves with, rebuilt whenever the policy or the admin key is reloaded. Each
// request takes the one in force when it arrives and keeps it to the end: a reload never changes
// the rules, the limits or the admin key of a request already under way.
import { markerSecret, type MacKeys } from '../ownership.ts'
import type { Policy } from '../policy.ts'

/** The admin key in use, and the marker secrets of every admin key this process has used, newest first. */
export interface AdminKeyring {
  adminKey: string
  /**
   * The first signs new keys' markers; every one is accepted on deletion, so keys minted under an
   * earlier admin key stay deletable through the broker after a rotation (ownership.ts).
   */
  macKeys: MacKeys
}

/** Enough for a weekly rotation to outlast the longest key (90 days), and a bound on the checks per key. */
const MAC_KEYS_KEPT = 16

export class InForce<T> {
  private readonly build: (policy: Policy, keyring: AdminKeyring) => T
  private policyInForce: Policy
  private keyring: AdminKeyring
  private built: T

  constructor(policy: Policy, adminKey: string, build: (policy: Policy, keyring: AdminKeyring) => T) {
    this.build = build
    this.policyInForce = policy
    this.keyring = { adminKey, macKeys: [markerSecret(adminKey)] }
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
    const macKey = markerSecret(adminKey)
    this.keyring = {
      adminKey,
      macKeys: [macKey, ...this.keyring.macKeys.filter((known) => known !== macKey).slice(0, MAC_KEYS_KEPT - 1)],
    }
    this.built = this.build(this.policyInForce, this.keyring)
  }
}

/** `make`'s result for the latest argument, made again only when it changes: a reload that keeps keys-per-minute keeps the counts. */
export function latest<A, T>(make: (argument: A) => T): (argument: A) => T {
  let last: { argument: A; made: T } | undefined
  return (argument) => {
    if (last?.argument !== argument) last = { argument, made: make(argument) }
    return last.made
  }
}
