// A local stand-in for GitHub's Actions/Dependabot secrets REST endpoints.
//
// It exists so tests can drive the action against something that validates the way
// api.github.com does (auth, per-target keys, key_id, sealed-box payloads, names,
// org visibility) and that can fail on demand. Sealed boxes are opened with tweetnacl +
// blakejs rather than libsodium on purpose: the action encrypts with libsodium, so a
// successful open here proves the payload is readable by an independent implementation.
import { createServer, STATUS_CODES } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http'
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  randomInt,
} from 'node:crypto'
import nacl from 'tweetnacl'
import { blake2b } from 'blakejs'

export type SecretKind = 'actions' | 'dependabot'

// repo-level: owner+repo; environment: owner+repo+environment; organization: org
export interface TargetRef {
  kind: SecretKind
  owner?: string
  repo?: string
  environment?: string
  org?: string
}

export interface StoredSecret {
  target: TargetRef
  name: string
  // The decrypted plaintext, byte-for-byte what the client sealed (decoded as UTF-8).
  value: string
  keyId: string
  visibility?: string
  selectedRepositoryIds?: number[]
  writes: number
  /** When a write the emulator processed created it, and last changed it (epoch ms, the emulator's clock). */
  createdAt: number
  updatedAt: number
}

export interface RecordedRequest {
  method: string
  // The request target exactly as sent (prefix, percent-encoding and query kept), so tests
  // can assert on encoding such as `%2F` in environment names.
  path: string
  // Lower-cased header names; repeated headers joined with ', '.
  headers: Record<string, string>
  // Parsed JSON when the body was JSON, the raw text when it was not, undefined when empty.
  body: unknown
  // 0 until the response has been written.
  status: number
  /** When it arrived (epoch ms): tests of pacing read it. */
  at: number
}

export type GitHubFault = StatusFault | DroppedAnswer

export interface StatusFault {
  // Tested against `${method} ${path}` where path is RecordedRequest.path.
  match: RegExp
  status: number
  // Default 1; Infinity allowed.
  times?: number
  message?: string
  headers?: Record<string, string>
  // A rate limit exhausted for this long: x-ratelimit-remaining 0 and x-ratelimit-reset that
  // many seconds after the answer (computed when it is sent).
  resetInSeconds?: number
}

// No answer at all: 'hang' reads the request and never processes or answers it (GitHub unreachable
// half-way); 'lose' processes it as usual (a write is stored) and then never answers (the answer
// lost on the way back). The connection stays open until the client gives up or close().
export interface DroppedAnswer {
  match: RegExp
  drop: 'hang' | 'lose'
  times?: number
}

export interface GitHubEmulatorOptions {
  token?: string
  repos?: { owner: string; name: string; id: number; environments?: string[] }[]
  orgs?: string[]
  // 'none' makes every secrets call answer 403 "Resource not accessible by integration".
  tokenPermissions?: 'all' | 'none'
  // Path prefix for every route, e.g. '/api/v3' for GitHub Enterprise Server.
  prefix?: string
  latencyMs?: number
  // Answers to secret writes (PUT) only wait this long, once the secret is written: a job
  // cancelled while it waits has written the secret already.
  writeLatencyMs?: number
  // Repositories renamed away: every route under /repos/{owner}/{name}/ answers 301 with GitHub's
  // body and a Location under /repositories/{id}/ of the repository `to` ("owner/name").
  renamed?: { owner: string; name: string; to: string }[]
}

export interface GitHubEmulator {
  // Base URL including the prefix, without a trailing slash.
  url: string
  requests: RecordedRequest[]
  secrets: StoredSecret[]
  secret(target: TargetRef, name: string): StoredSecret | undefined
  publicKeyFor(target: TargetRef): { keyId: string; key: string }
  fail(f: GitHubFault): void
  setLatency(ms: number): void
  // Moves the emulator's clock (Date headers, created_at, updated_at) by `ms`: a runner clock off
  // by -ms, as the action sees it.
  setClockSkew(ms: number): void
  // The next request from this call on whose `${method} ${path}` matches, once it has arrived (and
  // been processed): tests wait for the event, not a fixed time.
  nextRequest(match: RegExp): Promise<RecordedRequest>
  close(): Promise<void>
}

