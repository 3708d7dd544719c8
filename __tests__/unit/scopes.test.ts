import {
  extraScopesProblem,
  isManagementScope,
  ROLE_PERMISSIONS,
  unrequestedManagementScopes,
} from '../../src/deepgram/scopes.ts'

describe('isManagementScope', () => {
  test.each([
    // Roles: every one carries keys:write and project:write.
    ['member', true],
    ['admin', true],
    ['owner', true],
    ['Member', true],
    // Keys and the project itself.
    ['keys:write', true],
    ['keys:*', true],
    ['project:write', true],
    ['project:write:settings', true],
    ['project:write:destroy', true],
    ['project:kick', true],
    // Who belongs to the project, with what rights, and its billing.
    ['members:write', true],
    ['members:write:invites', true],
    ['members:write:scopes', true],
    ['members:write:kick', true],
    ['admins:write', true],
    ['admins:write:scopes', true],
    ['owners:write', true],
    ['owners:write:kick', true],
    ['billing:write', true],
    // The whole account, read or write.
    ['account:read', true],
    ['account:write', true],
    ['account', true],
    // Read-only, usage and product scopes manage nothing.
    ['usage:write', false],
    ['usage:read', false],
    ['keys:read', false],
    ['project:read', false],
    ['members:read', false],
    ['members:read:scopes', false],
    ['admins:read:invites', false],
    ['owners:read', false],
    ['billing:read', false],
    ['self-hosted:product:api', false],
    ['self-hosted:products', false],
  ])('%p is a management scope: %p', (scope, expected) => {
    expect(isManagementScope(scope)).toBe(expected)
  })

  test("every write permission in Deepgram's role table is a management scope, every read one is not", () => {
    for (const permission of ROLE_PERMISSIONS.owner) {
      const readOnly = permission.split(':')[1] === 'read' || permission.startsWith('usage:')
      expect([permission, isManagementScope(permission)]).toEqual([permission, !readOnly])
    }
  })
})

describe('unrequestedManagementScopes', () => {
  test.each<[string[], string[], string[]]>([
    // What was asked, and Deepgram's documented implications, pass.
    [['usage:write'], ['usage:write'], []],
    [['keys:write'], ['keys:write', 'keys:read'], []],
    [['project:write'], ['project:write', 'project:read'], []],
    [['members:write:scopes'], ['members:write:scopes', 'members:read:scopes'], []],
    [['member'], ['member', 'project:write', 'keys:write', 'keys:read', 'usage:write'], []],
    [['admin'], ['admin', 'members:write:kick', 'admins:write'], []],
    [['owner'], ['owner', 'project:write:destroy', 'billing:write', 'owners:write:kick'], []],
    [['account:write'], ['account:write', 'account:read', 'account:write:billing'], []],
    [['KEYS:WRITE'], ['keys:write'], []],
    // Extra scopes that manage nothing pass too (they are reported, not refused).
    [['usage:write'], ['usage:write', 'usage:read', 'keys:read'], []],
    // A management scope nobody asked for does not.
    [['usage:write'], ['usage:write', 'keys:write'], ['keys:write']],
    [['usage:write'], ['member'], ['member']],
    [['member'], ['member', 'admin'], ['admin']],
    [['admin'], ['admin', 'owners:write'], ['owners:write']],
    [['admin'], ['admin', 'billing:write'], ['billing:write']],
    [['keys:write'], ['keys:write', 'project:write'], ['project:write']],
    [['project:write'], ['project:write', 'project:write:destroy'], ['project:write:destroy']],
    [['usage:write'], ['usage:write', 'account:read'], ['account:read']],
    // Nor anything that is not a scope at all: it cannot be told harmless.
    [['usage:write'], ['usage:write', 'usage:read\r::add-mask::x'], ['usage:read\r::add-mask::x']],
    [['usage:write'], ['usage:write\u2028'], ['usage:write\u2028']],
    [['usage:write'], [''], ['']],
  ])('asked %p, granted %p: unrequested %p', (requested, granted, expected) => {
    expect(unrequestedManagementScopes(requested, granted)).toEqual(expected)
  })
})

describe('extraScopesProblem', () => {
  test('is undefined for the grant that was asked for', () => {
    expect(extraScopesProblem(['keys:write'], ['keys:write', 'keys:read'])).toBeUndefined()
  })
  test('names each management scope granted beyond the request', () => {
    expect(extraScopesProblem(['usage:write'], ['usage:write', 'admin', 'keys:write'])).toBe(
      "it was granted 'admin', 'keys:write', which were not asked for and can manage keys or the project",
    )
    expect(extraScopesProblem(['usage:write'], ['usage:write', 'member'])).toBe(
      "it was granted 'member', which was not asked for and can manage keys or the project",
    )
  })
})
