// A local stand-in for Deepgram's key-management API, faithful to the details the action has to
// cope with: three error-body styles, scope expansion, silently ignored unknown fields, and
// failures that happen after the key was already created.
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { billingBreakdown, listRequests, transcribe, usageBreakdown, type UsageRecord } from './deepgram-usage.ts'

export interface EmulatorAccount {
  apiKey: string
  projectIds: string[]
  /** Scopes of the caller key within its projects, e.g. ['member'] or ['keys:read']. */
  scopes: string[]
  /** The member the key acts as; derived from apiKey when omitted (see memberIdOf). */
  memberId?: string
}

export interface EmulatorProject {
  projectId: string
  name: string
}

export interface EmulatedKey {
  projectId: string
  apiKeyId: string
  key: string
  comment: string
  scopes: string[]
  tags: string[]
  expirationDate: string | null
  created: string
  memberId: string
  deleted: boolean
}

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  /** Parsed JSON, the raw text when it is not JSON, or undefined when there was no body. */
  body: unknown
  viaProxy?: boolean
  /** The status answered; 0 when the socket was destroyed or never answered (commitThenReset, neverAnswer, commitThenHang). */
  status: number
}

export type FaultRoute =
  'projects' | 'create' | 'list' | 'get' | 'delete' | 'grant' | 'listen' | 'usage' | 'billing' | 'requests'

export interface Fault {
  route: FaultRoute
  status: number
  /** How many requests of that route get this answer; 1 when omitted. */
  times?: number
  /** A string is sent as text/plain, anything else as JSON; a realistic Deepgram body when omitted. */
  body?: unknown
  headers?: Record<string, string>
}

/** A temporary token the emulator granted (POST /v1/auth/grant). */
export interface GrantedToken {
  accessToken: string
  /** The lifetime answered, in seconds. */
  expiresIn: number
  /** The TTL the request asked for; undefined when it asked none. */
  asked?: number
  /** The key that asked for it. */
  apiKey: string
}

export interface DeepgramEmulatorOptions {
  projects?: EmulatorProject[]
  accounts?: EmulatorAccount[]
  latencyMs?: number
  /** Deepgram's current description has no `tags` in list items; this mimics it. */
  listOmitsTags?: boolean
  /** The sources disagree on the shape of GET /keys/{id}: flat `{member, api_key}` or `{item: {member: {api_key}}}`. */
  getShape?: 'flat' | 'item'
}

export interface DeepgramEmulator {
  url: string
  requests: RecordedRequest[]
  keys: EmulatedKey[]
  /** Every temporary token granted, in order. */
  tokens: GrantedToken[]
  /** Every request counted by POST /v1/listen (or recordUsage), in order: what the usage endpoints report. */
  usage: UsageRecord[]
  /** Counts a request without transcribing, e.g. thousands of them or one of a deleted key. */
  recordUsage(record: Partial<UsageRecord> & { accessor: string; seconds: number }): UsageRecord
  /** The accessor id the usage endpoints give an account's own key (api-key): the key's id on Deepgram. */
  accessorOf(apiKey: string): string
  liveKeys(): EmulatedKey[]
  fail(fault: Fault): void
  commitThenFail(status: number, times?: number): void
  commitThenReset(times?: number): void
  /** The next create commits the key, then never answers. */
  commitThenHang(times?: number): void
  /** The next create commits the key, then sends its 200 answer one byte every `intervalMs`. */
  commitThenTrickle(intervalMs: number, times?: number): void
  /** The next create commits the key, then answers `status` with `body(the usual answer)`: a string is sent as text. */
  commitThenAnswer(status: number, body: (answer: Record<string, unknown>) => unknown, times?: number): void
  /** The next requests of `route` are read and never answered (nothing is committed). */
  neverAnswer(route: FaultRoute, times?: number): void
  /** Moves the emulator's clock (created, expiration_date, what counts as expired) by `ms`. */
  setClockSkew(ms: number): void
  ignoreExpiry(on?: boolean): void
  /** The next create grants these scopes too, and answers with this comment, whatever was asked. */
  grantMore(change: GrantChange): void
  setLatency(ms: number): void
  addKey(k: Partial<EmulatedKey> & { projectId: string; comment: string }): EmulatedKey
  /** Grants ignore ttl_seconds and give 30 s, as older deployments did. */
  ignoreTokenTtl(on?: boolean): void
  /** The next grants give tokens that live `extraSeconds` longer than asked. */
  grantLongerTokens(extraSeconds: number, times?: number): void
  close(): Promise<void>
}

export interface GrantChange {
  scopes?: string[]
  comment?: string
}

export const DEFAULT_PROJECT: EmulatorProject = {
  projectId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  name: 'Demo project',
}

export const DEFAULT_ACCOUNT: EmulatorAccount = {
  apiKey: 'dg_admin_0123456789abcdef0123456789abcdef',
  projectIds: [DEFAULT_PROJECT.projectId],
  scopes: ['member'],
}

// ---------------------------------------------------------------------------------------------
// Server and controls

type AfterCommit =
  | { kind: 'fail'; status: number }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'trickle'; intervalMs: number }
  | { kind: 'answer'; status: number; body: (answer: Record<string, unknown>) => unknown }

