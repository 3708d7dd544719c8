import { deepgramError } from '../../src/deepgram/client.ts'
import { transientVerdict } from '../../src/shared/json-service.ts'
import { NetworkError } from '../../src/shared/errors.ts'

const now = Date.parse('2026-11-28T12:00:00Z')
const response = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

describe('deepgramError', () => {
  test('reads the legacy style and says what to do about a bad key', () => {
    const error = deepgramError(
      response(401, { err_code: 'INVALID_AUTH', err_msg: 'Invalid credentials.', request_id: 'req-1' }),
      'creating the key',
      now,
    )
    expect(error.message).toBe(
      'Deepgram answered HTTP 401 INVALID_AUTH while creating the key: Invalid credentials. (request id req-1). Check the api-key input: Deepgram does not accept it.',
    )
  })

  test('reads the modern style with its details', () => {
    const body = {
      category: 'NOT_FOUND',
      message: 'A project with the submitted ID cannot be found.',
      details: 'Check that you have submitted the intended project ID.',
      request_id: 'req-2',
    }
    const error = deepgramError(response(404, body), 'creating the key', now)
    expect(error.details.code).toBe('NOT_FOUND')
    expect(error.message).toContain(
      'A project with the submitted ID cannot be found. Check that you have submitted the intended project ID.',
    )
    expect(error.message).toContain('(request id req-2)')
    expect(error.message).toContain('Check the project-id input')
  })

  test('reads a plain-text body and takes the request id from the header', () => {
    const error = deepgramError(
      response(404, 'UUID parsing failed: invalid character', { 'dg-request-id': 'req-3' }),
      'listing',
      now,
    )
    expect(error.details.message).toBe('UUID parsing failed: invalid character')
    expect(error.details.requestId).toBe('req-3')
  })

  test.each([
    [401, { err_code: 'INSUFFICIENT_PERMISSIONS', err_msg: 'User does not have sufficient permissions.' }],
    [403, { category: 'UNAUTHORIZED', message: 'Authentication failed.' }],
  ])('explains that a %p permission refusal needs keys:write', (status, body) => {
    expect(deepgramError(response(status, body), 'creating the key', now).message).toContain(
      'needs keys:write in this project',
    )
  })

  test('reads the 503 quirk error_code and Retry-After', () => {
    const error = deepgramError(
      response(503, { error_code: 'Service Unavailable', err_msg: 'Please try again later' }, { 'retry-after': '2' }),
      'creating the key',
      now,
    )
    expect(error.details.code).toBe('Service Unavailable')
    expect(error.details.retryAfterSeconds).toBe(2)
    expect(error.message).toContain('no request id')
  })
})

describe('transientVerdict', () => {
  test.each([408, 429, 500, 502, 503])('retries HTTP %p', (status) => {
    expect(transientVerdict(deepgramError(response(status, {}), 'x', now)).retry).toBe(true)
  })
  test.each([400, 401, 403, 404, 422])('does not retry HTTP %p', (status) => {
    expect(transientVerdict(deepgramError(response(status, {}), 'x', now)).retry).toBe(false)
  })
  test('retries a request that got no answer', () => {
    expect(transientVerdict(new NetworkError('Deepgram', 'x', 'reset', true)).retry).toBe(true)
  })
  test('waits what Retry-After says', () => {
    expect(transientVerdict(deepgramError(response(429, {}, { 'retry-after': '3' }), 'x', now))).toEqual({
      retry: true,
      retryAfterMs: 3000,
    })
  })
})
