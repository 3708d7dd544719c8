// A secret to write the new key to: where it lives, how to name it, and when two are the same.

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

/** A human name for a target, used in logs, errors and the summary. */
export function describeTarget(target: SecretPlace): string {
  const type = target.type === 'dependabot' ? 'Dependabot ' : ''
  if (target.scope === 'organization') return `${type}organization ${target.org}`
  if (target.scope === 'environment') return `${target.owner}/${target.repo} environment ${target.environment}`
  return `${type}repository ${target.owner}/${target.repo}`
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
