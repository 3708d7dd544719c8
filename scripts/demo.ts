// `npm run demo`: one job against the local Deepgram emulator, no account and no network. Runs
// dist/ main then post the way the runner does, and shows what a workflow author would see.
import { DEFAULT_ACCOUNT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { silentWav } from '../harness/deepgram-usage.ts'
import { findLeaks, runStep } from '../harness/runner.ts'
import { checklist, indent, masked, masksOf, rendered, section, showMain, transcript, verdict } from './transcript.ts'

const { problems, check } = checklist()

const emulator = await startDeepgramEmulator({})
let crash: unknown
try {
  const inputs = {
    'api-key': DEFAULT_ACCOUNT.apiKey,
    'deepgram-api-url': emulator.url,
    scopes: 'usage:write',
    expiration: '1h',
    tags: 'demo',
  }
  console.log(`Deepgram emulator at ${emulator.url}; inputs: scopes usage:write, expiration 1h, tags demo`)

  const { main, masks } = await showMain({ inputs })
  const key = main.outputs['key'] ?? ''
  console.log(
    `  (the runner consumes the ${masks.length} ::add-mask:: lines, and shows each of those values as *** from then on)`,
  )
  console.log(`  a later step's  echo "key=\${{ steps.dg.outputs.key }}"  shows:  ${masked(`key=${key}`, masks)}`)

  const keyId = main.outputs['key-id'] ?? ''
  section('outputs')
  for (const [name, value] of Object.entries(main.outputs)) {
    console.log(`  ${name.padEnd(11)} ${name === 'key' ? `*** (${value.length} characters)` : value}`)
  }
  section('job summary (markdown)')
  console.log(indent(main.summary))

  const minted = emulator.keys.find((k) => k.apiKeyId === keyId)
  const liveAfterMain = minted !== undefined && emulator.liveKeys().includes(minted)
  section("the emulator's view of the key")
  if (minted === undefined) console.log(`  no key with id ${keyId || '(none)'}`)
  else
    console.log(
      indent(
        `id       ${minted.apiKeyId}\nscopes   ${minted.scopes.join(', ')}\ntags     ${minted.tags.join(', ')}\nexpires  ${minted.expirationDate}\nlive     ${liveAfterMain}`,
      ),
    )

  check(main.exitCode === 0, `main exited with ${main.exitCode}`)
  check(key !== '' && keyId !== '', 'main set no key or key-id output')
  check(minted !== undefined && minted.key === key, 'the emulator holds no key matching the outputs')
  check(liveAfterMain, 'the key was not live after main')
  check(
    key === '' || (masks.includes(key) && masks.includes(DEFAULT_ACCOUNT.apiKey)),
    'main did not mask both the key and api-key',
  )
  for (const leak of findLeaks(main, [key, DEFAULT_ACCOUNT.apiKey], ['key']))
    problems.push(`main leaked a secret: ${leak}`)

  // The job's own work: two transcriptions with the minted key, which the post step then reports.
  section('the job transcribes twice with the key (POST /v1/listen, 2 s and 3 s of audio)')
  for (const seconds of [2, 3]) {
    const answer = await fetch(`${emulator.url}/v1/listen?model=nova-3`, {
      method: 'POST',
      headers: { authorization: `Token ${key}`, 'content-type': 'audio/wav' },
      body: silentWav(seconds),
    })
    console.log(`  ${seconds} s of audio: HTTP ${answer.status}`)
    check(answer.status === 200, `transcribing with the key answered ${answer.status}`)
  }

  const post = await runStep('post', { inputs, state: main.state })
  section(`post step: raw stdout/stderr (exit code ${post.exitCode})`)
  console.log(transcript(post))
  section('post step: the log as GitHub renders it')
  console.log(rendered(post, [...masks, ...masksOf(post)]))

  const liveAfterPost = minted !== undefined && emulator.liveKeys().includes(minted)
  section('the emulator after post')
  const fate =
    minted === undefined ? 'no key was created' : `key ${keyId}: ${minted.deleted ? 'deleted' : 'NOT deleted'}`
  console.log(`  ${fate}; live keys left: ${emulator.liveKeys().length}`)
  section('post step: job summary (markdown)')
  console.log(indent(post.summary))
  check(post.exitCode === 0, `post exited with ${post.exitCode}`)
  check(
    post.summary.includes('### Deepgram usage') && post.summary.includes(`| \`${keyId}\` | 2 | 5 s |`),
    "post's summary does not report the key's 2 requests and 5 s of audio",
  )
  check(minted === undefined || (minted.deleted && !liveAfterPost), 'the key is still live after post')
  for (const leak of findLeaks(post, [key, DEFAULT_ACCOUNT.apiKey])) problems.push(`post leaked a secret: ${leak}`)
} catch (error) {
  crash = error
} finally {
  await emulator.close()
}
verdict(problems, 'minted, masked, verified, used, reported and revoked', crash)
