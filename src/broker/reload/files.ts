// The files the broker reloads, opened as it starts: anything wrong with them then stops it,
// as any other setting does.
import { ConfigError } from '../config-error.ts'
import { parsePolicy, PolicyError, type Policy } from '../policy/policy.ts'
import { loadAdminKey } from './admin-key.ts'
import { loadMarkerSecret } from './marker-secret.ts'
import { WatchedFile, type Loaded } from './watched-file.ts'

export type ReadFile = (path: string) => Buffer

export function policyFile(path: string, read: ReadFile): WatchedFile<Policy> {
  return new WatchedFile(path, read, (text): Loaded<Policy> => {
    try {
      return { value: parsePolicy(text, path) }
    } catch (error) {
      if (error instanceof PolicyError) return { problems: error.problems }
      throw error
    }
  })
}

export function adminKeyFile(path: string, read: ReadFile): WatchedFile<string> {
  return new WatchedFile(path, read, (text) => loadAdminKey(text, path))
}

export function markerSecretFile(path: string, read: ReadFile): WatchedFile<string> {
  return new WatchedFile(path, read, (text) => loadMarkerSecret(text, path))
}

type Setting = 'BROKER_POLICY' | 'DEEPGRAM_ADMIN_KEY_FILE' | 'BROKER_MARKER_SECRET_FILE'

const WHAT_IT_HOLDS: Record<Setting, string> = {
  BROKER_POLICY: 'policy file',
  DEEPGRAM_ADMIN_KEY_FILE: 'file holding the admin key',
  BROKER_MARKER_SECRET_FILE: 'file holding the marker secret',
}

/** What the file holds as the broker starts; throws a ConfigError or PolicyError (`setting` names the file's variable). */
export function firstLook<T>(file: WatchedFile<T>, setting: Setting): T {
  const look = file.look()
  if (look.kind === 'loaded') return look.value
  if (look.kind === 'refused' && look.sha256 !== undefined)
    throw setting === 'BROKER_POLICY' ? new PolicyError(look.problems) : new ConfigError(look.problems.join(' '))
  // Unreadable: `<path> cannot be read (<code>)`.
  const why = look.kind === 'refused' ? look.problems.join(' ') : `${file.path} cannot be read`
  throw new ConfigError(`${setting} ${why}. Give the path of the ${WHAT_IT_HOLDS[setting]}.`)
}
