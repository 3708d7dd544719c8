// Which of Deepgram's scopes let a key manage keys or the project, and what the scopes Deepgram gave
// a new key may hold beyond what was asked. Pure rules, shared by the action (inputs, the check after creating)
// and the broker (its policy). Sources: Deepgram's "Working with roles" page, its role table.

/** The project permissions each role carries, as Deepgram's role table lists them. */
export const ROLE_PERMISSIONS: Readonly<Record<'owner' | 'admin' | 'member', readonly string[]>> = {
  owner: [
    'project:read',
    'project:write',
    'project:write:settings',
    'project:write:destroy',
    'keys:read',
    'keys:write',
    'members:read',
    'members:read:invites',
    'members:read:scopes',
    'members:write',
    'members:write:invites',
    'members:write:scopes',
    'members:write:kick',
    'admins:read',
    'admins:read:invites',
    'admins:read:scopes',
    'admins:write',
    'admins:write:invites',
    'admins:write:scopes',
    'admins:write:kick',
    'owners:read',
    'owners:read:invites',
    'owners:read:scopes',
    'owners:write',
    'owners:write:invites',
    'owners:write:scopes',
    'owners:write:kick',
    'usage:read',
    'usage:write',
    'billing:read',
    'billing:write',
  ],
  admin: [
    'project:read',
    'project:write',
    'keys:read',
    'keys:write',
    'members:read',
    'members:read:invites',
    'members:read:scopes',
    'members:write',
    'members:write:invites',
    'members:write:scopes',
    'members:write:kick',
    'admins:read',
    'admins:read:invites',
    'admins:read:scopes',
    'admins:write',
    'admins:write:invites',
    'admins:write:scopes',
    'admins:write:kick',
    'owners:read',
    'owners:read:invites',
    'owners:read:scopes',
    'usage:read',
    'usage:write',
    'billing:read',
  ],
  member: ['project:read', 'project:write', 'keys:read', 'keys:write', 'usage:read', 'usage:write'],
}

/**
 * Families whose every scope but the read-only ones changes who can do what: keys, the project
 * itself (settings, deletion), its members, admins and owners, and its billing.
 */
const MANAGED_FAMILIES = new Set(['keys', 'project', 'members', 'admins', 'owners', 'billing'])

/**
 * A scope as Deepgram writes them, in every mode (the action's input, the broker's requests and
 * policy, Deepgram's answers): words of letters, digits and _.*- joined by colons, nothing that
 * could carry other text. Case aside: scopes are compared without regard to it.
 */
const SCOPE = /^[a-z0-9*_.-]+(?::[a-z0-9*_.-]+)*$/i

/** The form of a scope, for messages. */
export const SCOPE_FORM = 'scopes such as usage:write'

export function isScope(text: string): boolean {
  return SCOPE.test(text)
}

function isRole(scope: string): scope is keyof typeof ROLE_PERMISSIONS {
  return Object.hasOwn(ROLE_PERMISSIONS, scope)
}

/**
 * True for a scope that can manage keys or the project: a role (each carries keys:write and
 * project:write), any account: scope, and every scope of the keys, project, members, admins,
 * owners and billing families except the read-only ones (`family:read…`). Unknown forms in those
 * families (`keys:*`, `project:kick`) count as management: what Deepgram does not document is
 * not assumed harmless.
 */
export function isManagementScope(scope: string): boolean {
  const lower = scope.toLowerCase()
  if (isRole(lower) || lower.startsWith('account:') || lower === 'account') return true
  const [family = '', action] = lower.split(':')
  return MANAGED_FAMILIES.has(family) && action !== 'read'
}

/** Why a management scope is one, in a few words, for errors and policy refusals. */
export function whyManagement(scope: string): string {
  const lower = scope.toLowerCase()
  if (isRole(lower)) return `the ${lower} role carries keys:write and project:write`
  const [family = ''] = lower.split(':')
  if (family === 'account') return 'account scopes act on the whole account'
  if (family === 'keys') return 'it can create and delete keys'
  if (family === 'project') return 'it can change or delete the project'
  if (family === 'billing') return "it can change the project's billing"
  return 'it can change who belongs to the project and with what rights'
}

/**
 * Scopes a key given `scope` holds as well, by Deepgram's documented rules: a role's
 * permissions, `x:read` with `x:write` (keys:read with keys:write, project:read with
 * project:write), and every account permission with `account:write`.
 */
function implied(scope: string): (given: string) => boolean {
  const lower = scope.toLowerCase()
  if (isRole(lower)) {
    const permissions = ROLE_PERMISSIONS[lower]
    return (given) => permissions.includes(given)
  }
  if (lower === 'account:write') return (given) => given.startsWith('account:')
  const write = /^([a-z-]+):write(:.*)?$/.exec(lower)
  if (write) return (given) => given === `${write[1]}:read${write[2] ?? ''}`
  return () => false
}

/**
 * The scopes Deepgram gave that were neither requested nor implied by a requested one, and that can
 * manage keys or the project; also any given entry that is not a scope at all (it cannot be told
 * harmless). Empty when Deepgram gave what was asked for.
 */
export function unrequestedManagementScopes(requested: readonly string[], given: readonly string[]): string[] {
  const asked = requested.map((scope) => scope.toLowerCase())
  const covers = asked.map(implied)
  return given.filter((scope) => {
    const lower = scope.toLowerCase()
    if (!isScope(lower)) return true
    if (asked.includes(lower) || covers.some((cover) => cover(lower))) return false
    return isManagementScope(lower)
  })
}

/**
 * What is wrong with the scopes Deepgram gave a new key, to end "Deepgram created key …, but":
 * undefined when the key holds no management scope beyond what was asked for.
 */
export function extraScopesProblem(requested: readonly string[], given: readonly string[]): string | undefined {
  const extra = unrequestedManagementScopes(requested, given)
  if (extra.length === 0) return undefined
  const list = extra.map((scope) => `'${scope}'`).join(', ')
  return `it was granted ${list}, which ${extra.length === 1 ? 'was' : 'were'} not asked for and can manage keys or the project`
}
