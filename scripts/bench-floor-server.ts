// The floor the bench holds the broker to: the least a key broker must do per key, and nothing
// more. It verifies the bearer token with jose (RS256, issuer, audience) against the issuer's
// keys, fetched once at start as the broker caches them, sends one create to Deepgram with
// undici, and answers the created key as JSON. No policy, no rate limit, no audit line, no checks
// of Deepgram's answer. Not a server to run anywhere else: it exists to be measured.
//
//   FLOOR_ISSUER=... FLOOR_AUDIENCE=... DEEPGRAM_API_URL=... DEEPGRAM_ADMIN_KEY=... FLOOR_PROJECT_ID=... node scripts/bench-floor-server.ts
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { Agent, request } from 'undici'

function setting(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') {
    process.stderr.write(`${name} is not set\n`)
    process.exit(1)
  }
  return value
}

const issuer = setting('FLOOR_ISSUER')
const audience = setting('FLOOR_AUDIENCE')
const keysUrl = `${setting('DEEPGRAM_API_URL')}/v1/projects/${setting('FLOOR_PROJECT_ID')}/keys`
const adminKey = setting('DEEPGRAM_ADMIN_KEY')

const agent = new Agent({ keepAliveTimeout: 30_000 })
const getJson = async (url: string): Promise<Record<string, unknown>> =>
  (await (await request(url, { dispatcher: agent })).body.json()) as Record<string, unknown>
const discovery = await getJson(`${issuer}/.well-known/openid-configuration`)
const keys = createLocalJWKSet((await getJson(String(discovery.jwks_uri))) as unknown as JSONWebKeySet)

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const answer = (status: number, body: string): void =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(body)
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''
    jwtVerify(token, keys, { issuer, audience, algorithms: ['RS256'] }).then(
      async () => {
        const created = await request(keysUrl, {
          method: 'POST',
          dispatcher: agent,
          headers: { authorization: `Token ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ comment: 'floor', scopes: ['usage:write'], time_to_live_in_seconds: 600 }),
        })
        answer(created.statusCode === 200 ? 200 : 502, await created.body.text())
      },
      () => answer(401, '{"error":"token_invalid"}'),
    )
  })
})
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`),
)
process.once('SIGTERM', () => server.close(() => process.exit(0)))