interface State {
  projects: EmulatorProject[]
  accounts: EmulatorAccount[]
  keys: EmulatedKey[]
  /** One entry per request still to be failed, so `times` is just repetition. */
  faults: Fault[]
  /** One entry per create still to be sabotaged after it committed. */
  afterCommit: AfterCommit[]
  /** One entry per request still to be left unanswered. */
  hangs: FaultRoute[]
  clockSkewMs: number
  latencyMs: number
  ignoreExpiry: boolean
  grantMore: GrantChange[]
  tokens: GrantedToken[]
  ignoreTokenTtl: boolean
  /** One entry per grant still to be given a longer life than asked. */
  longerTokens: number[]
  /** Signs the emulator's JWTs. */
  tokenSecret: Buffer
  listOmitsTags: boolean
  getShape: 'flat' | 'item'
  usage: UsageRecord[]
}

export async function startDeepgramEmulator(options: DeepgramEmulatorOptions): Promise<DeepgramEmulator> {
  const state: State = {
    // Copies, so that a test mutating the defaults cannot leak into the next emulator.
    projects: (options.projects ?? [DEFAULT_PROJECT]).map((p) => ({ ...p })),
    accounts: (options.accounts ?? [DEFAULT_ACCOUNT]).map((a) => ({
      ...a,
      projectIds: [...a.projectIds],
      scopes: [...a.scopes],
    })),
    keys: [],
    faults: [],
    afterCommit: [],
    hangs: [],
    clockSkewMs: 0,
    latencyMs: options.latencyMs ?? 0,
    ignoreExpiry: false,
    grantMore: [],
    tokens: [],
    ignoreTokenTtl: false,
    longerTokens: [],
    tokenSecret: randomBytes(32),
    listOmitsTags: options.listOmitsTags ?? false,
    getShape: options.getShape ?? 'flat',
    usage: [],
  }
  const requests: RecordedRequest[] = []
  const server = createServer((req, res) => {
    serve(state, requests, req, res).catch((error: unknown) => answerCrash(res, error))
  })
  const port = await listen(server)

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    keys: state.keys,
    tokens: state.tokens,
    usage: state.usage,
    recordUsage: (record) => {
      const full: UsageRecord = {
        requestId: randomUUID(),
        projectId: state.projects[0]?.projectId ?? DEFAULT_PROJECT.projectId,
        created: emulatorNow(state),
        model: 'nova-3',
        tags: [],
        endpoint: 'listen',
        method: 'sync',
        code: 200,
        ttsCharacters: 0,
        ...record,
      }
      state.usage.push(full)
      return full
    },
    accessorOf,
    liveKeys: () => state.keys.filter((k) => !k.deleted && !isExpired(k, emulatorNow(state))),
    fail: (fault) => state.faults.push(...repeat(fault, fault.times ?? 1)),
    commitThenFail: (status, times = 1) =>
      state.afterCommit.push(...repeat<AfterCommit>({ kind: 'fail', status }, times)),
    commitThenReset: (times = 1) => state.afterCommit.push(...repeat<AfterCommit>({ kind: 'reset' }, times)),
    commitThenHang: (times = 1) => state.afterCommit.push(...repeat<AfterCommit>({ kind: 'hang' }, times)),
    commitThenTrickle: (intervalMs, times = 1) =>
      state.afterCommit.push(...repeat<AfterCommit>({ kind: 'trickle', intervalMs }, times)),
    commitThenAnswer: (status, body, times = 1) =>
      state.afterCommit.push(...repeat<AfterCommit>({ kind: 'answer', status, body }, times)),
    neverAnswer: (route, times = 1) => state.hangs.push(...repeat(route, times)),
    setClockSkew: (ms) => {
      state.clockSkewMs = ms
    },
    ignoreExpiry: (on = true) => {
      state.ignoreExpiry = on
    },
    grantMore: (change) => state.grantMore.push(change),
    setLatency: (ms) => {
      state.latencyMs = ms
    },
    addKey: (k) => seedKey(state, k),
    ignoreTokenTtl: (on = true) => {
      state.ignoreTokenTtl = on
    },
    grantLongerTokens: (extraSeconds, times = 1) => state.longerTokens.push(...repeat(extraSeconds, times)),
    close: () => closeServer(server),
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve()
    server.close((error) => (error ? reject(error) : resolve()))
    // Keep-alive sockets would otherwise hold close() open until the client lets go.
    server.closeAllConnections()
  })
}

function repeat<T>(item: T, times: number): T[] {
  return Array.from({ length: times }, () => item)
}

function seedKey(state: State, k: Partial<EmulatedKey> & { projectId: string; comment: string }): EmulatedKey {
  // A seeded key belongs to the first account that can see its project, so that account can revoke it.
  const owner = state.accounts.find((a) => a.projectIds.some((id) => sameUuid(id, k.projectId)))
  const key: EmulatedKey = {
    apiKeyId: randomUUID(),
    key: newSecret(),
    scopes: ['member'],
    tags: [],
    expirationDate: null,
    created: timestamp(emulatorNow(state)),
    memberId: owner ? memberIdOf(owner) : randomUUID(),
    deleted: false,
    ...k,
  }
  state.keys.push(key)
  return key
}

// ---------------------------------------------------------------------------------------------
// One request: read, route, record, wait, answer

interface Incoming {
  method: string
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  rawBody: string
  /** The body as sent, for audio. */
  bytes: Buffer
  requestId: string
}

