import { InputError } from '../../src/shared/errors.ts'
import { describeTarget } from '../../src/github/plan.ts'
import { readSecretPlan } from '../../src/action/inputs/secret.ts'

const env = { repository: 'octo-org/app', apiUrl: 'https://api.github.com' }
const defaults: Record<string, string> = { 'secret-visibility': 'private', 'secret-type': 'actions' }

function plan(inputs: Record<string, string>) {
  const all: Record<string, string> = {
    ...defaults,
    'secret-name': 'DEEPGRAM_API_KEY',
    'github-token': 'ghs_token',
    ...inputs,
  }
  return readSecretPlan((name) => all[name] ?? '', env)
}

function refusal(inputs: Record<string, string>): InputError {
  try {
    plan(inputs)
  } catch (error) {
    if (error instanceof InputError) return error
  }
  throw new Error('not refused')
}

describe('readSecretPlan', () => {
  test('asks for no secret when secret-name is empty', () => {
    expect(readSecretPlan((name) => defaults[name] ?? '', env)).toBeUndefined()
  })

  test("defaults to the workflow's repository and the runner's API URL", () => {
    expect(plan({})).toEqual({
      name: 'DEEPGRAM_API_KEY',
      token: 'ghs_token',
      apiUrl: 'https://api.github.com',
      targets: [{ scope: 'repository', type: 'actions', owner: 'octo-org', repo: 'app' }],
    })
  })

  test('reads several repositories once each, whatever their case', () => {
    const targets = plan({ 'secret-repositories': 'octo-org/app, octo-org/api\nOcto-Org/App' })?.targets
    expect(targets?.map(describeTarget)).toEqual(['repository octo-org/app', 'repository octo-org/api'])
  })

  test('makes environment secrets in each repository', () => {
    expect(plan({ 'secret-environment': 'pr-42', 'secret-repositories': 'octo-org/app' })?.targets).toEqual([
      { scope: 'environment', type: 'actions', owner: 'octo-org', repo: 'app', environment: 'pr-42' },
    ])
  })

  test('makes one organization secret with its visibility and selected names', () => {
    expect(
      plan({
        'secret-organization': 'octo-org',
        'secret-visibility': 'selected',
        'secret-selected-repositories': 'api,web',
      })?.targets,
    ).toEqual([
      {
        scope: 'organization',
        type: 'actions',
        org: 'octo-org',
        visibility: 'selected',
        selectedRepositories: ['api', 'web'],
      },
    ])
  })

  test('reads a GitHub Enterprise Server URL', () => {
    expect(plan({ 'github-api-url': 'https://ghes.example.com/api/v3/' })?.apiUrl).toBe(
      'https://ghes.example.com/api/v3',
    )
  })

  test.each([
    [{ 'github-token': '' }, 'github-token'],
    [{ 'secret-name': 'github_token' }, 'secret-name'],
    [{ 'secret-name': '9LIVES' }, 'secret-name'],
    [{ 'secret-name': 'WITH SPACE' }, 'secret-name'],
    [{ 'secret-repositories': 'octo-org' }, 'secret-repositories'],
    [{ 'secret-repositories': 'octo-org/app/extra' }, 'secret-repositories'],
    [{ 'secret-organization': 'octo-org', 'secret-repositories': 'octo-org/app' }, 'secret-repositories'],
    [{ 'secret-organization': 'octo-org', 'secret-environment': 'x' }, 'secret-environment'],
    [{ 'secret-organization': 'octo-org', 'secret-visibility': 'selected' }, 'secret-selected-repositories'],
    [
      {
        'secret-organization': 'octo-org',
        'secret-visibility': 'selected',
        'secret-selected-repositories': 'octo-org/api',
      },
      'secret-selected-repositories',
    ],
    [{ 'secret-organization': 'octo-org', 'secret-selected-repositories': 'api' }, 'secret-selected-repositories'],
    [{ 'secret-visibility': 'all' }, 'secret-visibility'],
    [{ 'secret-visibility': 'public' }, 'secret-visibility'],
    [{ 'secret-selected-repositories': 'api' }, 'secret-selected-repositories'],
    [{ 'secret-type': 'dependabot', 'secret-environment': 'x' }, 'secret-environment'],
    [{ 'github-api-url': 'http://ghes.example.com' }, 'github-api-url'],
  ])('refuses %p naming %s', (inputs, input) => {
    expect(refusal(inputs).input).toBe(input)
  })

  test('refuses secret inputs given without secret-name', () => {
    const inputs: Record<string, string> = { ...defaults, 'secret-repositories': 'octo-org/api' }
    expect(() => readSecretPlan((name) => inputs[name] ?? '', env)).toThrow(
      'Input secret-repositories: is set but secret-name is empty',
    )
  })
})
