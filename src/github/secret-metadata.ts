// Whether a secret exists and when it was last written: GitHub's `GET …/secrets/{name}` on the five
// kinds of target. GitHub never returns a value, only `created_at` and `updated_at` (its clock,
// whole seconds), which a write GitHub processed moves whether or not its answer reached us. One
// request, no retry: the post step asks once per target, within its own time.
import { sendAttempt } from '../shared/attempt.ts'
import { ServiceError, UnusableAnswerError } from '../shared/errors.ts'
import type { HttpSend } from '../shared/http.ts'
import type { Now } from '../shared/retry.ts'
import { permissionHint } from './answers.ts'
import { GITHUB_API_VERSION } from './api.ts'
import { describeTarget, type SecretPlace } from './plan.ts'

export type SecretMetadata = { exists: false } | { exists: true; updatedAt: number }

export interface MetadataLink {
  apiUrl: string
  token: string
  send: HttpSend
  now: Now
  userAgent: string
  /** Epoch ms by which the request has ended, answered or not. */
  deadline: number
  /** The longest one request may take. */
  timeoutMs: number
}

/** The route of a secret's metadata: the write's route, read with GET (environment names URL-encoded). */
export function secretPath(place: SecretPlace, name: string): string {
  const segment = encodeURIComponent
  const secret = `secrets/${segment(name)}`
  if (place.scope === 'organization') return `/orgs/${segment(place.org)}/${place.type}/${secret}`
  const repo = `/repos/${segment(place.owner)}/${segment(place.repo)}`
  if (place.scope === 'environment') return `${repo}/environments/${segment(place.environment)}/${secret}`
  return `${repo}/${place.type}/${secret}`
}

/**
 * Reads one secret's metadata. A 404 is an absent secret: the token read this target's public key
 * in main, which takes the same read permission, and a token that can write a secret can read it,
 * so a 404 here is not one of access. Anything but a 200 with a readable `updated_at` or a 404 throws.
 */
export async function readSecretMetadata(
  link: MetadataLink,
  place: SecretPlace,
  name: string,
): Promise<SecretMetadata> {
  const action = `reading secret ${name} of ${describeTarget(place)}`
  const response = await sendAttempt(
    {
      service: 'GitHub',
      urlInput: 'github-api-url',
      send: link.send,
      now: link.now,
      deadline: link.deadline,
      cancelledMessage: (doing) => `The post step was cancelled while ${doing}.`,
      requestIdOf: (headers) => headers['x-github-request-id'],
    },
    {
      method: 'GET',
      url: `${link.apiUrl}${secretPath(place, name)}`,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${link.token}`,
        'user-agent': link.userAgent,
        'x-github-api-version': GITHUB_API_VERSION,
      },
    },
    action,
    { n: 1, remainingMs: link.timeoutMs },
  )
  const requestId = response.headers['x-github-request-id']
  if (response.status === 404) return { exists: false }
  const body = parseJson(response.body)
  if (response.status !== 200) {
    const message =
      typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : `HTTP ${response.status}`
    const hint = response.status === 401 || response.status === 403 ? permissionHint(place) : undefined
    throw new ServiceError({ service: 'GitHub', action, status: response.status, message, requestId, hint })
  }
  const updated =
    typeof body === 'object' && body !== null && 'updated_at' in body && typeof body.updated_at === 'string'
      ? Date.parse(body.updated_at)
      : Number.NaN
  if (Number.isNaN(updated))
    throw new UnusableAnswerError('GitHub', action, response.status, 'it has no updated_at time', requestId)
  return { exists: true, updatedAt: updated }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
