/**
 * The requests being answered, so that SIGTERM can wait for every one to end (a mint finishes,
 * or its key is deleted, and is audited) while requests still sending their body are cut at once:
 * they have cost nothing yet, and could hold the drain for as long as a client likes.
 */
export class Drain {
  private readonly open = new Set<Promise<void>>()
  private readonly readers = new Set<() => void>()
  private stopping = false

  get draining(): boolean {
    return this.stopping
  }

  /** Counts `work` as open until it settles. */
  track(work: Promise<void>): void {
    this.open.add(work)
    void work.finally(() => this.open.delete(work))
  }

  /** A request whose body is being read; `cut` ends it if the drain begins meanwhile. Call what it returns once the body is read. */
  reading(cut: () => void): () => void {
    if (this.stopping) {
      cut()
      return () => undefined
    }
    this.readers.add(cut)
    return () => this.readers.delete(cut)
  }

  /** Stops taking work: cuts every request still being read. */
  begin(): void {
    this.stopping = true
    for (const cut of this.readers) cut()
    this.readers.clear()
  }

  /** Resolves once every tracked request has ended. */
  async settled(): Promise<void> {
    while (this.open.size > 0) await Promise.allSettled([...this.open])
  }
}
