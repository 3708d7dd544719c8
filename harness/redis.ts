// A real redis-server (Debian's package) for the tests, the fleet demo, the soak and the bench:
// on 127.0.0.1, a free port, persistence off, its files in a temporary directory. Started and
// stopped by whoever needs it; faults on demand: stopped, frozen (SIGSTOP), started again.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const REDIS_MISSING =
  'redis-server is not installed: install it with `apt-get install redis-server` (Debian, Ubuntu) or `brew install redis` (macOS).'

export interface RunningRedis {
  /** redis://127.0.0.1:PORT */
  url: string
  port: number
  /** The pid of the server now running (it changes with start()). */
  pid(): number
  /** What the server wrote, every run included. */
  output(): string
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits until it has exited. */
  stop(): Promise<void>
  /** Starts the server again on the same port and waits until it answers PING. */
  start(): Promise<void>
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  freeze(): void
  /** SIGCONT: it answers again, what it was sent meanwhile included. */
  thaw(): void
  /** Stops the server for good and removes its directory. */
  close(): Promise<void>
}

/** The path of redis-server on `searchPath`; throws naming the package when it is missing. */
export function redisServerPath(searchPath = process.env.PATH ?? ''): string {
  const found = spawnSync('/bin/sh', ['-c', 'command -v redis-server'], { encoding: 'utf8', env: { PATH: searchPath } })
  const path = found.stdout.trim()
  if (found.status !== 0 || path === '') throw new Error(REDIS_MISSING)
  return path
}

/** Starts a redis-server on 127.0.0.1 and a free port; resolves once it answers PING. */
export async function startRedis(): Promise<RunningRedis> {
  const binary = redisServerPath()
  const dir = mkdtempSync(join(tmpdir(), 'dg-redis-'))
  let output = ''
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let port = 0

  const launch = async (onPort: number): Promise<boolean> => {
    const args = ['--port', String(onPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    const server = spawn(binary, [...args, '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = server
    server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    let gone = false
    exited = new Promise((done) => server.once('close', () => ((gone = true), done())))
    for (let waited = 0; waited < 10_000 && !gone; waited += 20) {
      if (await answersPing(onPort)) return true
      await new Promise((done) => setTimeout(done, 20))
    }
    if (!gone) server.kill('SIGKILL')
    await exited
    return false
  }

  // A port the OS found free a moment ago; another process may take it first, so a few tries.
  for (let attempt = 0; attempt < 5 && port === 0; attempt++) {
    const candidate = await freePort()
    if (await launch(candidate)) port = candidate
  }
  if (port === 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`redis-server did not start:\n${output}`)
  }

  const stop = async (): Promise<void> => {
    const server = child
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) return
    server.kill('SIGTERM')
    server.kill('SIGCONT')
    const timer = setTimeout(() => server.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => child?.pid ?? -1,
    output: () => output,
    stop,
    start: async () => {
      await stop()
      if (!(await launch(port))) throw new Error(`redis-server did not start again on port ${port}:\n${output}`)
    },
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    close: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A TCP port nobody listens on at this moment. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => done(port))
    })
  })
}

/** Whether a Redis on the port answers PING with PONG within 1 s. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let answer = ''
    const finish = (ok: boolean): void => {
      socket.destroy()
      done(ok)
    }
    socket.setTimeout(1_000, () => finish(false))
    socket.once('error', () => finish(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString()
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG'))
    })
  })
}
