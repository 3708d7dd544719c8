import { InputError } from '../shared/errors.ts'
import { checkCredential, parseList, readBaseUrl, type GetInput } from '../shared/input-forms.ts'

export type SecretType = 'actions' | 'dependabot'
export type Visibility = 'all' | 'private' | 'selected'

/** Where a secret lives: enough to name it and to read its metadata, nothing about who may read it. */
export type SecretPlace =
  | { scope: 'repository'; type: SecretType; owner: string; repo: string }
  | { scope: 'environment'; type: 'actions'; owner: string; repo: string; environment: string }
  | { scope: 'organization'; type: SecretType; org: string }

/** One place a secret is written to. Each has its own public key. */
export type SecretTarget =
  | Exclude<SecretPlace, { scope: 'organization' }>
  | (Extract<SecretPlace, { scope: 'organization' }> & { visibility: Visibility; selectedRepositories: string[] })

/** Where and how the new key is written as a secret; validated, nothing sent yet. */
export interface SecretPlan {
  name: string
  token: string
  apiUrl: string
  targets: SecretTarget[]
}

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/
const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/
const ORGANIZATION = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/

/** The inputs that only make sense with secret-name, and their defaults. */
export const SECRET_INPUTS: Record<string, string> = {
  'secret-repositories': '',
  'secret-environment': '',
  'secret-organization': '',
  'secret-visibility': 'private',
  'secret-selected-repositories': '',
  'secret-type': 'actions',
  'github-token': '',
  'github-api-url': '',
  'keep-previous': 'all',
}

/** A human name for a target, used in logs, errors and the summary. */
export function describeTarget(target: SecretPlace): string {
  const type = target.type === 'dependabot' ? 'Dependabot ' : ''
  if (target.scope === 'organization') return `${type}organization ${target.org}`
  if (target.scope === 'environment') return `${target.owner}/${target.repo} environment ${target.environment}`
  return `${type}repository ${target.owner}/${target.repo}`
}

/**
 * Reads the secret inputs. Undefined when no secret is asked for; an InputError for anything
 * GitHub would refuse by its rules, so that it is refused before a key exists. (What only GitHub
 * knows, such as the token's permissions, shows once the key exists; the key is then deleted.)
 */