// `count` repositories of octo-org, repo-1 to repo-{count}, with ids from 2001.
export function manyRepositories(count: number): { owner: string; name: string; id: number }[] {
  return Array.from({ length: count }, (_, i) => ({ owner: 'octo-org', name: `repo-${i + 1}`, id: 2001 + i }))
}

export const DEFAULT_GITHUB_TOKEN = 'ghs_emulatorToken0123456789abcdefABCDEF0123'

const DEFAULT_REPOS: RepoConfig[] = [
  { owner: 'octo-org', name: 'app', id: 1001, environments: ['preview', 'pr-42'] },
  { owner: 'octo-org', name: 'api', id: 1002 },
  { owner: 'octo-org', name: 'web', id: 1003 },
]
const DEFAULT_ORGS = ['octo-org']

const DOCS = 'https://docs.github.com/rest'
const SECONDARY_RATE_LIMIT_DOCS =
  'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits'

// The pattern GitHub's OpenAPI description puts on encrypted_value: padded, ORIGINAL-alphabet base64.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const VISIBILITIES = ['all', 'private', 'selected']

// ---------------------------------------------------------------------------------------
// Sealed boxes (libsodium crypto_box_seal format) without libsodium
// ---------------------------------------------------------------------------------------

interface BoxKeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

// Opens `ephemeralPk(32) || box(msg, nonce, recipientPk, ephemeralSk)` where
// nonce = blake2b(ephemeralPk || recipientPk, 24). Returns null when it does not open.
export function openSealedBox(sealed: Uint8Array, recipient: BoxKeyPair): Uint8Array | null {
  const pkLength = nacl.box.publicKeyLength
  if (sealed.length < pkLength + nacl.box.overheadLength) return null
  // Copies into this realm's Uint8Array: tweetnacl type-checks with instanceof, and under
  // Jest a Buffer from Node core belongs to another realm.
  const ephemeralPk = new Uint8Array(sealed.subarray(0, pkLength))
  const ciphertext = new Uint8Array(sealed.subarray(pkLength))
  const noncePreimage = new Uint8Array(pkLength * 2)
  noncePreimage.set(ephemeralPk, 0)
  noncePreimage.set(recipient.publicKey, pkLength)
  const nonce = new Uint8Array(blake2b(noncePreimage, undefined, nacl.box.nonceLength))
  return nacl.box.open.after(ciphertext, nonce, sharedKey(recipient, ephemeralPk))
}

// crypto_box_beforenm: HSalsa20 of the X25519 secret. The X25519 step is Node's (OpenSSL):
// tweetnacl's pure-JS curve arithmetic takes ~100 ms a call inside Jest, too slow for 100 targets.
function sharedKey(recipient: BoxKeyPair, ephemeralPk: Uint8Array): Uint8Array {
  const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: b64url(recipient.secretKey), x: b64url(recipient.publicKey) },
    format: 'jwk',
  })
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(ephemeralPk) }, format: 'jwk' })
  const secret = new Uint8Array(diffieHellman({ privateKey, publicKey }))
  const key = new Uint8Array(32)
  hsalsa20(key, new Uint8Array(16), secret, SIGMA)
  return key
}

const SIGMA = new Uint8Array(Buffer.from('expand 32-byte k', 'latin1'))
// tweetnacl exports its primitives as `lowlevel` at run time; its type declarations omit them.
const hsalsa20 = (
  nacl as unknown as {
    lowlevel: {
      crypto_core_hsalsa20: (out: Uint8Array, input: Uint8Array, key: Uint8Array, constant: Uint8Array) => number
    }
  }
).lowlevel.crypto_core_hsalsa20

// A Curve25519 key pair from Node (see sharedKey), as raw 32-byte keys.
function boxKeyPair(): BoxKeyPair {
  const jwk = generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' })
  return {
    publicKey: new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')),
    secretKey: new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url')),
  }
}

// ---------------------------------------------------------------------------------------
// World model: repositories, organizations, targets and their key pairs
// ---------------------------------------------------------------------------------------

interface RepoConfig {
  owner: string
  name: string
  id: number
  environments?: string[]
}

interface KeyEntry {
  keyId: string
  keyPair: BoxKeyPair
}

interface ResolvedTarget {
  // Identity of the target: one key pair and one secret namespace per key.
  key: string
  // The target spelled as configured (GitHub names are case-insensitive).
  ref: TargetRef
  // Repositories an org secret may be scoped to.
  orgRepos?: RepoConfig[]
}

