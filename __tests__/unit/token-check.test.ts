// The check of a grant's answer (Deepgram's or the broker's) against the lifetime asked.
import { checkToken, tokenSeconds } from '../../src/deepgram/grant.ts'

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl'
const sentAt = Date.parse('2026-11-28T12:00:00.400Z')

describe('checkToken', () => {
  test.each<[string, unknown, unknown, RegExp]>([
    ['no access_token', undefined, 60, /carries no access_token/],
    ['an empty access_token', '', 60, /carries no access_token/],
    ['an access_token that is a number', 42, 60, /carries no access_token/],
    ['two parts', 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9', 60, /not a JWT/],
    ['four parts', `${JWT}.more`, 60, /not a JWT/],
    ['standard base64', 'eyJh+bGc=.eyJl/eHA=.c2ln', 60, /not a JWT/],
    ['an empty part', 'eyJhbGciOiJIUzI1NiJ9..c2lnbmF0dXJl', 60, /not a JWT/],
    ['a token with white space', `${JWT} `, 60, /not a JWT/],
    ['no expires_in', JWT, undefined, /expires_in \(absent\) is not a positive number/],
    ['expires_in as text', JWT, '60', /expires_in \(a string\) is not a positive number/],
    ['expires_in 0', JWT, 0, /expires_in \(0\) is not a positive number/],
    ['a negative expires_in', JWT, -30, /expires_in \(-30\)/],
    ['an infinite expires_in', JWT, Infinity, /not a positive number/],
    [
      'a longer life than asked',
      JWT,
      61,
      /^the token lives 61 s, longer than the 60 s asked; a token cannot be revoked, so it stays valid until 2026-11-28T12:01:01\.000Z$/,
    ],
  ])('refuses %s', (_, accessToken, expiresIn, problem) => {
    const verdict = checkToken({ accessToken, expiresIn }, 60, sentAt)
    expect(verdict.ok).toBe(false)
    if (!verdict.ok) {
      expect(verdict.problem).toMatch(problem)
      expect(verdict.problem).not.toContain('eyJ')
    }
  })

  test('accepts the lifetime asked, and says when the token expires, to the second', () => {
    expect(checkToken({ accessToken: JWT, expiresIn: 3600 }, 3600, sentAt)).toEqual({
      ok: true,
      token: { accessToken: JWT, expiresInSeconds: 3600, expiresAt: new Date('2026-11-28T13:00:00.000Z') },
    })
  })

  test('accepts a shorter life than asked with a warning naming both lifetimes and the expiry', () => {
    const verdict = checkToken({ accessToken: JWT, expiresIn: 30 }, 3600, sentAt)
    expect(verdict).toMatchObject({
      ok: true,
      token: { expiresInSeconds: 30, expiresAt: new Date('2026-11-28T12:00:30.000Z') },
    })
    if (verdict.ok)
      expect(verdict.token.warning).toMatch(
        /^The token lives 30 s, shorter than the 3600 s asked \(.*\): it expires at 2026-11-28T12:00:30\.000Z\. .*credential: key\.$/,
      )
  })
})

describe('tokenSeconds', () => {
  test('is the seconds of a duration, or the whole seconds left until a date', () => {
    expect(tokenSeconds({ kind: 'ttl', seconds: 90 }, sentAt)).toBe(90)
    expect(tokenSeconds({ kind: 'date', date: new Date('2026-11-28T12:10:00Z') }, sentAt)).toBe(599)
  })
})
