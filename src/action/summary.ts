import type { TargetResult } from '../github/deliver.ts'
import { fanOutAdvice } from '../github/pacing.ts'
import { describeTarget } from '../github/plan.ts'
import { logLine, markdownValue } from '../shared/log-text.ts'
import type { RetiredKey, RotationReport } from './flow/rotation.ts'

/** The job summary of a minted key: everything about it but the key. */
export interface MintSummary {
  keyId: string
  projectId: string
  scopes: string[]
  tags: string[]
  expiresAt: string
  revokePolicy: string
}

export function mintSummary(s: MintSummary): string {
  const rows: [string, string][] = [
    ['Key id', code(s.keyId)],
    ['Project', code(s.projectId)],
    ['Scopes granted', s.scopes.map(code).join(', ')],
    ['Expires', s.expiresAt],
    ['When the job ends', s.revokePolicy],
  ]
  if (s.tags.length > 0) rows.splice(3, 0, ['Tags', s.tags.map(code).join(', ')])
  return `### Deepgram key created\n\n${table(rows)}\n`
}

/** One row per target: where the secret was created, updated, or why it failed. */
export function secretsSummary(name: string, results: TargetResult[]): string {
  const rows = results.map((r): [string, string] => [describeTarget(r.target), 'outcome' in r ? r.outcome : `failed: ${markdownValue(r.error)}`])
  const advice = fanOutAdvice(results.length)
  return `\n#### Secret ${code(name)}\n\n${table(rows, ['Target', 'Result'])}\n${advice === undefined ? '' : `\n${advice}\n`}`
}

/** Revoke mode: what was deleted, and which ids the source did not know. */
export function revokeModeSummary(where: string, what: string, report: { revoked: string[]; notFound: string[] }): string {
  const rows = [...report.revoked.map((id): [string, string] => [code(id), 'revoked']), ...report.notFound.map((id): [string, string] => [code(id), 'not found (deleted already, or another project\'s)'])]
  const body = rows.length > 0 ? table(rows, ['Key id', 'Result']) : `No key matched ${markdownValue(what)}.`
  return `### Deepgram keys revoked\n\nThrough ${markdownValue(where)}, ${markdownValue(what)}: ${report.revoked.length} revoked.\n\n${body}\n`
}

export function revokedSummary(keyId: string, outcome: 'deleted' | 'already-gone'): string {
  const what = outcome === 'deleted' ? 'revoked' : 'already gone when the job ended'
  return `### Deepgram key ${what}\n\nKey ${code(keyId)} is ${what}.\n`
}

export function table(rows: [string, string][], header: [string, string] = ['', '']): string {
  const lines = [`| ${header[0]} | ${header[1]} |`, '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)]
  return lines.join('\n')
}

/** Inline code on one line that survives backticks and pipes in the value. */
export function code(value: string): string {
  return `\`${logLine(value).replace(/`/g, "'").replace(/\|/g, '\\|')}\``
}

/** keep-previous: each earlier key of the secret, and what became of it. */
export function rotationSummary(report: RotationReport): string {
  const results: Record<RetiredKey['outcome'], string> = { deleted: 'deleted', 'already-gone': 'already deleted', kept: `kept (keep-previous: ${report.keep})`, failed: 'not deleted (see the warning)' }
  const rows = report.keys.map(({ key, outcome }): [string, string] => [code(key.apiKeyId), `${results[outcome]}; created ${key.created ?? 'at an unknown time'}`])
  const deleted = report.keys.filter((k) => k.outcome === 'deleted').length
  const body = report.problem !== undefined ? `Nothing was deleted: ${markdownValue(report.problem)}` : rows.length > 0 ? table(rows, ['Key id', 'Result']) : 'This action had minted no earlier key for it.'
  return `\n#### Earlier keys of secret ${code(report.secretName)}\n\n${deleted} deleted.\n\n${body}\n`
}