interface State {
  token: string
  url: string
  renamed: { owner: string; name: string; to: string }[]
  repos: RepoConfig[]
  orgs: string[]
  tokenPermissions: 'all' | 'none'
  latencyMs: number
  writeLatencyMs: number
  clockSkewMs: number
  keys: Map<string, KeyEntry>
  usedKeyIds: Set<string>
  faults: { fault: GitHubFault; remaining: number }[]
  requests: RecordedRequest[]
  secrets: StoredSecret[]
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()

// The emulator's clock: the machine's, moved by the skew a test asked for.
const emulatorNow = (state: State): number => Date.now() + state.clockSkewMs

function findRepo(state: State, owner: string, repo: string): RepoConfig | undefined {
  return state.repos.find((r) => same(r.owner, owner) && same(r.name, repo))
}

// Maps a TargetRef onto a configured repo/environment/org; undefined means GitHub would 404.
function resolveTarget(state: State, target: TargetRef): ResolvedTarget | undefined {
  const { kind, owner, repo, environment, org } = target
  if (org !== undefined && owner === undefined && repo === undefined && environment === undefined) {
    const known = state.orgs.find((o) => same(o, org))
    if (known === undefined) return undefined
    return {
      key: `${kind}|org|${known.toLowerCase()}`,
      ref: { kind, org: known },
      orgRepos: state.repos.filter((r) => same(r.owner, known)),
    }
  }
  if (owner === undefined || repo === undefined || org !== undefined) return undefined
  const found = findRepo(state, owner, repo)
  if (found === undefined) return undefined
  const repoKey = `${found.owner}/${found.name}`.toLowerCase()
  if (environment === undefined) {
    return { key: `${kind}|repo|${repoKey}`, ref: { kind, owner: found.owner, repo: found.name } }
  }
  // Environments only hold Actions secrets.
  if (kind !== 'actions') return undefined
  const env = (found.environments ?? []).find((e) => same(e, environment))
  if (env === undefined) return undefined
  return {
    key: `${kind}|env|${repoKey}|${env.toLowerCase()}`,
    ref: { kind, owner: found.owner, repo: found.name, environment: env },
  }
}

function newKeyId(state: State): string {
  // GitHub key ids look like '568250167242549743': numeric strings, unique per key.
  for (;;) {
    const id = `${randomInt(1, 10)}${String(randomInt(0, 1e9)).padStart(9, '0')}${String(randomInt(0, 1e8)).padStart(8, '0')}`
    if (!state.usedKeyIds.has(id)) {
      state.usedKeyIds.add(id)
      return id
    }
  }
}

// Created lazily and then stable for the emulator's life, one per target.
function keyFor(state: State, target: ResolvedTarget): KeyEntry {
  let entry = state.keys.get(target.key)
  if (entry === undefined) {
    entry = { keyId: newKeyId(state), keyPair: boxKeyPair() }
    state.keys.set(target.key, entry)
  }
  return entry
}

function publicKeyBody(entry: KeyEntry): { key_id: string; key: string } {
  return { key_id: entry.keyId, key: Buffer.from(entry.keyPair.publicKey).toString('base64') }
}

function findSecret(state: State, target: ResolvedTarget, name: string): StoredSecret | undefined {
  const upper = name.toUpperCase()
  return state.secrets.find((s) => s.name === upper && resolveTarget(state, s.target)?.key === target.key)
}

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

interface Reply {
  status: number
  // undefined → no body (204).
  body?: unknown
  headers?: Record<string, string>
}

type Result<T> = { ok: true; value: T } | { ok: false; reply: Reply }

function errorReply(
  status: number,
  message: string,
  documentationUrl: string,
  headers?: Record<string, string>,
): Reply {
  const reply: Reply = { status, body: { message, documentation_url: documentationUrl, status: String(status) } }
  if (headers !== undefined) reply.headers = headers
  return reply
}

const notFound = (docs: string): Reply => errorReply(404, 'Not Found', docs)
const invalid = (message: string, docs: string): Result<never> => ({ ok: false, reply: errorReply(422, message, docs) })

// ---------------------------------------------------------------------------------------
// Request body validation for PUT …/secrets/{secret_name}
// ---------------------------------------------------------------------------------------

type ParsedBody = { kind: 'empty' } | { kind: 'json'; value: unknown } | { kind: 'malformed'; raw: string }

interface SecretWrite {
  name: string
  value: string
  keyId: string
  visibility?: string
  selectedRepositoryIds?: number[]
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function validateName(raw: string, docs: string): Result<string> {
  if (!SECRET_NAME.test(raw)) {
    return invalid(
      'Secret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_). Spaces are not allowed. Must start with a letter ([a-z], [A-Z]) or underscores (_).',
      docs,
    )
  }
  if (raw.toUpperCase().startsWith('GITHUB_')) return invalid('Secret names must not start with GITHUB_.', docs)
  // GitHub treats names case-insensitively and stores them upper-case.
  return { ok: true, value: raw.toUpperCase() }
}

function requireBodyObject(body: ParsedBody, docs: string): Result<Record<string, unknown>> {
  if (body.kind === 'malformed') return { ok: false, reply: errorReply(400, 'Problems parsing JSON', docs) }
  if (body.kind === 'empty' || !isRecord(body.value))
    return invalid('Invalid request.\n\nInvalid input: object is expected.', docs)
  return { ok: true, value: body.value }
}

// Checks base64, key_id and that the payload opens with this target's key pair.
function decryptValue(fields: Record<string, unknown>, entry: KeyEntry, docs: string): Result<string> {
  const encrypted = fields['encrypted_value']
  const keyId = fields['key_id']
  if (encrypted === undefined) return invalid('Invalid request.\n\n"encrypted_value" wasn\'t supplied.', docs)
  if (keyId === undefined) return invalid('Invalid request.\n\n"key_id" wasn\'t supplied.', docs)
  if (typeof encrypted !== 'string' || !BASE64.test(encrypted)) {
    return invalid(
      "Invalid request.\n\nFor 'properties/encrypted_value', the value does not match the base64 pattern.",
      docs,
    )
  }
  if (typeof keyId !== 'string')
    return invalid("Invalid request.\n\nFor 'properties/key_id', the value is not a string.", docs)
  if (keyId !== entry.keyId) return invalid('Bad request - key_id is not valid', docs)
  const opened = openSealedBox(Buffer.from(encrypted, 'base64'), entry.keyPair)
  if (opened === null) return invalid('Bad request - encrypted_value is not valid', docs)
  // ignoreBOM keeps a leading U+FEFF: the stored value must be exactly what was sealed.
  return { ok: true, value: new TextDecoder('utf-8', { ignoreBOM: true }).decode(opened) }
}

// Org secrets: visibility is required; selected_repository_ids only with 'selected' and
// only ids of repositories in that org. Dependabot's schema also admits numeric strings.
function validateOrgScope(
  fields: Record<string, unknown>,
  target: ResolvedTarget,
  docs: string,
): Result<{ visibility: string; selectedRepositoryIds?: number[] }> {
  const visibility = fields['visibility']
  if (visibility === undefined) return invalid('Invalid request.\n\n"visibility" wasn\'t supplied.', docs)
  if (typeof visibility !== 'string' || !VISIBILITIES.includes(visibility)) {
    return invalid(
      `Invalid request.\n\nFor 'properties/visibility', ${JSON.stringify(visibility)} is not one of ["all", "private", "selected"].`,
      docs,
    )
  }
  const rawIds = fields['selected_repository_ids']
  if (rawIds === undefined)
    return { ok: true, value: visibility === 'selected' ? { visibility, selectedRepositoryIds: [] } : { visibility } }
  if (visibility !== 'selected') {
    return invalid('selected_repository_ids can only be provided when visibility is "selected".', docs)
  }
  if (!Array.isArray(rawIds))
    return invalid("Invalid request.\n\nFor 'properties/selected_repository_ids', the value is not an array.", docs)
  const ids: number[] = []
  for (const raw of rawIds) {
    const id = repositoryId(raw, target.ref.kind)
    if (id === undefined) {
      return invalid(`Invalid request.\n\nFor 'items', ${JSON.stringify(raw)} is not an integer.`, docs)
    }
    if (!(target.orgRepos ?? []).some((r) => r.id === id)) {
      return invalid(`Repository with id ${id} was not found in organization ${target.ref.org ?? ''}.`, docs)
    }
    ids.push(id)
  }
  return { ok: true, value: { visibility, selectedRepositoryIds: ids } }
}

function repositoryId(raw: unknown, kind: SecretKind): number | undefined {
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return raw
  if (kind === 'dependabot' && typeof raw === 'string' && /^[0-9]+$/.test(raw)) return Number(raw)
  return undefined
}

function validateWrite(
  rawName: string,
  body: ParsedBody,
  target: ResolvedTarget,
  entry: KeyEntry,
  docs: string,
): Result<SecretWrite> {
  const fields = requireBodyObject(body, docs)
  if (!fields.ok) return fields
  const name = validateName(rawName, docs)
  if (!name.ok) return name
  const value = decryptValue(fields.value, entry, docs)
  if (!value.ok) return value
  const write: SecretWrite = { name: name.value, value: value.value, keyId: entry.keyId }
  if (target.ref.org !== undefined) {
    const scope = validateOrgScope(fields.value, target, docs)
    if (!scope.ok) return scope
    write.visibility = scope.value.visibility
    if (scope.value.selectedRepositoryIds !== undefined) write.selectedRepositoryIds = scope.value.selectedRepositoryIds
  }
  return { ok: true, value: write }
}

// Returns true when the secret was created, false when an existing one was updated.
function storeSecret(state: State, target: ResolvedTarget, write: SecretWrite): boolean {
  const existing = findSecret(state, target, write.name)
  const now = emulatorNow(state)
  if (existing !== undefined) {
    existing.value = write.value
    existing.keyId = write.keyId
    existing.writes += 1
    existing.updatedAt = now
    if (write.visibility !== undefined) existing.visibility = write.visibility
    if (write.selectedRepositoryIds !== undefined) existing.selectedRepositoryIds = write.selectedRepositoryIds
    else delete existing.selectedRepositoryIds
    return false
  }
  const stored: StoredSecret = {
    target: { ...target.ref },
    name: write.name,
    value: write.value,
    keyId: write.keyId,
    writes: 1,
    createdAt: now,
    updatedAt: now,
  }
  if (write.visibility !== undefined) stored.visibility = write.visibility
  if (write.selectedRepositoryIds !== undefined) stored.selectedRepositoryIds = write.selectedRepositoryIds
  state.secrets.push(stored)
  return true
}

// ---------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------

interface RouteContext {
  state: State
  params: Record<string, string>
  body: ParsedBody
}

interface Route {
  method: 'GET' | 'PUT'
  // Segments; ':name' captures one (percent-decoded) path segment.
  pattern: string[]
  docs: string
  // Secrets routes are the ones a token without secrets permission cannot call.
  secrets: boolean
  handle: (ctx: RouteContext, docs: string) => Reply
}

type TargetScope = 'repo' | 'env' | 'org'

function targetFromParams(kind: SecretKind, scope: TargetScope, p: Record<string, string>): TargetRef {
  if (scope === 'org') return { kind, org: p['org'] ?? '' }
  const ref: TargetRef = { kind, owner: p['owner'] ?? '', repo: p['repo'] ?? '' }
  if (scope === 'env') ref.environment = p['environment_name'] ?? ''
  return ref
}

function getPublicKey(kind: SecretKind, scope: TargetScope) {
  return ({ state, params }: RouteContext, docs: string): Reply => {
    const target = resolveTarget(state, targetFromParams(kind, scope, params))
    if (target === undefined) return notFound(docs)
    return { status: 200, body: publicKeyBody(keyFor(state, target)) }
  }
}

function putSecret(kind: SecretKind, scope: TargetScope) {
  return ({ state, params, body }: RouteContext, docs: string): Reply => {
    const target = resolveTarget(state, targetFromParams(kind, scope, params))
    if (target === undefined) return notFound(docs)
    const write = validateWrite(params['secret_name'] ?? '', body, target, keyFor(state, target), docs)
    if (!write.ok) return write.reply
    return storeSecret(state, target, write.value) ? { status: 201, body: {} } : { status: 204 }
  }
}

// GitHub's timestamps: UTC, whole seconds.
function gitHubTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

// A secret's metadata, never its value: created_at and updated_at move only with a write processed here.
function getSecret(kind: SecretKind, scope: TargetScope) {
  return ({ state, params }: RouteContext, docs: string): Reply => {
    const target = resolveTarget(state, targetFromParams(kind, scope, params))
    if (target === undefined) return notFound(docs)
    const secret = findSecret(state, target, params['secret_name'] ?? '')
    if (secret === undefined) return notFound(docs)
    const body: Record<string, unknown> = {
      name: secret.name,
      created_at: gitHubTime(secret.createdAt),
      updated_at: gitHubTime(secret.updatedAt),
    }
    if (scope === 'org') {
      body['visibility'] = secret.visibility
      if (secret.visibility === 'selected')
        body['selected_repositories_url'] =
          `${state.url}/orgs/${target.ref.org ?? ''}/${kind}/secrets/${secret.name}/repositories`
    }
    return { status: 200, body }
  }
}

function getRepository({ state, params }: RouteContext, docs: string): Reply {
  const repo = findRepo(state, params['owner'] ?? '', params['repo'] ?? '')
  if (repo === undefined) return notFound(docs)
  return {
    status: 200,
    body: { id: repo.id, name: repo.name, full_name: `${repo.owner}/${repo.name}`, owner: { login: repo.owner } },
  }
}

// GET public-key, GET secret (metadata) and PUT secret for one kind of target. The public key
// comes first: 'public-key' is not a secret name (GitHub's names have no '-').
function secretRoutes(base: string, kind: SecretKind, scope: TargetScope, docsPage: string, docsNoun: string): Route[] {
  const segments = base.split('/')
  return [
    {
      method: 'GET',
      pattern: [...segments, 'secrets', 'public-key'],
      docs: `${DOCS}/${docsPage}#get-${docsNoun}-public-key`,
      secrets: true,
      handle: getPublicKey(kind, scope),
    },
    {
      method: 'GET',
      pattern: [...segments, 'secrets', ':secret_name'],
      docs: `${DOCS}/${docsPage}#get-${docsNoun}-secret`,
      secrets: true,
      handle: getSecret(kind, scope),
    },
    {
      method: 'PUT',
      pattern: [...segments, 'secrets', ':secret_name'],
      docs: `${DOCS}/${docsPage}#create-or-update-${docsNoun}-secret`,
      secrets: true,
      handle: putSecret(kind, scope),
    },
  ]
}

const ROUTES: Route[] = [
  {
    method: 'GET',
    pattern: ['repos', ':owner', ':repo'],
    docs: `${DOCS}/repos/repos#get-a-repository`,
    secrets: false,
    handle: getRepository,
  },
  ...secretRoutes('repos/:owner/:repo/actions', 'actions', 'repo', 'actions/secrets', 'a-repository'),
  ...secretRoutes(
    'repos/:owner/:repo/environments/:environment_name',
    'actions',
    'env',
    'actions/secrets',
    'an-environment',
  ),
  ...secretRoutes('orgs/:org/actions', 'actions', 'org', 'actions/secrets', 'an-organization'),
  ...secretRoutes('repos/:owner/:repo/dependabot', 'dependabot', 'repo', 'dependabot/secrets', 'a-repository'),
  ...secretRoutes('orgs/:org/dependabot', 'dependabot', 'org', 'dependabot/secrets', 'an-organization'),
]

function matchRoute(method: string, segments: string[]): { route: Route; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method || route.pattern.length !== segments.length) continue
    const params: Record<string, string> = {}
    const matched = route.pattern.every((part, i) => {
      const actual = segments[i] ?? ''
      if (part.startsWith(':')) {
        params[part.slice(1)] = actual
        return actual !== ''
      }
      return part === actual
    })
    if (matched) return { route, params }
  }
  return undefined
}

