import { ServiceError } from '../../src/shared/errors.ts'
import type { SecretsApi, SecretWrite } from '../../src/github/api.ts'
import { prepareTargets, splitResults, withPublicKeyCache, writeToTargets } from '../../src/github/deliver.ts'
import type { SecretPlan, SecretTarget } from '../../src/github/plan.ts'

const repo = (name: string): SecretTarget => ({ scope: 'repository', type: 'actions', owner: 'octo-org', repo: name })
const plan = (targets: SecretTarget[]): SecretPlan => ({
  name: 'KEY',
  token: 't',
  apiUrl: 'https://api.github.com',
  targets,
})

function fakeApi(failing: Record<string, number> = {}) {
  const writes: SecretWrite[] = []
  const calls: string[] = []
  let inFlight = 0
  let maxInFlight = 0
  const api: SecretsApi = {
    async getPublicKey(target) {
      const name = target.scope === 'organization' ? target.org : target.repo
      calls.push(`key ${name}`)
      if (failing[`key ${name}`])
        throw new ServiceError({
          service: 'GitHub',
          action: `reading the public key of ${name}`,
          status: failing[`key ${name}`] ?? 0,
          message: 'Not Found',
        })
      return { keyId: `id-${name}`, key: `pk-${name}` }
    },
    async putSecret(write) {
      const name = write.target.scope === 'organization' ? write.target.org : write.target.repo
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise((resolve) => setImmediate(resolve))
      inFlight--
      if (failing[`put ${name}`])
        throw new ServiceError({
          service: 'GitHub',
          action: `writing to ${name}`,
          status: failing[`put ${name}`] ?? 0,
          message: 'Server Error',
        })
      writes.push(write)
      return 'created'
    },
    async repositoryId(_owner, name) {
      return { api: 1002, web: 1003 }[name] ?? 0
    },
  }
  return { api, writes, calls, maxInFlight: () => maxInFlight }
}

const seal = (value: string, publicKey: string) => `sealed(${value})for(${publicKey})`

describe('secret delivery', () => {
  test("seals the exact value for each target's own key and sends that key's id", async () => {
    const fake = fakeApi()
    const prepared = await prepareTargets(plan([repo('app'), repo('api')]), fake.api)
    const results = await writeToTargets(' value with spaces \n', 'KEY', prepared, fake.api, seal)
    expect(fake.writes.map((w) => [w.encryptedValue, w.keyId])).toEqual([
      ['sealed( value with spaces \n)for(pk-app)', 'id-app'],
      ['sealed( value with spaces \n)for(pk-api)', 'id-api'],
    ])
    expect(splitResults(results)).toEqual({ held: ['repository octo-org/app', 'repository octo-org/api'], failed: [] })
  })

  test('resolves selected repository names to ids for an organization secret', async () => {
    const fake = fakeApi()
    const org: SecretTarget = {
      scope: 'organization',
      type: 'actions',
      org: 'octo-org',
      visibility: 'selected',
      selectedRepositories: ['api', 'web'],
    }
    const prepared = await prepareTargets(plan([org]), fake.api)
    await writeToTargets('v', 'KEY', prepared, fake.api, seal)
    expect(fake.writes[0]?.selectedRepositoryIds).toEqual([1002, 1003])
  })

  test('refuses to go on when any public key is missing, naming each failure', async () => {
    const fake = fakeApi({ 'key api': 404, 'key web': 403 })
    await expect(prepareTargets(plan([repo('app'), repo('api'), repo('web')]), fake.api)).rejects.toThrow(
      /^nothing was written to secret KEY: GitHub answered HTTP 404 while reading the public key of api: Not Found .* GitHub answered HTTP 403 while reading the public key of web/,
    )
  })

  test('reports each failed write with its cause and keeps going', async () => {
    const fake = fakeApi({ 'put web': 500 })
    const prepared = await prepareTargets(plan([repo('app'), repo('web'), repo('api')]), fake.api)
    const { held, failed } = splitResults(await writeToTargets('v', 'KEY', prepared, fake.api, seal))
    expect(held).toEqual(['repository octo-org/app', 'repository octo-org/api'])
    expect(failed).toEqual([
      'repository octo-org/web: GitHub answered HTTP 500 while writing to web: Server Error (no request id).',
    ])
  })

  test('writes at most ten at a time', async () => {
    const fake = fakeApi()
    const targets = Array.from({ length: 25 }, (_, i) => repo(`repo-${i}`))
    await writeToTargets('v', 'KEY', await prepareTargets(plan(targets), fake.api), fake.api, seal)
    expect(fake.writes).toHaveLength(25)
    expect(fake.maxInFlight()).toBe(10)
  })

  test('fetches a public key once per target', async () => {
    const fake = fakeApi()
    const cached = withPublicKeyCache(fake.api)
    await Promise.all([
      cached.getPublicKey(repo('app')),
      cached.getPublicKey({ scope: 'repository', type: 'actions', owner: 'Octo-Org', repo: 'APP' }),
      cached.getPublicKey(repo('api')),
    ])
    expect(fake.calls).toEqual(['key app', 'key api'])
  })
})
