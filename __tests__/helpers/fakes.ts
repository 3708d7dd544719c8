import type { ActionIO } from '../../src/action/io.ts'
import type { HttpRequest, HttpResponse } from '../../src/shared/http.ts'
import type { RetryClock } from '../../src/shared/retry.ts'

/** A clock whose sleep moves time on at once, and which remembers every wait. */
export function fakeClock(start = Date.parse('2026-11-28T12:00:00Z')): RetryClock & { waits: number[] } {
  let now = start
  const waits: number[] = []
  return {
    waits,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms)
      now += ms
    },
    random: () => 0.5,
  }
}

/** An ActionIO that records what the action told the runner, in order. */
export class RecordingIO implements ActionIO {
  readonly inputs: Record<string, string>
  readonly states: Record<string, string>
  readonly outputs: Record<string, string> = {}
  readonly saved: Record<string, string> = {}
  readonly log: string[] = []
  readonly masked: string[] = []
  summary = ''
  failed: string | undefined
  /** The runner's ID tokens: undefined stands for a job without id-token: write. */
  idTokenFor: (audience: string) => string | undefined = () => undefined

  constructor(inputs: Record<string, string> = {}, states: Record<string, string> = {}) {
    this.inputs = inputs
    this.states = states
  }
  getInput(name: string): string {
    return (this.inputs[name] ?? '').trim()
  }
  setSecret(value: string): void {
    this.masked.push(value)
    this.log.push(`mask`)
  }
  setOutput(name: string, value: string): void {
    this.outputs[name] = value
    this.log.push(`output ${name}`)
  }
  saveState(name: string, value: string): void {
    this.saved[name] = value
    this.log.push(`state ${name}`)
  }
  getState(name: string): string {
    return this.states[name] ?? ''
  }
  info(message: string): void {
    this.log.push(`info ${message}`)
  }
  debug(message: string): void {
    this.log.push(`debug ${message}`)
  }
  notice(message: string): void {
    this.log.push(`notice ${message}`)
  }
  warning(message: string): void {
    this.log.push(`warning ${message}`)
  }
  setFailed(message: string): void {
    this.failed = message
    this.log.push(`error ${message}`)
  }
  async appendSummary(markdown: string): Promise<void> {
    this.summary += markdown
  }
  async getIDToken(audience: string): Promise<string | undefined> {
    this.log.push(`id-token ${audience}`)
    return this.idTokenFor(audience)
  }
}

/** A network that gives the answers in order (an Error is thrown instead of answered), and records what was sent. */
export function scriptedNetwork(answers: (HttpResponse | Error)[]): {
  sent: HttpRequest[]
  send: (request: HttpRequest) => Promise<HttpResponse>
} {
  const sent: HttpRequest[] = []
  const send = async (request: HttpRequest): Promise<HttpResponse> => {
    sent.push(request)
    const answer = answers.shift()
    if (answer === undefined) throw new Error(`unexpected ${request.method} ${request.url}`)
    if (answer instanceof Error) throw answer
    return answer
  }
  return { sent, send }
}
