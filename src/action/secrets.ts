// The values that must never be shown: api-key, github-token, the job's ID token, a new key or
// token. Each is masked in the runner's log the moment it is known, and kept out of every message
// this action writes itself (errors, warnings), which the runner's mask does not always reach.
import type { ActionIO } from './io.ts'
import { redact } from '../shared/errors.ts'

export class Secrets {
  private readonly values: string[] = []
  private readonly io: Pick<ActionIO, 'setSecret'>

  constructor(io: Pick<ActionIO, 'setSecret'>) {
    this.io = io
  }

  /** Masks `value` from now on and remembers it for redact; an empty value is nothing to hide. */
  add(value: string): void {
    if (value === '') return
    maskSecret(this.io, value)
    this.values.push(value)
  }

  /** `text` with every value added so far replaced by ***. */
  redact(text: string): string {
    return redact(text, this.values)
  }
}

/** Masks a secret line by line: the runner's masking only works on single lines, and it ends one at CR too. */
export function maskSecret(io: Pick<ActionIO, 'setSecret'>, value: string): void {
  for (const line of value.split(/\r\n|\r|\n/)) {
    if (line.trim() !== '') io.setSecret(line)
  }
}