// Splits the path below the prefix into decoded segments; undefined when outside the prefix
// or not decodable. Splitting before decoding keeps `%2F` inside one segment.
function routeSegments(rawUrl: string, prefix: string): string[] | undefined {
  const pathname = rawUrl.split('?')[0] ?? ''
  if (!pathname.startsWith(`${prefix}/`)) return undefined
  try {
    return pathname
      .slice(prefix.length + 1)
      .replace(/\/$/, '')
      .split('/')
      .map((s) => decodeURIComponent(s))
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------
// Cross-cutting concerns: faults, authentication, permissions
// ---------------------------------------------------------------------------------------

function defaultFaultMessage(status: number): string {
  switch (status) {
    case 403:
      return 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
    case 422:
      return 'Validation Failed'
    case 429:
      return 'API rate limit exceeded'
    case 500:
      return 'Server Error'
    default:
      return STATUS_CODES[status] ?? 'Error'
  }
}

// Consumes one use of the first matching fault, if any: a reply, or no answer at all.
function takeFault(state: State, method: string, path: string): Reply | DroppedAnswer['drop'] | undefined {
  const index = state.faults.findIndex((f) => f.fault.match.test(`${method} ${path}`))
  const armed = state.faults[index]
  if (armed === undefined) return undefined
  armed.remaining -= 1
  if (armed.remaining <= 0) state.faults.splice(index, 1)
  if ('drop' in armed.fault) return armed.fault.drop
  const { status, message, resetInSeconds } = armed.fault
  const docs = status === 403 && message === undefined ? SECONDARY_RATE_LIMIT_DOCS : DOCS
  const reset: Record<string, string> =
    resetInSeconds === undefined
      ? {}
      : {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.ceil(emulatorNow(state) / 1000) + resetInSeconds),
        }
  return errorReply(status, message ?? defaultFaultMessage(status), docs, { ...reset, ...armed.fault.headers })
}

// GitHub answers a renamed repository's old routes with 301 to the same route by repository id.
function renamedReply(state: State, prefix: string, path: string): Reply | undefined {
  const segments = routeSegments(path, prefix)
  if (segments === undefined || segments[0] !== 'repos') return undefined
  const renamed = state.renamed.find((r) => same(r.owner, segments[1] ?? '') && same(r.name, segments[2] ?? ''))
  if (renamed === undefined) return undefined
  const [owner = '', name = ''] = renamed.to.split('/')
  const target = findRepo(state, owner, name)
  if (target === undefined) throw new Error(`GitHub emulator: renamed to unknown repository ${renamed.to}`)
  const location = `${state.url}/repositories/${target.id}/${segments.slice(3).map(encodeURIComponent).join('/')}`
  return {
    status: 301,
    body: {
      message: 'Moved Permanently',
      url: location,
      documentation_url: `${DOCS}/guides/best-practices-for-using-the-rest-api#follow-redirects`,
    },
    headers: { location },
  }
}

function isAuthenticated(state: State, authorization: string | undefined): boolean {
  const match = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(authorization ?? '')
  return match?.[1] === state.token
}

// What the server does with a request: answer it, or (a dropped answer) leave it unanswered.
type Outcome = { reply: Reply } | { drop: DroppedAnswer['drop'] }

function dispatch(state: State, prefix: string, req: IncomingMessage, body: ParsedBody): Outcome {
  const method = req.method ?? 'GET'
  const path = req.url ?? '/'
  // Faults stand in for failures in front of the API, so they pre-empt everything else.
  const fault = takeFault(state, method, path)
  if (fault === 'hang') return { drop: fault }
  if (fault === 'lose') {
    // Processed as usual; only the answer is lost.
    route(state, prefix, req, body)
    return { drop: fault }
  }
  if (fault !== undefined) return { reply: fault }
  return { reply: route(state, prefix, req, body) }
}

function route(state: State, prefix: string, req: IncomingMessage, body: ParsedBody): Reply {
  const method = req.method ?? 'GET'
  const path = req.url ?? '/'
  if (!isAuthenticated(state, req.headers.authorization)) return errorReply(401, 'Bad credentials', DOCS)
  const moved = renamedReply(state, prefix, path)
  if (moved !== undefined) return moved
  const segments = routeSegments(path, prefix)
  const found = segments === undefined ? undefined : matchRoute(method, segments)
  if (found === undefined) return notFound(DOCS)
  const { route, params } = found
  if (route.secrets && state.tokenPermissions === 'none') {
    return errorReply(403, 'Resource not accessible by integration', route.docs)
  }
  return route.handle({ state, params, body }, route.docs)
}

// ---------------------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------------------

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}

