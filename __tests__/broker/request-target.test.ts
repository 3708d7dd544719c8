import { Refusal } from '../../src/broker/refusal.ts'
import { canonicalPath, requestLine, routeOf } from '../../src/broker/http/request-target.ts'
import { thrownBy } from '../helpers/thrown.ts'

describe('canonicalPath', () => {
  test.each(['/v1/keys', '/v1/keys?tags=a,b', '/v1/keys/3f2504e0-4f89-11d3-9a0c-0305e82c3301', '/healthz'])(
    'keeps %s',
    (target) => {
      expect(canonicalPath(target)).toBe(target.split('?')[0])
    },
  )

  test.each([
    '//evil.example/v1/keys',
    '/v1\\keys',
    '/v1/x/../keys',
    '/v1/./keys',
    '/v1/%2e%2e/keys',
    '/v1/%2E%2E/keys',
    '/v1/keys%2f..',
    '/v1/%6beys',
    'http://broker/v1/keys',
    '*',
    '',
    '/v1/keys#x',
    '/v1/k eys',
    '/v1/kéys',
  ])('refuses %j', (target) => {
    expect(canonicalPath(target)).toBeUndefined()
  })
})

describe('routeOf', () => {
  test.each([
    ['POST', '/v1/keys', { kind: 'mint' }],
    ['GET', '/v1/keys?invocation=0123456789abcdef', { kind: 'find', filter: { invocation: '0123456789abcdef' } }],
    ['GET', '/v1/keys?secret=abcdef012345', { kind: 'find', filter: { secret: 'abcdef012345' } }],
    ['DELETE', '/v1/keys?tags=ci,pr-1', { kind: 'delete-tagged', tags: 'ci,pr-1' }],
    ['DELETE', '/v1/keys?invocation=0123456789abcdef', { kind: 'delete-invocation', invocation: '0123456789abcdef' }],
    [
      'DELETE',
      '/v1/keys/3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      { kind: 'delete-key', keyId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
    ],
    ['GET', '/healthz', { kind: 'probe', path: '/healthz' }],
    ['HEAD', '/healthz', { kind: 'probe', path: '/healthz' }],
    ['GET', '/readyz', { kind: 'probe', path: '/readyz' }],
  ])('%s %s', (method, target, route) => {
    expect(routeOf(method, target)).toEqual(route)
  })

  test.each([
    ['POST', '/v1/x/../keys', 404],
    ['POST', '/v2/keys', 404],
    ['PUT', '/v1/keys', 405],
    ['GET', '/v1/keys/3f2504e0-4f89-11d3-9a0c-0305e82c3301', 405],
    ['POST', '/v1/keys?x=1', 400],
    ['DELETE', '/v1/keys', 400],
    ['DELETE', '/v1/keys/3f2504e0-4f89-11d3-9a0c-0305e82c3301?tags=a', 400],
    ['GET', '/v1/keys?invocation=0123456789abcdef&invocation=0123456789abcdef', 400],
    ['GET', '/v1/keys?secret=abcdef01234', 400],
  ])('%s %s: %d', (method, target, status) => {
    expect(thrownBy(Refusal, () => routeOf(method, target)).status).toBe(status)
  })
})

test('the audit shows the target as received, cut after 512 characters', () => {
  expect(requestLine('POST', '//evil.example/v1/keys')).toBe('POST //evil.example/v1/keys')
  expect(requestLine('GET', `/${'a'.repeat(600)}`)).toBe(`GET /${'a'.repeat(511)}…`)
})
