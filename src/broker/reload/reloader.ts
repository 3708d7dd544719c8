// Looks at the policy file, the admin key file and the marker secret file every POLICY_RELOAD_SECONDS and at once on
// SIGHUP, and puts what changed in force. A change that cannot be used leaves the old one in
// force; either way one JSON line in the audit log says what happened, and the metrics count it.
import type { Policy } from '../policy/policy.ts'
import { keyFingerprint } from './admin-key.ts'
import type { ReloadRecorder } from './metrics.ts'
import type { WatchedFile } from './watched-file.ts'

export type Trigger = 'poll' | 'SIGHUP'

export interface ReloaderDeps {
  policy: { file: WatchedFile<Policy>; use: (policy: Policy) => void }
  /** Only when the key comes from DEEPGRAM_ADMIN_KEY_FILE. */
  adminKey?: { file: WatchedFile<string>; use: (key: string) => void; inUse: () => string }
  /** Only when the marker secret comes from BROKER_MARKER_SECRET_FILE. */
  markerSecret?: { file: WatchedFile<string>; use: (secret: string) => void }
  /** One JSON line of the audit log. */
  audit: (line: object) => void
  metrics: ReloadRecorder
  now: () => number
}

/** Looks at each file once. A SIGHUP that finds nothing new says so, so that the operator knows it was heard. */
export function checkFiles(deps: ReloaderDeps, trigger: Trigger): void {
  const time = (): string => new Date(deps.now()).toISOString()
  const policy = deps.policy.file.look()
  const policyLine = { event: 'policy_reload', trigger, file: deps.policy.file.path }
  if (policy.kind === 'loaded') {
    deps.policy.use(policy.value)
    deps.metrics.reloaded('policy', 'loaded')
    deps.audit({
      time: time(),
      ...policyLine,
      outcome: 'loaded',
      sha256: policy.sha256,
      rules: policy.value.rules.length,
    })
  } else if (policy.kind === 'refused') {
    deps.metrics.reloaded('policy', 'refused')
    deps.audit({
      time: time(),
      ...policyLine,
      outcome: 'refused',
      sha256: policy.sha256 ?? null,
      problems: policy.problems,
    })
  } else if (trigger === 'SIGHUP') {
    deps.audit({ time: time(), ...policyLine, outcome: 'unchanged', sha256: policy.sha256 ?? null })
  }
  if (deps.adminKey) checkAdminKey(deps, deps.adminKey, trigger, time)
  if (deps.markerSecret) checkMarkerSecret(deps, deps.markerSecret, trigger, time)
}

function checkAdminKey(
  deps: ReloaderDeps,
  { file, use, inUse }: NonNullable<ReloaderDeps['adminKey']>,
  trigger: Trigger,
  time: () => string,
): void {
  const key = file.look()
  // The key's file is never described by its digest, which is the key's with a line break.
  const keyLine = { event: 'admin_key_reload', trigger, file: file.path }
  if (key.kind === 'loaded') {
    use(key.value)
    deps.metrics.reloaded('admin_key', 'loaded')
    deps.metrics.adminKeyInUse(keyFingerprint(key.value))
    deps.audit({ time: time(), ...keyLine, outcome: 'loaded', fingerprint: keyFingerprint(key.value) })
  } else if (key.kind === 'refused') {
    deps.metrics.reloaded('admin_key', 'refused')
    deps.audit({
      time: time(),
      ...keyLine,
      outcome: 'refused',
      fingerprint: keyFingerprint(inUse()),
      problems: key.problems,
    })
  } else if (trigger === 'SIGHUP') {
    deps.audit({ time: time(), ...keyLine, outcome: 'unchanged', fingerprint: keyFingerprint(inUse()) })
  }
}

/** Like the admin key's, without even a fingerprint: nothing says which secret is in use. */
function checkMarkerSecret(
  deps: ReloaderDeps,
  { file, use }: NonNullable<ReloaderDeps['markerSecret']>,
  trigger: Trigger,
  time: () => string,
): void {
  const secret = file.look()
  const line = { event: 'marker_secret_reload', trigger, file: file.path }
  if (secret.kind === 'loaded') {
    use(secret.value)
    deps.metrics.reloaded('marker_secret', 'loaded')
    deps.audit({ time: time(), ...line, outcome: 'loaded' })
  } else if (secret.kind === 'refused') {
    deps.metrics.reloaded('marker_secret', 'refused')
    deps.audit({ time: time(), ...line, outcome: 'refused', problems: secret.problems })
  } else if (trigger === 'SIGHUP') {
    deps.audit({ time: time(), ...line, outcome: 'unchanged' })
  }
}

export interface ReloadSchedule {
  /** 0: only on SIGHUP. */
  intervalMs: number
  every: (ms: number, check: () => void) => void
  onSighup: (check: () => void) => void
}

export function startReloading(deps: ReloaderDeps, schedule: ReloadSchedule): void {
  if (schedule.intervalMs > 0) schedule.every(schedule.intervalMs, () => checkFiles(deps, 'poll'))
  schedule.onSighup(() => checkFiles(deps, 'SIGHUP'))
}