function readBody(req: IncomingMessage): Promise<ParsedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', reject)
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      if (raw === '') return resolve({ kind: 'empty' })
      try {
        resolve({ kind: 'json', value: JSON.parse(raw) as unknown })
      } catch {
        resolve({ kind: 'malformed', raw })
      }
    })
  })
}

function requestId(): string {
  const hex = (bytes: number): string => randomBytes(bytes).toString('hex').toUpperCase()
  return `${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(4)}`
}

function send(state: State, res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = {
    'x-github-request-id': requestId(),
    // Like every answer of GitHub's: its clock, in whole seconds (HTTP dates have no fraction).
    date: new Date(emulatorNow(state)).toUTCString(),
    ...reply.headers,
  }
  if (reply.body === undefined || reply.status === 204 || reply.status === 304) {
    res.writeHead(reply.status, headers).end()
    return
  }
  const payload = JSON.stringify(reply.body)
  headers['content-type'] = 'application/json; charset=utf-8'
  headers['content-length'] = String(Buffer.byteLength(payload))
  res.writeHead(reply.status, headers).end(payload)
}

function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '' || prefix === '/') return ''
  const trimmed = prefix.replace(/\/+$/, '')
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      const address = server.address()
      if (address === null || typeof address === 'string') reject(new Error('emulator has no TCP address'))
      else resolve(address.port)
    })
  })
}

