// `npm run bench`, the usage report: round trips on the critical path of the post step with the
// report (usage-report: auto) and without it (false), measured like the other round trips: the
// median over alternating pairs of runs of (wall time with 100 ms latency per request - wall time
// with none) / 100 ms. Each post deletes a key of its own, minted (and used once) just before,
// untimed. The report reads usage, cost and the request log at once: it should add one round trip.
import { DEFAULT_ACCOUNT, startDeepgramEmulator, type DeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { silentWav } from '../harness/deepgram-usage.ts'
import { runStep, runTimedStep } from '../harness/runner.ts'

const PAIRS = 15
const LATENCY_MS = 100
/** What the report may add to post: one round trip (and some noise). */
const TARGET = 1.2

type Row = { label: string; value: string; target?: { text: string; met: boolean } }

export async function measureUsageRoundTrips(): Promise<Row[]> {
  const deepgram = await startDeepgramEmulator({})
  try {
    const without = await postRoundTrips(deepgram, 'false')
    const withReport = await postRoundTrips(deepgram, 'auto')
    const added = withReport.median - without.median
    return [
      { label: 'post, usage-report: false', value: without.text },
      { label: 'post, usage-report: auto (the default)', value: withReport.text },
      {
        label: 'added by the report',
        value: `${added.toFixed(2)} round trips`,
        target: { text: `≤ ${TARGET} (one)`, met: added <= TARGET },
      },
    ]
  } finally {
    await deepgram.close()
  }
}

async function postRoundTrips(
  deepgram: DeepgramEmulator,
  usageReport: string,
): Promise<{ median: number; text: string }> {
  const inputs = {
    'api-key': DEFAULT_ACCOUNT.apiKey,
    'deepgram-api-url': deepgram.url,
    tags: 'bench',
    'usage-report': usageReport,
  }
  const timedPost = async (latencyMs: number): Promise<number> => {
    deepgram.setLatency(0)
    const main = await runStep('main', { inputs })
    if (main.exitCode !== 0) throw new Error(`the main step failed:\n${main.stdout}${main.stderr}`)
    await fetch(`${deepgram.url}/v1/listen`, {
      method: 'POST',
      headers: { authorization: `Token ${main.outputs['key'] ?? ''}` },
      body: silentWav(1),
    })
    deepgram.setLatency(latencyMs)
    const before = deepgram.requests.length
    const { run, wallMs } = await runTimedStep('post', { inputs, state: main.state })
    if (run.exitCode !== 0 || !run.stdout.includes('Revoked key'))
      throw new Error(`the post step did not revoke:\n${run.stdout}${run.stderr}`)
    requests = deepgram.requests.length - before
    return wallMs
  }
  let requests = 0
  await timedPost(0)
  const trips: number[] = []
  for (let i = 0; i < PAIRS; i++) {
    const without = await timedPost(0)
    const withLatency = await timedPost(LATENCY_MS)
    trips.push((withLatency - without) / LATENCY_MS)
  }
  const sorted = [...trips].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN
  return {
    median,
    text: `${median.toFixed(2)} round trips  (${PAIRS} pairs, from ${Math.min(...trips).toFixed(2)} to ${Math.max(...trips).toFixed(2)}; ${requests} requests)`,
  }
}
