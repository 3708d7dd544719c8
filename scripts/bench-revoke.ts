// Revoke by tags among 400 keys at 100 ms per request (issue 7): Deepgram's listing carries no
// tags, so every key is read alone; the action reads them KEY_CONCURRENCY at a time.
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { runTimedStep } from '../harness/runner.ts'

const KEYS = 400
const LATENCY_MS = 100
const TARGET_MS = 10_000

export async function measureRevokeByTags(): Promise<
  { label: string; value: string; target?: { text: string; met: boolean } }[]
> {
  const emulator = await startDeepgramEmulator({ listOmitsTags: true, latencyMs: LATENCY_MS })
  try {
    // Half the keys carry the tag: 400 reads and 200 deletes.
    for (let i = 0; i < KEYS; i++)
      emulator.addKey({
        projectId: DEFAULT_PROJECT.projectId,
        comment: `key ${i}`,
        tags: [i % 2 === 0 ? 'ci' : 'other'],
      })
    const inputs = {
      'api-key': DEFAULT_ACCOUNT.apiKey,
      'project-id': DEFAULT_PROJECT.projectId,
      'deepgram-api-url': emulator.url,
      mode: 'revoke',
      tags: 'ci',
    }
    const { run, wallMs } = await runTimedStep('main', { inputs })
    if (run.exitCode !== 0)
      throw new Error(`the revoke step failed (exit ${run.exitCode}):\n${run.stdout}${run.stderr}`)
    const byMethod = (method: string) => emulator.requests.filter((r) => r.method === method).length
    return [
      {
        label: `requests (${KEYS} keys)`,
        value: `${emulator.requests.length}  (${byMethod('GET')} GET, ${byMethod('DELETE')} DELETE)`,
      },
      {
        label: `wall time at ${LATENCY_MS} ms/request`,
        value: `${wallMs.toFixed(0)} ms`,
        target: { text: `< ${TARGET_MS} ms`, met: wallMs < TARGET_MS },
      },
    ]
  } finally {
    await emulator.close()
  }
}