type Reply =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'text'; status: number; body: string; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'trickle'; status: number; body: unknown; intervalMs: number }

async function serve(
  state: State,
  requests: RecordedRequest[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const incoming = await readIncoming(req)
  const reply = route(state, incoming)
  requests.push({
    method: incoming.method,
    path: incoming.path,
    query: incoming.query,
    headers: incoming.headers,
    body: recordedBody(incoming.rawBody),
    status: reply.kind === 'reset' || reply.kind === 'hang' ? 0 : reply.status,
  })
  if (state.latencyMs > 0) await sleep(state.latencyMs)
  deliver(res, reply, incoming.requestId)
}

async function readIncoming(req: IncomingMessage): Promise<Incoming> {
  const url = new URL(req.url ?? '/', 'http://emulator.invalid')
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  const bytes = await readBody(req)
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers,
    rawBody: bytes.toString('utf8'),
    bytes,
    requestId: randomUUID(),
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function recordedBody(raw: string): unknown {
  if (raw === '') return undefined
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

function deliver(res: ServerResponse, reply: Reply, requestId: string): void {
  // The client may have given up during the latency; there is nobody left to answer.
  if (res.socket === null || res.socket.destroyed) return
  if (reply.kind === 'reset') {
    res.socket.destroy()
    return
  }
  if (reply.kind === 'hang') return
  if (reply.kind === 'trickle') {
    trickle(res, reply.status, JSON.stringify(reply.body), reply.intervalMs, requestId)
    return
  }
  const contentType = reply.kind === 'json' ? 'application/json' : 'text/plain; charset=utf-8'
  const payload = reply.kind === 'json' ? JSON.stringify(reply.body) : reply.body
  res.writeHead(reply.status, { 'content-type': contentType, 'dg-request-id': requestId, ...reply.headers })
  res.end(payload)
}

/** Writes the answer one byte at a time; stops when the client goes away. */
function trickle(res: ServerResponse, status: number, payload: string, intervalMs: number, requestId: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    'dg-request-id': requestId,
  })
  let sent = 0
  const timer = setInterval(() => {
    if (res.destroyed || sent >= payload.length) {
      clearInterval(timer)
      if (!res.destroyed) res.end()
      return
    }
    res.write(payload.charAt(sent++))
  }, intervalMs)
  res.on('close', () => clearInterval(timer))
}

function answerCrash(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(`deepgram emulator crashed: ${error instanceof Error ? error.stack : String(error)}`)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// ---------------------------------------------------------------------------------------------
// Router

type RouteMatch =
  | { name: 'projects' }
  | { name: 'grant' }
  | { name: 'listen' }
  | { name: 'create' | 'list' | 'usage' | 'billing' | 'requests'; projectId: string }
  | { name: 'get' | 'delete'; projectId: string; keyId: string }

interface ProjectContext {
  state: State
  req: Incoming
  account: EmulatorAccount
  projectId: string
}

function route(state: State, req: Incoming): Reply {
  const match = matchRoute(req.method, req.path)
  if (match === undefined) return noSuchRoute(req)
  const hang = state.hangs.indexOf(match.name)
  if (hang >= 0) {
    state.hangs.splice(hang, 1)
    return { kind: 'hang' }
  }
  const fault = takeFault(state, match.name)
  if (fault !== undefined) return faultReply(fault, req.requestId)

  if (match.name === 'listen') return listenRequest(state, req)
  const account = authenticate(state, req.headers['authorization'])
  if (account === undefined) return legacyError(401, 'INVALID_AUTH', 'Invalid credentials.', req.requestId)
  if (match.name === 'projects') return listProjects(state, account)
  if (match.name === 'grant') return grantToken(state, req, account)

  const project = resolveProject(account, match.projectId, req.requestId)
  if (!project.ok) return project.reply
  const ctx: ProjectContext = { state, req, account, projectId: project.value }
  switch (match.name) {
    case 'create':
      return createKey(ctx)
    case 'list':
      return listKeys(ctx)
    case 'get':
      return getKey(ctx, match.keyId)
    case 'delete':
      return deleteKey(ctx, match.keyId)
    case 'usage':
      return requireScope(ctx, 'usage:read') ?? usageReply(ctx, usageBreakdown)
    case 'billing':
      return requireScope(ctx, 'billing:read') ?? usageReply(ctx, billingBreakdown)
    case 'requests':
      return (
        requireScope(ctx, 'usage:read') ??
        answer(listRequests(ctx.state.usage, ctx.projectId, ctx.req.query, ctx.req.requestId))
      )
  }
}

function matchRoute(method: string, path: string): RouteMatch | undefined {
  if (path === '/v1/auth/grant') return method === 'POST' ? { name: 'grant' } : undefined
  if (path === '/v1/listen') return method === 'POST' ? { name: 'listen' } : undefined
  const segments = decodeSegments(path)
  if (segments === undefined || segments[0] !== 'v1' || segments[1] !== 'projects') return undefined
  const [, , projectId, keys, keyId, ...rest] = segments
  if (projectId && method === 'GET') {
    const report = segments.slice(3).join('/')
    if (report === 'usage/breakdown') return { name: 'usage', projectId }
    if (report === 'billing/breakdown') return { name: 'billing', projectId }
    if (report === 'requests') return { name: 'requests', projectId }
  }
  if (rest.length > 0) return undefined
  if (projectId === undefined) return method === 'GET' ? { name: 'projects' } : undefined
  if (keys !== 'keys' || projectId === '') return undefined
  if (keyId === undefined) {
    if (method === 'GET') return { name: 'list', projectId }
    if (method === 'POST') return { name: 'create', projectId }
    return undefined
  }
  if (keyId === '') return undefined
  if (method === 'GET') return { name: 'get', projectId, keyId }
  if (method === 'DELETE') return { name: 'delete', projectId, keyId }
  return undefined
}

function decodeSegments(path: string): string[] | undefined {
  try {
    return path.split('/').slice(1).map(decodeURIComponent)
  } catch {
    return undefined
  }
}

function noSuchRoute(req: Incoming): Reply {
  return modernError(
    404,
    'NOT_FOUND',
    'The requested resource could not be found.',
    `No route for ${req.method} ${req.path}.`,
    req.requestId,
  )
}

function takeFault(state: State, routeName: FaultRoute): Fault | undefined {
  const index = state.faults.findIndex((f) => f.route === routeName)
  return index < 0 ? undefined : state.faults.splice(index, 1)[0]
}

function faultReply(fault: Fault, requestId: string): Reply {
  const headers = fault.headers ?? {}
  if (fault.body === undefined)
    return { kind: 'json', status: fault.status, body: defaultErrorBody(fault.status, requestId), headers }
  if (typeof fault.body === 'string') return { kind: 'text', status: fault.status, body: fault.body, headers }
  return { kind: 'json', status: fault.status, body: fault.body, headers }
}

// ---------------------------------------------------------------------------------------------
// Authentication, projects and permissions

type Outcome<T> = { ok: true; value: T } | { ok: false; reply: Reply }

const ROLES = new Set(['member', 'admin', 'owner'])

function authenticate(state: State, authorization: string | undefined): EmulatorAccount | undefined {
  // Only `Token <key>` works: Deepgram's management API rejects Bearer JWTs.
  const match = /^token\s+(\S+)\s*$/i.exec(authorization ?? '')
  const apiKey = match?.[1]
  if (apiKey === undefined) return undefined
  const account = state.accounts.find((a) => a.apiKey === apiKey)
  if (account !== undefined) return account
  // A live key minted here works too, with its own scopes, as the member who created it: so a
  // member's new key sees (and may delete) the keys that member made before, as on Deepgram.
  const minted = state.keys.find((k) => k.key === apiKey && !k.deleted && !isExpired(k, Date.now()))
  return minted && { apiKey, projectIds: [minted.projectId], scopes: minted.scopes, memberId: minted.memberId }
}

function listProjects(state: State, account: EmulatorAccount): Reply {
  const projects = state.projects
    .filter((p) => account.projectIds.some((id) => sameUuid(id, p.projectId)))
    .map((p) => ({ project_id: p.projectId, name: p.name }))
  return json(200, { projects })
}

function resolveProject(account: EmulatorAccount, rawId: string, requestId: string): Outcome<string> {
  const parsed = parseUuid(rawId)
  if (!parsed.ok) return { ok: false, reply: textReply(404, parsed.message) }
  if (!account.projectIds.some((id) => sameUuid(id, parsed.uuid))) {
    return {
      ok: false,
      reply: modernError(
        404,
        'NOT_FOUND',
        'A project with the submitted ID cannot be found.',
        'Check that you have submitted the intended project ID and that the project has not been deleted.',
        requestId,
      ),
    }
  }
  return { ok: true, value: parsed.uuid }
}

function can(account: EmulatorAccount, permission: 'keys:read' | 'keys:write'): boolean {
  // Every role holds both key permissions, and a key that may write may also read.
  return account.scopes.some(
    (s) => ROLES.has(s) || s === permission || (permission === 'keys:read' && s === 'keys:write'),
  )
}

function requirePermission(ctx: ProjectContext, permission: 'keys:read' | 'keys:write'): Reply | undefined {
  if (can(ctx.account, permission)) return undefined
  return legacyError(403, 'INSUFFICIENT_PERMISSIONS', 'User does not have sufficient permissions.', ctx.req.requestId)
}

/**
 * Usage and the request log need usage:read (every role has it), cost billing:read (admins and
 * owners have it), as Deepgram's roles give them.
 */
function requireScope(ctx: ProjectContext, scope: 'usage:read' | 'billing:read'): Reply | undefined {
  const roles = scope === 'usage:read' ? ROLES : new Set(['admin', 'owner'])
  if (ctx.account.scopes.some((s) => roles.has(s) || s === scope)) return undefined
  return legacyError(403, 'INSUFFICIENT_PERMISSIONS', 'User does not have sufficient permissions.', ctx.req.requestId)
}

function usageReply(
  ctx: ProjectContext,
  report: (
    records: UsageRecord[],
    projectId: string,
    query: Record<string, string>,
    now: number,
    requestId: string,
  ) => { status: number; body: unknown },
): Reply {
  return answer(report(ctx.state.usage, ctx.projectId, ctx.req.query, emulatorNow(ctx.state), ctx.req.requestId))
}

function answer(reply: { status: number; body: unknown }): Reply {
  return json(reply.status, reply.body)
}

/**
 * POST /v1/listen with a key (Token) or a temporary token (Bearer): the request counts against
 * the key, or against the key that granted the token, as on Deepgram. A deleted or expired key,
 * or an expired token, is refused.
 */
function listenRequest(state: State, req: Incoming): Reply {
  const caller = listener(state, req.headers['authorization'])
  if (caller === undefined) return legacyError(401, 'INVALID_AUTH', 'Invalid credentials.', req.requestId)
  return answer(transcribe(state.usage, caller, req.bytes, req.query, emulatorNow(state), req.requestId))
}

function listener(
  state: State,
  authorization: string | undefined,
): { projectId: string; accessor: string; tags: string[] } | undefined {
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
  const apiKey = bearer === undefined ? /^token\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] : undefined
  const token = bearer === undefined ? undefined : state.tokens.find((t) => t.accessToken === bearer)
  if (token !== undefined && !tokenLive(token.accessToken, emulatorNow(state))) return undefined
  const key = apiKey ?? token?.apiKey
  if (key === undefined) return undefined
  const minted = state.keys.find((k) => k.key === key)
  if (minted !== undefined)
    return minted.deleted || isExpired(minted, emulatorNow(state))
      ? undefined
      : { projectId: minted.projectId, accessor: minted.apiKeyId, tags: minted.tags }
  const account = state.accounts.find((a) => a.apiKey === key)
  const projectId = account?.projectIds[0]
  return account && projectId ? { projectId, accessor: accessorOf(account.apiKey), tags: [] } : undefined
}

function tokenLive(jwt: string, now: number): boolean {
  const payload = recordedBody(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'))
  return isRecord(payload) && typeof payload['exp'] === 'number' && payload['exp'] * 1000 > now
}

/** An account's own key has an id on Deepgram too: derived from the key, so that it is stable. */
function accessorOf(apiKey: string): string {
  const hex = createHash('sha256').update(`accessor ${apiKey}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-9${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** Members and admins manage only the keys they created; owners see every key of the project. */
function visibleKeys(ctx: ProjectContext): EmulatedKey[] {
  const memberId = memberIdOf(ctx.account)
  const seesAll = ctx.account.scopes.includes('owner')
  return ctx.state.keys.filter(
    (k) => !k.deleted && sameUuid(k.projectId, ctx.projectId) && (seesAll || k.memberId === memberId),
  )
}

function memberIdOf(account: EmulatorAccount): string {
  if (account.memberId !== undefined) return account.memberId
  // Derived from the key so that it is stable across emulator restarts.
  const hex = createHash('sha256').update(account.apiKey).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

function emailOf(memberId: string): string {
  return `member-${memberId.slice(0, 8)}@example.com`
}

// ---------------------------------------------------------------------------------------------
// Key handlers

function createKey(ctx: ProjectContext): Reply {
  const denied = requirePermission(ctx, 'keys:write')
  if (denied !== undefined) return denied
  const request = parseCreateRequest(ctx.req)
  if (!request.ok) return request.reply
  const key = commitKey(ctx, request.value)

  const answer: Record<string, unknown> = {
    api_key_id: key.apiKeyId,
    key: key.key,
    comment: key.comment,
    scopes: key.scopes,
    ...(key.tags.length > 0 ? { tags: key.tags } : {}),
    ...(key.expirationDate !== null ? { expiration_date: key.expirationDate } : {}),
    created: key.created,
  }
  const sabotage = ctx.state.afterCommit.shift()
  if (sabotage?.kind === 'reset' || sabotage?.kind === 'hang') return { kind: sabotage.kind }
  if (sabotage?.kind === 'fail') return json(sabotage.status, defaultErrorBody(sabotage.status, ctx.req.requestId))
  if (sabotage?.kind === 'trickle')
    return { kind: 'trickle', status: 200, body: answer, intervalMs: sabotage.intervalMs }
  if (sabotage?.kind === 'answer') {
    const body = sabotage.body(answer)
    return typeof body === 'string' ? textReply(sabotage.status, body) : json(sabotage.status, body)
  }
  return json(200, answer)
}

function commitKey(ctx: ProjectContext, request: KeyRequest): EmulatedKey {
  const now = emulatorNow(ctx.state)
  const more = ctx.state.grantMore.shift()
  const key: EmulatedKey = {
    projectId: ctx.projectId,
    apiKeyId: randomUUID(),
    key: newSecret(),
    comment: more?.comment ?? request.comment,
    scopes: expandScopes([...request.scopes, ...(more?.scopes ?? [])]),
    tags: request.tags,
    expirationDate: ctx.state.ignoreExpiry ? null : expirationOf(request.expiry, now),
    created: timestamp(now),
    memberId: memberIdOf(ctx.account),
    deleted: false,
  }
  ctx.state.keys.push(key)
  return key
}

function expirationOf(expiry: Expiry | undefined, now: number): string | null {
  if (expiry === undefined) return null
  return timestamp(expiry.kind === 'date' ? expiry.at : now + expiry.seconds * 1000)
}

/** Deepgram adds keys:read right after keys:write (its docs show the expanded list). */
function expandScopes(requested: string[]): string[] {
  const scopes: string[] = []
  for (const scope of requested) {
    if (!scopes.includes(scope)) scopes.push(scope)
    if (scope === 'keys:write' && !requested.includes('keys:read')) scopes.push('keys:read')
  }
  return scopes
}

function listKeys(ctx: ProjectContext): Reply {
  const denied = requirePermission(ctx, 'keys:read')
  if (denied !== undefined) return denied
  const status = ctx.req.query['status']
  if (status !== undefined && status !== 'active' && status !== 'expired') {
    return textReply(
      400,
      `Failed to deserialize query string: unknown variant \`${status}\`, expected \`active\` or \`expired\``,
    )
  }
  const now = emulatorNow(ctx.state)
  const keys = visibleKeys(ctx).filter((k) => status === undefined || isExpired(k, now) === (status === 'expired'))
  const includeTags = !ctx.state.listOmitsTags
  return json(200, { api_keys: keys.map((k) => ({ member: memberView(k), api_key: apiKeyView(k, includeTags) })) })
}

function getKey(ctx: ProjectContext, rawKeyId: string): Reply {
  const denied = requirePermission(ctx, 'keys:read')
  if (denied !== undefined) return denied
  const found = findKey(ctx, rawKeyId)
  if (!found.ok) return found.reply
  const member = memberView(found.value)
  const apiKey = apiKeyView(found.value, true)
  if (ctx.state.getShape === 'item') return json(200, { item: { member: { ...member, api_key: apiKey } } })
  return json(200, { member, api_key: apiKey })
}

function deleteKey(ctx: ProjectContext, rawKeyId: string): Reply {
  const denied = requirePermission(ctx, 'keys:write')
  if (denied !== undefined) return denied
  const found = findKey(ctx, rawKeyId)
  if (!found.ok) return found.reply
  found.value.deleted = true
  return json(200, { message: 'Successfully deleted the API key!' })
}

function findKey(ctx: ProjectContext, rawKeyId: string): Outcome<EmulatedKey> {
  // Key ids are UUIDs on Deepgram's side too, so a malformed one fails the same way as a project id.
  const parsed = parseUuid(rawKeyId)
  if (!parsed.ok) return { ok: false, reply: textReply(404, parsed.message) }
  const key = visibleKeys(ctx).find((k) => sameUuid(k.apiKeyId, parsed.uuid))
  if (key !== undefined) return { ok: true, value: key }
  return {
    ok: false,
    reply: modernError(
      404,
      'NOT_FOUND',
      'API key not found.',
      'Check that you have submitted the intended API key ID and that the key has not been deleted.',
      ctx.req.requestId,
    ),
  }
}

function memberView(key: EmulatedKey): { member_id: string; email: string } {
  return { member_id: key.memberId, email: emailOf(key.memberId) }
}

function apiKeyView(key: EmulatedKey, includeTags: boolean): Record<string, unknown> {
  return {
    api_key_id: key.apiKeyId,
    comment: key.comment,
    scopes: key.scopes,
    ...(includeTags && key.tags.length > 0 ? { tags: key.tags } : {}),
    ...(key.expirationDate !== null ? { expiration_date: key.expirationDate } : {}),
    created: key.created,
  }
}

/** The emulator's own clock: the real one, moved by setClockSkew. */
function emulatorNow(state: State): number {
  return Date.now() + state.clockSkewMs
}

function isExpired(key: EmulatedKey, now: number): boolean {
  return key.expirationDate !== null && Date.parse(key.expirationDate) <= now
}

// ---------------------------------------------------------------------------------------------
// Temporary tokens

/** What POST /v1/auth/grant gives when the body asks no ttl_seconds. */
export const DEFAULT_TOKEN_SECONDS = 30

/**
 * A JWT carrying usage::write and its expiry, for the TTL asked (30 s by default, 1 to 3600), to
 * a key of the Member role or higher. The body is optional, as Deepgram's description says.
 */
function grantToken(state: State, req: Incoming, account: EmulatorAccount): Reply {
  if (!account.scopes.some((scope) => ROLES.has(scope)))
    return legacyError(403, 'FORBIDDEN', 'Insufficient permissions.', req.requestId)
  let asked: number | undefined
  if (req.rawBody.trim() !== '') {
    const body = recordedBody(req.rawBody)
    if (!isRecord(body))
      return legacyError(400, 'Bad Request', 'The request body must be a JSON object.', req.requestId)
    const ttl = body.ttl_seconds
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 1 || ttl > 3600)) {
      return legacyError(400, 'Bad Request', 'ttl_seconds must be a number between 1 and 3600.', req.requestId)
    }
    asked = ttl
  }
  const longer = state.longerTokens.shift() ?? 0
  const expiresIn = (state.ignoreTokenTtl ? DEFAULT_TOKEN_SECONDS : (asked ?? DEFAULT_TOKEN_SECONDS)) + longer
  const now = Math.floor(emulatorNow(state) / 1000)
  const accessToken = signedJwt(state.tokenSecret, {
    sub: memberIdOf(account),
    scopes: ['usage::write'],
    iat: now,
    exp: now + expiresIn,
    jti: randomUUID(),
  })
  state.tokens.push({ accessToken, expiresIn, asked, apiKey: account.apiKey })
  return json(200, { access_token: accessToken, expires_in: expiresIn })
}