export function readSecretPlan(
  getInput: GetInput,
  env: { GITHUB_REPOSITORY?: string; GITHUB_API_URL?: string },
): SecretPlan | undefined {
  const name = getInput('secret-name')
  if (name === '') {
    for (const [input, fallback] of Object.entries(SECRET_INPUTS)) {
      const value = getInput(input)
      // A token (or API URL) without secret-name is harmless: workflows often pass one anyway.
      if (value !== '' && value !== fallback && input !== 'github-token' && input !== 'github-api-url') {
        throw new InputError(
          input,
          'is set but secret-name is empty. Give secret-name to write the key as a secret, or remove this input.',
        )
      }
    }
    return undefined
  }
  if (!SECRET_NAME.test(name)) {
    throw new InputError(
      'secret-name',
      `'${name}' is not a secret name. Use letters, digits and _, not starting with a digit (DEEPGRAM_API_KEY).`,
    )
  }
  if (/^GITHUB_/i.test(name))
    throw new InputError(
      'secret-name',
      `'${name}' starts with GITHUB_, which GitHub reserves. Choose another name (DEEPGRAM_API_KEY).`,
    )
  const token = getInput('github-token')
  if (token === '') {
    throw new InputError(
      'github-token',
      "is empty, and secret-name needs it: give a token allowed to write secrets on the targets, such as a GitHub App token from actions/create-github-app-token. The workflow's own GITHUB_TOKEN cannot write secrets.",
    )
  }
  checkCredential('github-token', token)
  const type = readChoice(getInput, 'secret-type', ['actions', 'dependabot'] as const, 'actions')
  const visibility = readChoice(getInput, 'secret-visibility', ['all', 'private', 'selected'] as const, 'private')
  const organization = getInput('secret-organization')
  const environment = getInput('secret-environment')
  const repositories = parseList(getInput('secret-repositories'))
  const selected = parseList(getInput('secret-selected-repositories'))
  const apiUrl = readBaseUrl(getInput, 'github-api-url', env.GITHUB_API_URL || 'https://api.github.com')

  if (organization !== '') {
    if (!ORGANIZATION.test(organization))
      throw new InputError('secret-organization', `'${organization}' is not an organization name.`)
    if (environment !== '')
      throw new InputError(
        'secret-environment',
        'cannot go with secret-organization: environments belong to repositories. Remove one of them.',
      )
    if (repositories.length > 0) {
      throw new InputError(
        'secret-repositories',
        'cannot go with secret-organization: an organization secret is written instead of repository secrets. Use secret-selected-repositories with secret-visibility: selected to choose who reads it.',
      )
    }
    if (visibility === 'selected' && selected.length === 0) {
      throw new InputError(
        'secret-selected-repositories',
        'is empty, and secret-visibility is selected: name the repositories (names, not ids) that may read the secret.',
      )
    }
    if (visibility !== 'selected' && selected.length > 0) {
      throw new InputError(
        'secret-selected-repositories',
        `is set, but secret-visibility is ${visibility}: set secret-visibility: selected, or remove the list.`,
      )
    }
    for (const repo of selected) {
      if (!REPOSITORY_NAME.test(repo))
        throw new InputError(
          'secret-selected-repositories',
          `'${repo}' is not a repository name: give names of the organization's repositories, such as app, without the owner.`,
        )
    }
    return {
      name,
      token,
      apiUrl,
      targets: [
        {
          scope: 'organization',
          type,
          org: organization,
          visibility,
          selectedRepositories: uniqueIgnoringCase(selected),
        },
      ],
    }
  }

  if (getInput('secret-visibility') !== '' && visibility !== 'private') {
    throw new InputError(
      'secret-visibility',
      'applies to organization secrets only: set secret-organization, or remove it.',
    )
  }
  if (selected.length > 0)
    throw new InputError(
      'secret-selected-repositories',
      'applies to organization secrets only: set secret-organization, or remove it.',
    )
  if (environment !== '' && type === 'dependabot') {
    throw new InputError(
      'secret-environment',
      'cannot go with secret-type: dependabot: Dependabot has no environment secrets. Remove one of them.',
    )
  }
  const repos = repositories.length > 0 ? repositories : env.GITHUB_REPOSITORY ? [env.GITHUB_REPOSITORY] : []
  if (repos.length === 0)
    throw new InputError('secret-repositories', 'is empty and this is not a workflow run: give owner/name.')
  const targets: SecretTarget[] = []
  for (const repository of uniqueIgnoringCase(repos)) {
    if (!REPOSITORY.test(repository)) {
      throw new InputError(
        'secret-repositories',
        `'${repository}' is not a repository. Give owner/name, or several separated by commas or newlines.`,
      )
    }
    const [owner = '', repo = ''] = repository.split('/')
    targets.push(
      environment !== ''
        ? { scope: 'environment', type: 'actions', owner, repo, environment }
        : { scope: 'repository', type, owner, repo },
    )
  }
  return { name, token, apiUrl, targets }
}

/** Where a target lives, without what its write sends (visibility, selected repositories). */
export function placeOf(target: SecretTarget): SecretPlace {
  if (target.scope === 'organization') return { scope: target.scope, type: target.type, org: target.org }
  if (target.scope === 'environment')
    return {
      scope: target.scope,
      type: target.type,
      owner: target.owner,
      repo: target.repo,
      environment: target.environment,
    }
  return { scope: target.scope, type: target.type, owner: target.owner, repo: target.repo }
}

function readChoice<T extends string>(getInput: GetInput, input: string, choices: readonly T[], fallback: T): T {
  const value = (getInput(input) || fallback).toLowerCase()
  const choice = choices.find((c) => c === value)
  if (choice === undefined) throw new InputError(input, `'${getInput(input)}' is not one of ${choices.join(', ')}.`)
  return choice
}

/** GitHub names are case-insensitive: Octo/App and octo/app are one target. */
function uniqueIgnoringCase(names: string[]): string[] {
  const seen = new Set<string>()
  return names.filter((name) => {
    const key = name.toLowerCase()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/**
 * What makes two secret plans "the same secret", as one canonical string: the name as GitHub
 * stores it (upper-cased), the type, the scope, and where it lives (repositories sorted and
 * lower-cased, the environment lower-cased, the organization lower-cased), since GitHub's names
 * are case-insensitive. The token is not part of it, and neither is an organization secret's
 * visibility: visibility says who may read the secret, not which secret it is, so a run that
 * changes it overwrites the same secret and the keys it replaced are just as replaced.
 */
export function secretIdentity(plan: SecretPlan): string {
  const [first] = plan.targets
  const repositories = plan.targets
    .flatMap((t) => (t.scope === 'organization' ? [] : [`${t.owner}/${t.repo}`.toLowerCase()]))
    .sort()
  return JSON.stringify({
    name: plan.name.toUpperCase(),
    type: first?.type ?? 'actions',
    scope: first?.scope ?? 'repository',
    repositories,
    environment: first?.scope === 'environment' ? first.environment.toLowerCase() : '',
    organization: first?.scope === 'organization' ? first.org.toLowerCase() : '',
  })
}
