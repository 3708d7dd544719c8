// The inputs of the secret the new key is written to (secret-name and the secret-* inputs,
// github-token, github-api-url) and of its rotation (keep-previous). Whatever GitHub would refuse
// by its rules is refused here, before a key exists.
import { InputError } from '../../shared/errors.ts'
import { checkCredential, parseList, readBaseUrl, type GetInput } from '../../shared/input-forms.ts'
import type { SecretPlan, SecretTarget } from '../../github/plan.ts'

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

/** secret-name is set and github-token is empty. */
export function missingGithubToken(): InputError {
  return new InputError(
    'github-token',
    "is empty, and secret-name needs it: give a token allowed to write secrets on the targets, such as a GitHub App token from actions/create-github-app-token. The workflow's own GITHUB_TOKEN cannot write secrets.",
  )
}

/**
 * Reads the secret inputs. Undefined when no secret is asked for; an InputError for anything
 * GitHub would refuse by its rules, so that it is refused before a key exists. (What only GitHub
 * knows, such as the token's permissions, shows once the key exists; the key is then deleted.)
 */
export function readSecretPlan(
  getInput: GetInput,
  run: { repository?: string; apiUrl?: string },
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
  if (token === '') throw missingGithubToken()
  checkCredential('github-token', token)
  const type = readChoice(getInput, 'secret-type', ['actions', 'dependabot'] as const, 'actions')
  const visibility = readChoice(getInput, 'secret-visibility', ['all', 'private', 'selected'] as const, 'private')
  const organization = getInput('secret-organization')
  const environment = getInput('secret-environment')
  const repositories = parseList(getInput('secret-repositories'))
  const selected = parseList(getInput('secret-selected-repositories'))
  const apiUrl = readBaseUrl(getInput, 'github-api-url', run.apiUrl || 'https://api.github.com')

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
  const repos = repositories.length > 0 ? repositories : run.repository ? [run.repository] : []
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

/** How many earlier keys of the secret stay live: a count, or all of them (nothing deleted). */
export type KeepPrevious = number | 'all'

/** More would be a typo: a secret rotated for years still has far fewer live keys. */
const MOST_KEPT = 1000

/** Reads keep-previous. Without secret-name, and in revoke mode, a value other than all is refused elsewhere (SECRET_INPUTS). */
export function readKeepPrevious(getInput: GetInput): KeepPrevious {
  const text = getInput('keep-previous') || 'all'
  if (text.toLowerCase() === 'all') return 'all'
  if (/^\d{1,4}$/.test(text) && Number(text) <= MOST_KEPT) return Number(text)
  throw new InputError(
    'keep-previous',
    `'${text}' is not a number of earlier keys to keep. Give 0 (delete every earlier key of the secret), 1 (keep the newest one, for jobs that read the secret before this run), another whole number up to ${MOST_KEPT}, or all (delete none; they expire on their own).`,
  )
}