function signedJwt(secret: Buffer, payload: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

// ---------------------------------------------------------------------------------------------
// Create-request validation, worded like Deepgram's serde/chrono-based server

type Expiry = { kind: 'date'; at: number } | { kind: 'ttl'; seconds: number }

interface KeyRequest {
  comment: string
  scopes: string[]
  tags: string[]
  expiry: Expiry | undefined
}

type FieldCheck = (value: unknown) => string | undefined

// Optional fields are Option<T> on Deepgram's side, so an explicit null means "absent".
const FIELD_CHECKS: Record<string, FieldCheck> = {
  comment: (v) => (typeof v === 'string' ? undefined : invalidType(v, 'a string')),
  scopes: (v) => stringListProblem(v),
  tags: (v) => (v === null ? undefined : stringListProblem(v)),
  expiration_date: (v) =>
    v === null ? undefined : typeof v === 'string' ? dateTimeProblem(v) : invalidType(v, 'a string'),
  time_to_live_in_seconds: (v) => (v === null ? undefined : ttlProblem(v)),
}

const REQUIRED_FIELDS = ['comment', 'scopes']

function parseCreateRequest(req: Incoming): Outcome<KeyRequest> {
  const { rawBody: raw, requestId } = req
  const refuse = (reply: Reply): Outcome<KeyRequest> => ({ ok: false, reply })
  const deserializeError = (problem: string, index: number): Outcome<KeyRequest> =>
    refuse(
      modernError(
        400,
        'INVALID_JSON',
        'Invalid JSON submitted.',
        `Json deserialize error: ${problem} at ${lineColumn(raw, index)}`,
        requestId,
      ),
    )

  if (!isJsonContentType(req.headers['content-type'])) {
    return refuse(legacyError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-type must be application/json.', requestId))
  }
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch {
    return refuse(
      legacyError(
        400,
        'Bad Request',
        'Content-type was application/json, but we could not process the JSON payload.',
        requestId,
      ),
    )
  }
  const end = raw.trimEnd().length - 1
  if (!isRecord(body)) return deserializeError(invalidType(body, 'struct CreateKeyRequest'), end)

  const valueEnds = topLevelValueEnds(raw)
  for (const [field, value] of Object.entries(body)) {
    const problem = FIELD_CHECKS[field]?.(value)
    if (problem !== undefined) return deserializeError(problem, valueEnds.get(field) ?? end)
  }
  const missing = REQUIRED_FIELDS.find((field) => body[field] === undefined)
  if (missing !== undefined) return deserializeError(`missing field \`${missing}\``, end)

  const scopes = body['scopes'] as string[]
  if (scopes.length === 0) {
    return refuse(modernError(400, 'BAD_REQUEST', 'Invalid scopes.', 'At least one scope is required.', requestId))
  }
  const expirationDate = body['expiration_date'] as string | null | undefined
  const ttl = body['time_to_live_in_seconds'] as number | null | undefined
  if (expirationDate != null && ttl != null) {
    return refuse(
      modernError(
        400,
        'BAD_REQUEST',
        'Only one of expiration_date and time_to_live_in_seconds may be given.',
        'Remove one of the two expiry fields.',
        requestId,
      ),
    )
  }
  if (ttl === 0) {
    return refuse(
      modernError(
        400,
        'BAD_REQUEST',
        'Invalid time_to_live_in_seconds.',
        'time_to_live_in_seconds must be greater than zero.',
        requestId,
      ),
    )
  }
  return {
    ok: true,
    value: {
      comment: body['comment'] as string,
      scopes,
      tags: (body['tags'] as string[] | null | undefined) ?? [],
      expiry:
        expirationDate != null
          ? { kind: 'date', at: Date.parse(expirationDate.toUpperCase()) }
          : ttl != null
            ? { kind: 'ttl', seconds: ttl }
            : undefined,
    },
  }
}

function isJsonContentType(contentType: string | undefined): boolean {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  return mediaType === 'application/json' || mediaType.endsWith('+json')
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringListProblem(value: unknown): string | undefined {
  if (!Array.isArray(value)) return invalidType(value, 'a sequence')
  const bad: unknown = value.find((item) => typeof item !== 'string')
  return bad === undefined ? undefined : invalidType(bad, 'a string')
}

function ttlProblem(value: unknown): string | undefined {
  if (typeof value !== 'number') return invalidType(value, 'u64')
  if (!Number.isInteger(value)) return `invalid type: floating point \`${value}\`, expected u64`
  if (value < 0) return `invalid value: integer \`${value}\`, expected u64`
  return undefined
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** chrono's wording for the ways an RFC 3339 date-time can be wrong. */
function dateTimeProblem(text: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return 'input is not enough for unique date and time'
  if (/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) return 'premature end of input'
  if (!RFC3339.test(text)) return 'input contains invalid characters'
  if (Number.isNaN(Date.parse(text.toUpperCase()))) return 'input is out of range'
  return undefined
}

function invalidType(value: unknown, expected: string): string {
  return `invalid type: ${unexpected(value)}, expected ${expected}`
}

/** How serde_json names a JSON value it did not expect. */
function unexpected(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'sequence'
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value)}`
    case 'number':
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``
    case 'boolean':
      return `boolean \`${value}\``
    default:
      return 'map'
  }
}

/**
 * Index of the last character of each top-level member's value, so that errors can carry the
 * "at line L column C" serde_json reports (it points just past the value it was reading).
 */
function topLevelValueEnds(raw: string): Map<string, number> {
  const ends = new Map<string, number>()
  let depth = 0
  let inString = false
  let escaped = false
  let stringStart = 0
  let lastString = ''
  let lastSolid = -1
  let member: string | undefined
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charAt(i)
    if (inString) {
      if (escaped) escaped = false
      else if (ch === '\\') escaped = true
      else if (ch === '"') {
        inString = false
        lastString = raw.slice(stringStart, i + 1)
      }
      lastSolid = i
      continue
    }
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') continue
    if (ch === '"') {
      inString = true
      stringStart = i
    } else if (ch === ':' && depth === 1) {
      member = JSON.parse(lastString) as string
    } else if ((ch === ',' || ch === '}') && depth === 1 && member !== undefined) {
      ends.set(member, lastSolid)
      member = undefined
    }
    if (ch === '{' || ch === '[') depth++
    if (ch === '}' || ch === ']') depth--
    lastSolid = i
  }
  return ends
}

