// `npm run bench`, temporary tokens: round trips on the critical path of a main step with
// credential: token (aim: 1, the grant alone), measured like the secret-writing ones: the median
// over alternating pairs of runs of (wall time with 100 ms latency per request - wall time with
// none) / 100 ms, so that start-up and CPU cancel out.
import { DEFAULT_ACCOUNT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { runTimedStep } from '../harness/runner.ts'

const PAIRS = 9
const LATENCY_MS = 100
const TARGET = 1.2

export async function measureTokenRoundTrips(): Promise<
  { label: string; value: string; target: { text: string; met: boolean } }[]
> {
  const deepgram = await startDeepgramEmulator({})
  try {
    const inputs = {
      'api-key': DEFAULT_ACCOUNT.apiKey,
      'deepgram-api-url': deepgram.url,
      credential: 'token',
      expiration: '1h',
    }
    const timedRun = async (latencyMs: number): Promise<number> => {
      deepgram.setLatency(latencyMs)
      const { run, wallMs } = await runTimedStep('main', { inputs })
      if (run.exitCode !== 0)
        throw new Error(`the main step failed (exit ${run.exitCode}):\n${run.stdout}${run.stderr}`)
      return wallMs
    }
    await timedRun(0)
    const trips: number[] = []
    for (let i = 0; i < PAIRS; i++) {
      const without = await timedRun(0)
      const withLatency = await timedRun(LATENCY_MS)
      trips.push((withLatency - without) / LATENCY_MS)
    }
    const sorted = [...trips].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)] ?? NaN
    return [
      {
        label: 'a token, direct mode',
        value: `${median.toFixed(2)} round trips  (${PAIRS} pairs, from ${Math.min(...trips).toFixed(2)} to ${Math.max(...trips).toFixed(2)}; ${deepgram.requests.length / (2 * PAIRS + 1)} request per run)`,
        target: { text: `≤ ${TARGET}`, met: median <= TARGET },
      },
    ]
  } finally {
    await deepgram.close()
  }
}
