// `npm run bench`: a fan-out to 100 repository secrets at 100 ms latency per request: how many
// requests GitHub sees, how many secrets are written, and the wall time of the main step: 100
// targets are more than GitHub's 80 content-creating requests a minute, so the last 20 wait for
// the next minute, and main's 30 s bound grows by that minute (pacingAllowanceMs).
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { DEFAULT_GITHUB_TOKEN, manyRepositories, startGitHubEmulator } from '../harness/github-emulator.ts'
import { runTimedStep } from '../harness/runner.ts'
import { pacingAllowanceMs } from '../src/github/pacing.ts'

const REPOSITORIES = 100
const LATENCY_MS = 100
const MAIN_BOUND_MS = 30_000 + pacingAllowanceMs(REPOSITORIES)

export async function measureFanOut(): Promise<
  { label: string; value: string; target?: { text: string; met: boolean } }[]
> {
  const repos = manyRepositories(REPOSITORIES)
  const deepgram = await startDeepgramEmulator({ latencyMs: LATENCY_MS })
  const github = await startGitHubEmulator({ repos, latencyMs: LATENCY_MS })
  try {
    const inputs = secretWriteInputs(
      deepgram.url,
      github.url,
      repos.map((r) => `${r.owner}/${r.name}`),
    )
    const { run, wallMs } = await runTimedStep('main', { inputs })
    if (github.secrets.length === 0)
      throw new Error(`no secret was written (exit ${run.exitCode}):\n${run.stdout}${run.stderr}`)
    const count = (method: string) => github.requests.filter((r) => r.method === method).length
    return [
      { label: 'requests to GitHub', value: `${github.requests.length}  (${count('GET')} GET, ${count('PUT')} PUT)` },
      {
        label: 'secrets written',
        value: `${github.secrets.length} of ${REPOSITORIES}`,
        target: { text: `= ${REPOSITORIES}`, met: github.secrets.length === REPOSITORIES },
      },
      {
        label: 'main step wall time',
        value: `${(wallMs / 1000).toFixed(2)} s`,
        target: { text: `≤ ${MAIN_BOUND_MS / 1000} s`, met: wallMs <= MAIN_BOUND_MS },
      },
    ]
  } finally {
    await Promise.all([deepgram.close(), github.close()])
  }
}

/** The inputs of a main step that mints a key and writes it to these repositories' secrets. */
export function secretWriteInputs(
  deepgramUrl: string,
  githubUrl: string,
  repositories: string[],
): Record<string, string> {
  return {
    'api-key': DEFAULT_ACCOUNT.apiKey,
    'project-id': DEFAULT_PROJECT.projectId,
    'deepgram-api-url': deepgramUrl,
    'secret-name': 'DEEPGRAM_API_KEY',
    'secret-repositories': repositories.join(','),
    'github-token': DEFAULT_GITHUB_TOKEN,
    'github-api-url': githubUrl,
  }
}