/** serde_json's position just after the character at `index`: 1-based line, column counted from 1. */
function lineColumn(raw: string, index: number): string {
  const before = raw.slice(0, index + 1)
  const line = before.split('\n').length
  const column = before.length - (before.lastIndexOf('\n') + 1)
  return `line ${line} column ${column}`
}

// ---------------------------------------------------------------------------------------------
// Bodies

function json(status: number, body: unknown): Reply {
  return { kind: 'json', status, body }
}

function textReply(status: number, body: string): Reply {
  return { kind: 'text', status, body }
}

function legacyError(status: number, errCode: string, errMsg: string, requestId: string): Reply {
  return json(status, { err_code: errCode, err_msg: errMsg, request_id: requestId })
}

function modernError(status: number, category: string, message: string, details: string, requestId: string): Reply {
  return json(status, { category, message, details, request_id: requestId })
}

const LEGACY_ERRORS: Record<number, { code: string; message: string }> = {
  400: { code: 'Bad Request', message: 'The request was invalid.' },
  401: { code: 'INVALID_AUTH', message: 'Invalid credentials.' },
  402: { code: 'PAYMENT_REQUIRED', message: 'Project does not have enough credits for this request.' },
  403: { code: 'INSUFFICIENT_PERMISSIONS', message: 'User does not have sufficient permissions.' },
  404: { code: 'NOT_FOUND', message: 'Not found.' },
  408: { code: 'REQUEST_TIMEOUT', message: 'The request timed out.' },
  429: { code: 'TOO_MANY_REQUESTS', message: 'Too many requests. Please try again later' },
}

