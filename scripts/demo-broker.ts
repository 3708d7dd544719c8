// `npm run demo:broker`: one job in broker mode, no account and no network. Starts a local OIDC
// issuer (with the runner's ID-token endpoint), the Deepgram emulator, and the committed broker
// (node dist/broker/index.js) with examples/broker/policy.yml, which trusts the local issuer
// here instead of GitHub's; then runs dist/ main and post as the runner does, with
// ACTIONS_ID_TOKEN_REQUEST_URL set as for a job with permissions: id-token: write.
import { readFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'
import { startBroker, type RunningBroker } from '../harness/broker.ts'
import { DEFAULT_ACCOUNT, startDeepgramEmulator } from '../harness/deepgram-emulator.ts'
import { startOidcIssuer, type OidcIssuer } from '../harness/oidc-issuer.ts'
import { findLeaks, runStep } from '../harness/runner.ts'
import { indent, masksOf, rendered, section, transcript } from './transcript.ts'

const problems: string[] = []
const check = (ok: boolean, problem: string): void => {
  if (!ok) problems.push(problem)
}

const emulator = await startDeepgramEmulator({})
let issuer: OidcIssuer | undefined
let broker: RunningBroker | undefined
try {
  issuer = await startOidcIssuer()
  const policy = parse(readFileSync('examples/broker/policy.yml', 'utf8')) as { audience: string; issuers: string[] }
  broker = await startBroker({
    adminKey: DEFAULT_ACCOUNT.apiKey,
    policy: stringify({ ...policy, issuers: [issuer.url] }),
    deepgramApiUrl: emulator.url,
  })
  console.log(`Deepgram emulator  ${emulator.url}  (the broker alone holds its admin key)`)
  console.log(`OIDC issuer        ${issuer.url}  (stands in for ${policy.issuers.join(', ')})`)
  console.log(`broker             ${broker.url}  (examples/broker/policy.yml, audience ${policy.audience})`)

  // The job: repository octo-org/app, ref refs/heads/main, the issuer's default claims.
  const env = {
    ACTIONS_ID_TOKEN_REQUEST_URL: issuer.idTokenRequest.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.idTokenRequest.token,
  }
  const inputs = {
    'broker-url': broker.url,
    'broker-audience': policy.audience,
    scopes: 'usage:write',
    expiration: '30m',
    tags: 'demo',
  }
  console.log(
    `inputs: broker-url ${broker.url}, broker-audience ${policy.audience}, scopes usage:write, expiration 30m, tags demo; no api-key`,
  )

  const main = await runStep('main', { inputs, env })
  const masks = masksOf(main)
  section(`main step: raw stdout/stderr (exit code ${main.exitCode})`)
  console.log(transcript(main))
  section('main step: the log as GitHub renders it')
  console.log(rendered(main, masks))
  section('outputs and state')
  for (const [name, value] of Object.entries(main.outputs))
    console.log(`  output ${name.padEnd(11)} ${name === 'key' ? `*** (${value.length} characters)` : value}`)
  for (const [name, value] of Object.entries(main.state)) console.log(`  state  ${name.padEnd(15)} ${value}`)

  const keyId = main.outputs['key-id'] ?? ''
  const key = main.outputs['key'] ?? ''
  const minted = emulator.keys.find((k) => k.apiKeyId === keyId)
  section("the emulator's view of the key")
  if (minted === undefined) console.log(`  no key with id ${keyId || '(none)'}`)
  else
    console.log(
      indent(
        `id       ${minted.apiKeyId}\ncomment  ${minted.comment}\nscopes   ${minted.scopes.join(', ')}\ntags     ${minted.tags.join(', ')}\nexpires  ${minted.expirationDate}\nlive     ${emulator.liveKeys().includes(minted)}`,
      ),
    )
  check(main.exitCode === 0, `main exited with ${main.exitCode}`)
  check(minted !== undefined && minted.key === key, 'the emulator holds no key matching the outputs')
  check(minted !== undefined && emulator.liveKeys().includes(minted), 'the key was not live after main')

  const post = await runStep('post', { inputs, env, state: main.state })
  section(`post step: raw stdout/stderr (exit code ${post.exitCode})`)
  console.log(transcript(post))
  section('post step: the log as GitHub renders it')
  console.log(rendered(post, [...masks, ...masksOf(post)]))
  section('the emulator after post')
  console.log(
    `  ${minted === undefined ? 'no key was created' : `key ${keyId}: ${minted.deleted ? 'deleted' : 'NOT deleted'}`}; live keys left: ${emulator.liveKeys().length}`,
  )
  check(post.exitCode === 0, `post exited with ${post.exitCode}`)
  check(emulator.liveKeys().length === 0, 'a key is still live after post')

  const output = { stdout: broker.stdout(), stderr: broker.stderr() }
  section("the broker's audit log (one JSON line per request)")
  console.log(indent(output.stdout))

  // The ID tokens are the values masked that look like JWTs (@actions/core masks them, and so does
  // the action); none may show anywhere else.
  const tokenOf = (masked: string[]): string[] => [...new Set(masked.filter((value) => value.startsWith('eyJ')))]
  const [mainToken, ...others] = tokenOf(masks)
  const [postToken] = tokenOf(masksOf(post))
  check(
    mainToken !== undefined && others.length === 0 && postToken !== undefined && postToken !== mainToken,
    'main and post did not each get one ID token of their own',
  )
  const idTokens = [mainToken ?? '', postToken ?? '']
  const secrets = [DEFAULT_ACCOUNT.apiKey, key, issuer.idTokenRequest.token, ...idTokens]
  for (const leak of [...findLeaks(main, secrets, ['key']), ...findLeaks(post, secrets)])
    problems.push(`a step leaked a secret: ${leak}`)
  for (const secret of secrets)
    check(!`${output.stdout}${output.stderr}`.includes(secret), `the broker logged a secret (${secret.slice(0, 4)}…)`)
} catch (error) {
  problems.push(`the demo crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
} finally {
  await Promise.all([broker?.stop(), issuer?.close(), emulator.close()])
}

section(
  problems.length === 0
    ? 'OK: no Deepgram key in the job; minted through the broker, masked, and revoked with a fresh token'
    : 'FAILED',
)
for (const problem of problems) console.error(`  - ${problem}`)
if (problems.length > 0) process.exitCode = 1
