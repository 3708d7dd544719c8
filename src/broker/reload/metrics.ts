// What the reloads count, in the broker's registry (http/metrics.ts): whether the files in force are
// the ones on disk, and which admin key is in use. Labels are fixed words and the key's
// fingerprint (admin-key.ts), never the key; nothing about the marker secret but its reloads.
import { Counter, Gauge, type Registry } from 'prom-client'

export type ReloadedFile = 'policy' | 'admin_key' | 'marker_secret'
export type ReloadOutcome = 'loaded' | 'refused'

export interface ReloadRecorder {
  reloaded(file: ReloadedFile, outcome: ReloadOutcome): void
  adminKeyInUse(fingerprint: string): void
}

export const NO_RELOAD_METRICS: ReloadRecorder = { reloaded: () => undefined, adminKeyInUse: () => undefined }

export function createReloadMetrics(registry: Registry): ReloadRecorder {
  const registers = [registry]
  const reloads = {
    policy: new Counter({
      name: 'broker_policy_reloads_total',
      help: 'Reloads of BROKER_POLICY after its content changed or on SIGHUP, by outcome (refused: the old policy stays).',
      labelNames: ['outcome'],
      registers,
    }),
    admin_key: new Counter({
      name: 'broker_admin_key_reloads_total',
      help: 'Reloads of DEEPGRAM_ADMIN_KEY_FILE after its content changed or on SIGHUP, by outcome (refused: the old key stays).',
      labelNames: ['outcome'],
      registers,
    }),
    marker_secret: new Counter({
      name: 'broker_marker_secret_reloads_total',
      help: 'Reloads of BROKER_MARKER_SECRET_FILE after its content changed or on SIGHUP, by outcome (refused: the old secret stays).',
      labelNames: ['outcome'],
      registers,
    }),
  }
  const lastSuccessful = {
    policy: new Gauge({
      name: 'broker_policy_last_reload_successful',
      help: '1 when the policy in force is what BROKER_POLICY holds, 0 when its last change was refused.',
      registers,
    }),
    admin_key: new Gauge({
      name: 'broker_admin_key_last_reload_successful',
      help: '1 when the admin key in use is what DEEPGRAM_ADMIN_KEY_FILE holds, 0 when its last change was refused.',
      registers,
    }),
    marker_secret: new Gauge({
      name: 'broker_marker_secret_last_reload_successful',
      help: '1 when the marker secret in use is what BROKER_MARKER_SECRET_FILE holds, 0 when its last change was refused.',
      registers,
    }),
  }
  const keyInfo = new Gauge({
    name: 'broker_admin_key_info',
    help: 'Always 1, labelled with the fingerprint of the admin key in use: the first 16 hex digits of its SHA-256.',
    labelNames: ['fingerprint'],
    registers,
  })
  for (const file of ['policy', 'admin_key', 'marker_secret'] as const) {
    for (const outcome of ['loaded', 'refused']) reloads[file].inc({ outcome }, 0)
    lastSuccessful[file].set(1)
  }
  return {
    reloaded: (file, outcome) => {
      reloads[file].inc({ outcome })
      lastSuccessful[file].set(outcome === 'loaded' ? 1 : 0)
    },
    adminKeyInUse: (fingerprint) => {
      keyInfo.reset()
      keyInfo.set({ fingerprint }, 1)
    },
  }
}
