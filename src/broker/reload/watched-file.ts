// A file the broker reads again while it runs (the policy, the admin key). Kubernetes updates a
// mounted ConfigMap or Secret by pointing a `..data` symlink at a new directory: the path the
// broker was given is a symlink to `..data/<name>`, whose own mtime never changes, and inotify
// on it sees nothing. So each look reads the whole file through the links and compares its
// SHA-256 with that of the last look: a change is a change of content, whatever way it came.
import { createHash } from 'node:crypto'

/** What a file held, loaded, or every reason it cannot be used. */
export type Loaded<T> = { value: T } | { problems: string[] }

/** What one look at the file found. */
export type Look<T> =
  /** The same content (or the same read error) as the last look: nothing to do. */
  | { kind: 'unchanged'; sha256: string | undefined }
  | { kind: 'loaded'; value: T; sha256: string }
  /** The new content cannot be used (or the file cannot be read): what is in force stays. */
  | { kind: 'refused'; problems: string[]; sha256: string | undefined }

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex')
}

export class WatchedFile<T> {
  readonly path: string
  private readonly read: (path: string) => Buffer
  private readonly load: (text: string) => Loaded<T>
  /** The content's digest at the last look, or `unreadable <code>`; undefined before the first. */
  private seen: string | undefined

  /** `read`: the file's bytes, following symlinks (readFileSync); `load`: checks and parses the text. */
  constructor(path: string, read: (path: string) => Buffer, load: (text: string) => Loaded<T>) {
    this.path = path
    this.read = read
    this.load = load
  }

  /** Reads the file, and loads it if its content changed since the last look. */
  look(): Look<T> {
    let content: Buffer
    try {
      content = this.read(this.path)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error'
      if (this.seen === `unreadable ${code}`) return { kind: 'unchanged', sha256: undefined }
      this.seen = `unreadable ${code}`
      return { kind: 'refused', problems: [`${this.path} cannot be read (${code})`], sha256: undefined }
    }
    const digest = sha256(content)
    if (digest === this.seen) return { kind: 'unchanged', sha256: digest }
    this.seen = digest
    const loaded = this.load(content.toString('utf8'))
    return 'value' in loaded
      ? { kind: 'loaded', value: loaded.value, sha256: digest }
      : { kind: 'refused', problems: loaded.problems, sha256: digest }
  }
}