/** The body Deepgram would send with `status` when nothing more specific applies. */
function defaultErrorBody(status: number, requestId: string): unknown {
  // Deepgram's own 503 body says error_code, not err_code.
  if (status === 503)
    return { error_code: 'Service Unavailable', err_msg: 'Please try again later', request_id: requestId }
  if (status === 500 || status === 502) {
    return {
      category: 'INTERNAL_SERVER_ERROR',
      message: 'An internal server error occurred.',
      details: 'Please try again later. If the problem persists, contact Deepgram support.',
      request_id: requestId,
    }
  }
  const known = LEGACY_ERRORS[status]
  if (known !== undefined) return { err_code: known.code, err_msg: known.message, request_id: requestId }
  const phrase = STATUS_PHRASES[status] ?? 'Error'
  return { err_code: phrase.toUpperCase().replace(/[^A-Z0-9]+/g, '_'), err_msg: `${phrase}.`, request_id: requestId }
}

const STATUS_PHRASES: Record<number, string> = {
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  504: 'Gateway Timeout',
}

// ---------------------------------------------------------------------------------------------
// Formats

type UuidParse = { ok: true; uuid: string } | { ok: false; message: string }

const UUID_GROUP_LENGTHS = [8, 4, 4, 4, 12]

/** Parses like Rust's uuid crate, with its error wording, and returns the canonical lower-case form. */
function parseUuid(text: string): UuidParse {
  const fail = (reason: string): UuidParse => ({ ok: false, message: `UUID parsing failed: ${reason}` })
  const bad = /[^0-9a-fA-F-]/.exec(text)
  if (bad !== null) {
    return fail(
      `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-zA-Z], found \`${bad[0]}\` at ${bad.index + 1}`,
    )
  }
  const lower = text.toLowerCase()
  const groups = lower.split('-')
  if (groups.length === 1) {
    if (lower.length !== 32) return fail(`invalid length: expected length 32 for simple format, found ${lower.length}`)
    return {
      ok: true,
      uuid: [0, 8, 12, 16, 20].map((start, i) => lower.slice(start, start + (UUID_GROUP_LENGTHS[i] ?? 0))).join('-'),
    }
  }
  if (groups.length !== 5) return fail(`invalid group count: expected 5, found ${groups.length}`)
  const wrong = groups.findIndex((g, i) => g.length !== UUID_GROUP_LENGTHS[i])
  if (wrong >= 0)
    return fail(
      `invalid group length in group ${wrong}: expected ${UUID_GROUP_LENGTHS[wrong]}, found ${groups[wrong]?.length}`,
    )
  return { ok: true, uuid: lower }
}

function sameUuid(a: string, b: string): boolean {
  const canonical = (id: string): string => {
    const parsed = parseUuid(id)
    return parsed.ok ? parsed.uuid : id
  }
  return canonical(a) === canonical(b)
}

function newSecret(): string {
  return randomBytes(20).toString('hex')
}

/** Deepgram writes timestamps with microseconds and a Z, e.g. 2024-05-21T17:19:49.373761Z. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z')
}
