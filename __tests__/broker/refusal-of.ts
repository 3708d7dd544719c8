import { Refusal } from '../../src/broker/refusal.ts'

/** The Refusal `run` throws; fails the test when it throws none or something else. */
export function refusalOf(run: () => unknown): Refusal {
  try {
    run()
  } catch (error) {
    if (error instanceof Refusal) return error
    throw error
  }
  throw new Error('no refusal')
}