export async function startGitHubEmulator(options: GitHubEmulatorOptions): Promise<GitHubEmulator> {
  const state: State = {
    token: options.token ?? DEFAULT_GITHUB_TOKEN,
    url: '',
    renamed: options.renamed ?? [],
    repos: (options.repos ?? DEFAULT_REPOS).map((r) => ({ ...r })),
    orgs: [...(options.orgs ?? DEFAULT_ORGS)],
    tokenPermissions: options.tokenPermissions ?? 'all',
    latencyMs: options.latencyMs ?? 0,
    writeLatencyMs: options.writeLatencyMs ?? 0,
    clockSkewMs: 0,
    keys: new Map(),
    usedKeyIds: new Set(),
    faults: [],
    requests: [],
    secrets: [],
  }
  const prefix = normalizePrefix(options.prefix)
  // Tracked so close() can cancel delayed responses instead of leaving timers behind.
  const timers = new Set<NodeJS.Timeout>()
  let closed = false
  // Tests waiting for a request: each hears of every request recorded from now on.
  const watchers = new Set<(record: RecordedRequest) => void>()

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve()
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req)
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: flattenHeaders(req.headers),
      body: body.kind === 'json' ? body.value : body.kind === 'malformed' ? body.raw : undefined,
      status: 0,
      at: Date.now(),
    }
    state.requests.push(record)
    let outcome: Outcome
    try {
      outcome = dispatch(state, prefix, req, body)
    } catch (error) {
      outcome = {
        reply: errorReply(500, `Emulator error: ${error instanceof Error ? error.message : String(error)}`, DOCS),
      }
    }
    for (const watcher of watchers) watcher(record)
    // Left open, unanswered: close() ends the connection.
    if ('drop' in outcome) return
    // The request is processed before the delay, like a slow network on the way back: a
    // client that gives up waiting may still have written the secret.
    await delay(state.latencyMs + (record.method === 'PUT' ? state.writeLatencyMs : 0))
    if (closed) return
    record.status = outcome.reply.status
    send(state, res, outcome.reply)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  const port = await listen(server)
  state.url = `http://127.0.0.1:${port}${prefix}`

  return {
    url: state.url,
    requests: state.requests,
    secrets: state.secrets,
    secret(target, name) {
      const resolved = resolveTarget(state, target)
      return resolved === undefined ? undefined : findSecret(state, resolved, name)
    },
    publicKeyFor(target) {
      const resolved = resolveTarget(state, target)
      if (resolved === undefined) throw new Error(`GitHub emulator: unknown target ${JSON.stringify(target)}`)
      const { key_id, key } = publicKeyBody(keyFor(state, resolved))
      return { keyId: key_id, key }
    },
    fail(fault) {
      const times = fault.times ?? 1
      if (!(times === Infinity || (Number.isInteger(times) && times > 0))) {
        throw new Error(`GitHub emulator: fault times must be a positive integer or Infinity, got ${times}`)
      }
      state.faults.push({ fault, remaining: times })
    },
    setLatency(ms) {
      state.latencyMs = ms
    },
    setClockSkew(ms) {
      state.clockSkewMs = ms
    },
    nextRequest(match) {
      return new Promise((resolve) => {
        const watcher = (record: RecordedRequest): void => {
          if (!match.test(`${record.method} ${record.path}`)) return
          watchers.delete(watcher)
          resolve(record)
        }
        watchers.add(watcher)
      })
    },
    close() {
      if (closed) return Promise.resolve()
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      return new Promise((resolve) => {
        server.close(() => resolve())
        // Keep-alive sockets would otherwise hold close() open until clients hang up.
        server.closeAllConnections()
      })
    },
  }
}
