// Whether the broker is ready to mint, for GET /readyz: every issuer's key set fetched once (the
// broker fetches them as it starts, and retries), nothing it needs blocked (a shared rate-limit
// store that does not answer), and not draining after SIGTERM. The policy and the settings need
// no check: the broker does not listen without them.
export class Readiness {
  private waiting: Set<string>
  private readonly fetched = new Set<string>()
  private draining = false
  /** What the broker cannot serve without and lacks now, with why. */
  private readonly blocked = new Map<string, string>()

  constructor(issuers: readonly string[]) {
    this.waiting = new Set(issuers)
  }

  keySetFetched(issuer: string): void {
    this.fetched.add(issuer)
    this.waiting.delete(issuer)
  }

  /**
   * A reloaded policy names these issuers. Until the broker is first ready, it waits for the keys
   * of every issuer of the policy in force. Once ready, a reload never takes it out of service:
   * every replica reloads the same file, and tokens of a new issuer whose keys have not come yet
   * are answered 503 issuer_unavailable while the rest are served.
   */
  issuersChanged(issuers: readonly string[]): void {
    if (this.waiting.size === 0) return
    this.waiting = new Set(issuers.filter((issuer) => !this.fetched.has(issuer)))
  }

  get keySetsFetched(): boolean {
    return this.waiting.size === 0
  }

  /** `why` the dependency `name` is missing, or undefined once it is back. */
  block(name: string, why: string | undefined): void {
    if (why === undefined) this.blocked.delete(name)
    else this.blocked.set(name, why)
  }

  drain(): void {
    this.draining = true
  }

  /** Why the broker should get no new requests, or undefined when it should. */
  notReadyBecause(): string | undefined {
    if (this.draining)
      return 'The broker is shutting down (SIGTERM): it finishes the requests it has and takes no more.'
    if (this.waiting.size > 0)
      return `The keys of ${this.waiting.size} issuer${this.waiting.size === 1 ? '' : 's'} of the policy have not been fetched yet; the broker keeps trying.`
    const [blocked] = this.blocked.values()
    return blocked
  }
}
