import { ServiceError, UnusableAnswerError } from '../../src/shared/errors.ts'
import { AnswerTooLargeError } from '../../src/shared/http.ts'
import {
  confinedTo,
  gitHubError,
  rateLimitDecisions,
  RATE_LIMIT_RETRIES,
  redirectIn,
  requestKey,
} from '../../src/github/answers.ts'

const noRefusals = () => undefined

/** What Octokit's RequestError carries: status, message, the request's options and the answer. */
function requestError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
  url = 'https://api.github.com/repos/o/r/actions/secrets/KEY',
) {
  return Object.assign(new Error(message), {
    status,
    request: { method: 'PUT', url },
    response: { headers: { 'x-github-request-id': 'REQ-1', ...headers }, data: { message } },
  })
}

describe('reading GitHub’s answers', () => {
  test('an answer too large to read, which Octokit reports as a 500 without an answer, names GitHub, its real status and what to do', () => {
    const octokitError = Object.assign(new Error('the answer (HTTP 200) is longer than the 1 MiB read at most'), {
      status: 500,
      request: { method: 'GET', url: 'https://api.github.com/repos/o/a/actions/secrets/public-key' },
      cause: new AnswerTooLargeError(200, { 'x-github-request-id': 'REQ-9' }, 1024 * 1024),
    })
    const error = gitHubError(octokitError, 'reading the public key of repository o/a', 'permission', noRefusals)
    expect(error).toBeInstanceOf(UnusableAnswerError)
    expect(error.message).toBe(
      'GitHub answered HTTP 200 while reading the public key of repository o/a, but the answer is over 1 MiB, the most this action reads, and was not read (request id REQ-9). ' +
        "Check that github-api-url points at GitHub's API, and that no proxy answers in its place.",
    )
  })

  test.each([301, 302, 307, 308])(
    'a %i is a redirect: an error naming status, GitHub’s message, the location and the request id',
    (status) => {
      const redirect = redirectIn({
        status,
        headers: { location: 'http://127.0.0.2:9/repositories/1/actions/secrets/KEY', 'x-github-request-id': 'REQ-7' },
        data: { message: 'Moved Permanently' },
      })
      const error = gitHubError(redirect, 'writing secret KEY to repository octo-org/app', 'permission', noRefusals)
      expect(error).toBeInstanceOf(ServiceError)
      expect(error.message).toBe(
        `GitHub answered HTTP ${status} while writing secret KEY to repository octo-org/app: Moved Permanently, to http://127.0.0.2:9/repositories/1/actions/secrets/KEY (request id REQ-7). ` +
          'The repository was renamed or moved, or github-api-url is not the API: nothing was sent to the new location. Give its current name (or the right github-api-url).',
      )
    },
  )

  test('2xx and 4xx answers are not redirects', () => {
    expect(redirectIn({ status: 201, headers: {}, data: {} })).toBeUndefined()
    expect(redirectIn({ status: 204, headers: {}, data: '' })).toBeUndefined()
    expect(redirectIn({ status: 400, headers: {}, data: '' })).toBeUndefined()
  })

  test('a redirect without location or body still says what happened, and a hostile location stays one short line', () => {
    const bare = gitHubError(
      redirectIn({ status: 301, headers: {}, data: '' }),
      'reading the public key of repository o/r',
      '',
      noRefusals,
    )
    expect(bare.message).toMatch(
      /^GitHub answered HTTP 301 while reading the public key of repository o\/r: HTTP 301, to no location \(no request id\)\./,
    )
    const hostile = gitHubError(
      redirectIn({
        status: 302,
        headers: { location: `https://x.example/\r\n::warning::${'a'.repeat(400)}` },
        data: '',
      }),
      'a',
      '',
      noRefusals,
    )
    expect(hostile.message).not.toMatch(/[\r\n]/)
    expect(hostile.message).toMatch(/to https:\/\/x\.example\/::warning::a+… \(no request id\)/)
    expect(hostile.message.length).toBeLessThan(500)
  })

  test('a wait that ends before the deadline is taken, a few times per request', () => {
    const now = 1_000_000
    const limits = rateLimitDecisions(() => now, now + 20_000)
    const request = 'PUT https://api.github.com/repos/o/r/actions/secrets/KEY'
    expect(limits.wait(20, request, 0)).toBe(true)
    expect(limits.wait(1, request, RATE_LIMIT_RETRIES - 1)).toBe(true)
    expect(limits.refusedWait(request)).toBeUndefined()
  })

  test('a wait past the deadline, or one too many, is refused and remembered for the message', () => {
    let now = 1_000_000
    const limits = rateLimitDecisions(() => now, now + 20_000)
    const late = 'PUT https://api.github.com/repos/o/late/actions/secrets/KEY'
    now += 15_000
    expect(limits.wait(6, late, 0)).toBe(false)
    expect(limits.refusedWait(late)).toBe(6)
    const often = 'PUT https://api.github.com/repos/o/often/actions/secrets/KEY'
    expect(limits.wait(1, often, RATE_LIMIT_RETRIES)).toBe(false)
    expect(limits.refusedWait(often)).toBe(1)
    expect(limits.refusedWait('PUT https://api.github.com/repos/o/other/actions/secrets/KEY')).toBeUndefined()
  })

  test('a refused rate-limit answer names the wait and what to do, not permissions', () => {
    const limits = rateLimitDecisions(() => 0, 20_000)
    limits.wait(3600, requestKey('PUT', 'https://api.github.com/repos/o/r/actions/secrets/KEY'), 0)
    const error = gitHubError(
      requestError(403, 'You have exceeded a secondary rate limit.', { 'retry-after': '3600' }),
      'writing secret KEY to repository o/r',
      'needs Secrets: write',
      limits.refusedWait,
    )
    expect(error.message).toBe(
      "GitHub answered HTTP 403 while writing secret KEY to repository o/r: You have exceeded a secondary rate limit. (request id REQ-1). GitHub asked to wait 3600 s, longer than the step's time for secrets allows. " +
        'Run the job again later; to write to many repositories, use one organization secret with secret-visibility: selected (a single write).',
    )
  })

  test('a 403 that is not a rate limit is about permissions; a 429 always about limits', () => {
    expect(
      gitHubError(requestError(403, 'Resource not accessible by integration'), 'a', 'needs Secrets: write', noRefusals)
        .message,
    ).toMatch(/needs Secrets: write$/)
    expect(
      gitHubError(requestError(429, 'Too Many Requests'), 'a', 'needs Secrets: write', noRefusals).message,
    ).toContain('GitHub is limiting requests. Run the job again later')
  })

  test('nothing, and so no token, is sent outside the origin of github-api-url', async () => {
    const sent: string[] = []
    const fetch = confinedTo('https://ghe.example.com/api/v3', async (input) => {
      sent.push(input instanceof Request ? input.url : input.toString())
      return new Response(null, { status: 204 })
    })
    await fetch('https://ghe.example.com/api/v3/repos/o/r/actions/secrets/KEY', {
      headers: { authorization: 'token t' },
    })
    await expect(fetch('http://127.0.0.2:9/repos/o/r', { headers: { authorization: 'token t' } })).rejects.toThrow(
      'refused to send github-token to http://127.0.0.2:9, which is not github-api-url',
    )
    expect(sent).toEqual(['https://ghe.example.com/api/v3/repos/o/r/actions/secrets/KEY'])
  })
})
