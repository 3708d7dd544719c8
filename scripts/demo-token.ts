// `npm run demo:token`: one job with credential: token against the local Deepgram emulator, no
// account and no network. Runs dist/ main then post the way the runner does: main grants a
// temporary token and masks it first; post has nothing to do.
import { DEFAULT_ACCOUNT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { findLeaks, runStep } from '../harness/runner.ts'
import { indent, masked, masksOf, rendered, section, transcript } from './transcript.ts'

const problems: string[] = []
const check = (ok: boolean, problem: string): void => {
  if (!ok) problems.push(problem)
}

const emulator = await startDeepgramEmulator({})
try {
  const inputs = { 'api-key': DEFAULT_ACCOUNT.apiKey, 'deepgram-api-url': emulator.url, credential: 'token', expiration: '30m' }
  console.log(`Deepgram emulator at ${emulator.url}; inputs: credential token, expiration 30m`)

  const main = await runStep('main', { inputs })
  const masks = masksOf(main)
  section(`main step: raw stdout/stderr (exit code ${main.exitCode})`)
  console.log(transcript(main))
  section('main step: the log as GitHub renders it')
  console.log(rendered(main, masks))
  const token = main.outputs['access-token'] ?? ''
  console.log(`  a later step's  echo "token=\${{ steps.dg.outputs.access-token }}"  shows:  ${masked(`token=${token}`, masks)}`)

  section('outputs')
  for (const [name, value] of Object.entries(main.outputs)) console.log(`  ${name.padEnd(12)} ${name === 'access-token' ? `*** (a JWT of ${value.length} characters)` : value}`)
  section('job summary (markdown)')
  console.log(indent(main.summary))

  const granted = emulator.tokens.find((t) => t.accessToken === token)
  section("the emulator's view")
  console.log(indent(`tokens granted  ${emulator.tokens.length} (lifetime ${granted?.expiresIn ?? '?'} s)\nkeys created    ${emulator.keys.length}`))
  check(main.exitCode === 0, `main exited with ${main.exitCode}`)
  check(granted !== undefined, 'the access-token output is no token the emulator granted')
  check(token === '' || (masks.includes(token) && masks.includes(DEFAULT_ACCOUNT.apiKey)), 'main did not mask both the token and api-key')
  check(emulator.keys.length === 0, 'a key was created')
  for (const leak of findLeaks(main, [token, DEFAULT_ACCOUNT.apiKey], ['access-token'])) problems.push(`main leaked a secret: ${leak}`)

  const requests = emulator.requests.length
  const post = await runStep('post', { inputs, state: main.state })
  section(`post step: raw stdout/stderr (exit code ${post.exitCode})`)
  console.log(transcript(post))
  check(post.exitCode === 0, `post exited with ${post.exitCode}`)
  check(emulator.requests.length === requests, 'post sent a request')
  for (const leak of findLeaks(post, [token, DEFAULT_ACCOUNT.apiKey])) problems.push(`post leaked a secret: ${leak}`)
} catch (error) {
  problems.push(`the demo crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
} finally {
  await emulator.close()
}

section(problems.length === 0 ? 'OK: granted, masked, checked; nothing to revoke' : 'FAILED')
for (const problem of problems) console.error(`  - ${problem}`)
if (problems.length > 0) process.exitCode = 1
