/** The error of class `kind` that `run` throws; fails the test when it throws none or something else. */
export function thrownBy<E extends Error>(kind: new (...args: never[]) => E, run: () => unknown): E {
  try {
    run()
  } catch (error) {
    if (error instanceof kind) return error
    throw error
  }
  throw new Error(`nothing was thrown, and a ${kind.name} was expected`)
}
