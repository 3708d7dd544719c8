// `npm run demo:token`: one job with credential: token against the local Deepgram emulator, no
// account and no network. Runs dist/ main then post the way the runner does: main grants a
// temporary token and masks it first; post has nothing to do.
import { DEFAULT_ACCOUNT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { findLeaks, runStep } from '../harness/runner.ts'
import { checklist, indent, masked, section, showMain, transcript, verdict } from './transcript.ts'

const { problems, check } = checklist()

const emulator = await startDeepgramEmulator({})
let crash: unknown
try {
  const inputs = {
    'api-key': DEFAULT_ACCOUNT.apiKey,
    'deepgram-api-url': emulator.url,
    credential: 'token',
    expiration: '30m',
  }
  console.log(`Deepgram emulator at ${emulator.url}; inputs: credential token, expiration 30m`)

  const { main, masks } = await showMain({ inputs })
  const token = main.outputs['access-token'] ?? ''
  console.log(
    `  a later step's  echo "token=\${{ steps.dg.outputs.access-token }}"  shows:  ${masked(`token=${token}`, masks)}`,
  )

  section('outputs')
  for (const [name, value] of Object.entries(main.outputs))
    console.log(`  ${name.padEnd(12)} ${name === 'access-token' ? `*** (a JWT of ${value.length} characters)` : value}`)
  section('job summary (markdown)')
  console.log(indent(main.summary))

  const granted = emulator.tokens.find((t) => t.accessToken === token)
  section("the emulator's view")
  console.log(
    indent(
      `tokens granted  ${emulator.tokens.length} (lifetime ${granted?.expiresIn ?? '?'} s)\nkeys created    ${emulator.keys.length}`,
    ),
  )
  check(main.exitCode === 0, `main exited with ${main.exitCode}`)
  check(granted !== undefined, 'the access-token output is no token the emulator granted')
  check(
    token === '' || (masks.includes(token) && masks.includes(DEFAULT_ACCOUNT.apiKey)),
    'main did not mask both the token and api-key',
  )
  check(emulator.keys.length === 0, 'a key was created')
  for (const leak of findLeaks(main, [token, DEFAULT_ACCOUNT.apiKey], ['access-token']))
    problems.push(`main leaked a secret: ${leak}`)

  const requests = emulator.requests.length
  const post = await runStep('post', { inputs, state: main.state })
  section(`post step: raw stdout/stderr (exit code ${post.exitCode})`)
  console.log(transcript(post))
  check(post.exitCode === 0, `post exited with ${post.exitCode}`)
  check(emulator.requests.length === requests, 'post sent a request')
  for (const leak of findLeaks(post, [token, DEFAULT_ACCOUNT.apiKey])) problems.push(`post leaked a secret: ${leak}`)
} catch (error) {
  crash = error
} finally {
  await emulator.close()
}
verdict(problems, 'granted, masked, checked; nothing to revoke', crash)
