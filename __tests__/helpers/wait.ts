/**
 * Waits for an event that a test can only see by looking (a request that reached an emulator, an
 * audit line, a file): checks `condition` every 10 ms and fails, naming `what`, after `timeoutMs`.
 * The budget is generous on purpose: it is spent only when the event never comes, and a busy
 * machine must not turn a slow event into a failure.
 */
export async function waitFor<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await condition()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}, in vain`)
    await new Promise((done) => setTimeout(done, 10))
  }
}
