import { createHmac } from 'node:crypto'
import {
  brokerMarker,
  formatMarker,
  isBrokerMarkerFor,
  newInvocationId,
  parseMarker,
  secretDigest,
  withMarker,
  type Marker,
} from '../../src/deepgram/marker.ts'

describe('markers', () => {
  test.each<[string, Marker]>([
    ['an invocation', { kind: 'action', invocation: '0123456789abcdef' }],
    [
      'an invocation and a secret',
      { kind: 'action', invocation: '0123456789abcdef', secret: secretDigest('deepgram_api_key|actions|octo-org/app') },
    ],
    [
      'a broker key',
      brokerMarker(
        'broker-secret',
        { issuer: 'https://token.actions.githubusercontent.com', repositoryId: '123456' },
        'fedcba9876543210',
      ),
    ],
    [
      'a broker key for a secret',
      brokerMarker(
        'broker-secret',
        { issuer: 'https://token.actions.githubusercontent.com', repositoryId: '123456789012' },
        'fedcba9876543210',
        'abcdef012345',
      ),
    ],
  ])('round-trips %s through a comment', (_, marker) => {
    expect(parseMarker(withMarker('GitHub Actions: octo-org/app', marker))).toEqual(marker)
    expect(parseMarker(withMarker('', marker))).toEqual(marker)
  })

  test('formats short, documented markers', () => {
    expect(formatMarker({ kind: 'action', invocation: '0123456789abcdef' })).toBe(' [dgk:0123456789abcdef]')
    expect(formatMarker({ kind: 'action', invocation: '0123456789abcdef', secret: 'aaaaaaaaaaaa' })).toBe(
      ' [dgk:0123456789abcdef:aaaaaaaaaaaa]',
    )
  })

  test('makes a fresh 16-hex-digit invocation id each time', () => {
    const a = newInvocationId()
    expect(a).toMatch(/^[0-9a-f]{16}$/)
    expect(newInvocationId()).not.toBe(a)
  })

  test.each([
    ['no marker', 'GitHub Actions: octo-org/app'],
    ['a marker not at the end', 'x [dgk:0123456789abcdef] copy'],
    ['no space before it', 'x[dgk:0123456789abcdef]'],
    ['too short an invocation', 'x [dgk:0123456789abcde]'],
    ['upper-case hex', 'x [dgk:0123456789ABCDEF]'],
    ['a wrong prefix', 'x [dgx:0123456789abcdef]'],
    ['a secret digest of the wrong length', 'x [dgk:0123456789abcdef:abc]'],
    ['a broker marker without its MAC', 'x [dgkb:0123456789abcdef:123456]'],
    ['a broker marker with a non-numeric repository', 'x [dgkb:0123456789abcdef:octo:0123456789abcdef]'],
  ])('refuses a look-alike: %s', (_, comment) => {
    expect(parseMarker(comment)).toBeUndefined()
  })

  test('formats broker markers with the secret digest only when given', () => {
    const owner = { issuer: 'https://token.actions.githubusercontent.com', repositoryId: '123456' }
    expect(formatMarker(brokerMarker('k', owner, 'fedcba9876543210'))).toMatch(
      /^ \[dgkb:fedcba9876543210:123456:[0-9a-f]{16}\]$/,
    )
    expect(formatMarker(brokerMarker('k', owner, 'fedcba9876543210', 'abcdef012345'))).toMatch(
      /^ \[dgkb:fedcba9876543210:abcdef012345:123456:[0-9a-f]{16}\]$/,
    )
  })

  test('the broker knows its own markers by their MAC, for the right repository of the right issuer only', () => {
    const owner = { issuer: 'https://token.actions.githubusercontent.com', repositoryId: '123456' }
    const marker = brokerMarker('broker-secret', owner, 'fedcba9876543210', 'abcdef012345')
    expect(isBrokerMarkerFor(marker, 'broker-secret', owner)).toBe(true)
    expect(isBrokerMarkerFor(marker, 'broker-secret', { ...owner, repositoryId: '654321' })).toBe(false)
    expect(
      isBrokerMarkerFor(marker, 'broker-secret', { ...owner, issuer: 'https://ghes.example.com/_services/token' }),
    ).toBe(false)
    expect(isBrokerMarkerFor(marker, 'another-secret', owner)).toBe(false)
    expect(isBrokerMarkerFor({ ...marker, mac: '0000000000000000' }, 'broker-secret', owner)).toBe(false)
    expect(isBrokerMarkerFor({ ...marker, secret: '000000000000' }, 'broker-secret', owner)).toBe(false)
    expect(isBrokerMarkerFor({ ...marker, invocation: '0000000000000000' }, 'broker-secret', owner)).toBe(false)
    expect(isBrokerMarkerFor({ kind: 'action', invocation: 'fedcba9876543210' }, 'broker-secret', owner)).toBe(false)
    expect(isBrokerMarkerFor(parseMarker(withMarker('c', marker)), 'broker-secret', owner)).toBe(true)
  })

  test('a marker of the old form (MAC over invocation and repository id) counts only when legacy markers are accepted', () => {
    const owner = { issuer: 'https://token.actions.githubusercontent.com', repositoryId: '123456' }
    const oldMac = createHmac('sha256', 'broker-secret').update('fedcba9876543210:123456').digest('hex').slice(0, 16)
    const old = parseMarker(`c [dgkb:fedcba9876543210:123456:${oldMac}]`)
    expect(isBrokerMarkerFor(old, 'broker-secret', owner, true)).toBe(true)
    expect(isBrokerMarkerFor(old, 'broker-secret', owner, false)).toBe(false)
    expect(isBrokerMarkerFor(old, 'broker-secret', { ...owner, repositoryId: '654321' }, true)).toBe(false)
  })
})
