import type { TargetResult } from '../github/deliver.ts'
import { fanOutAdvice } from '../github/pacing.ts'
import { describeTarget } from '../github/plan.ts'
import { logLine, markdownValue } from '../shared/log-text.ts'
import type { RetiredKey, RotationReport } from './flow/rotation.ts'

// The job summary. Every value in it, whether from an input or from a service's answer, goes
// through code() (ids, names, scopes, tags) or markdownValue() (sentences, times, targets, errors),
// both built on log-text.ts: no value can end a table cell, start a line, or bring Markdown or
// HTML of its own. Only the text written here in literals is Markdown.

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
    ['Expires', markdownValue(s.expiresAt)],
    ['When the job ends', markdownValue(s.revokePolicy)],
  ]
  if (s.tags.length > 0) rows.splice(3, 0, ['Tags', s.tags.map(code).join(', ')])
  return `### Deepgram key created\n\n${table(rows)}\n`
}

/** One row per target: where the secret was created, updated, or why it failed. */
export function secretsSummary(name: string, results: TargetResult[]): string {
  const rows = results.map((r): [string, string] => [
    markdownValue(describeTarget(r.target)),
    markdownValue('outcome' in r ? r.outcome : `failed: ${r.error}`),
  ])
  const advice = fanOutAdvice(results.length)
  return `\n#### Secret ${code(name)}\n\n${table(rows, ['Target', 'Result'])}\n${advice === undefined ? '' : `\n${markdownValue(advice)}\n`}`
}

/** Revoke mode: what was deleted, and which ids the source did not know. */
export function revokeModeSummary(
  where: string,
  what: string,
  report: { revoked: string[]; notFound: string[] },
): string {
  const rows = [
    ...report.revoked.map((id): [string, string] => [code(id), 'revoked']),
    ...report.notFound.map((id): [string, string] => [code(id), "not found (deleted already, or another project's)"]),
  ]
  const body = rows.length > 0 ? table(rows, ['Key id', 'Result']) : `No key matched ${markdownValue(what)}.`
  return `### Deepgram keys revoked\n\nRevoking ${markdownValue(what)} ${markdownValue(where)}: ${report.revoked.length} revoked.\n\n${body}\n`
}

export function revokedSummary(keyId: string, outcome: 'deleted' | 'already-gone'): string {
  const what = outcome === 'deleted' ? 'revoked' : 'already gone when the job ended'
  return `### Deepgram key ${what}\n\nKey ${code(keyId)} is ${what}.\n`
}

/** A two-column table of cells that are Markdown already: each value in them went through code() or markdownValue(). */
export function table(rows: [string, string][], header: [string, string] = ['', '']): string {
  const lines = [`| ${header[0]} | ${header[1]} |`, '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)]
  return lines.join('\n')
}

/**
 * A value as inline code, on one line. A table splits its cells before anything else, code spans
 * included: there a pipe ends the cell and a backslash escapes the character after it. A value
 * with a pipe, a backslash or a backtick is therefore shown as escaped text instead, exactly.
 */
export function code(value: string): string {
  const line = logLine(value)
  return /[|\\`]/.test(line) ? markdownValue(value) : `\`${line}\``
}

/** keep-previous: each earlier key of the secret, and what became of it. */
export function rotationSummary(report: RotationReport): string {
  const results: Record<RetiredKey['outcome'], string> = {
    deleted: 'deleted',
    'already-gone': 'already deleted',
    kept: `kept (keep-previous: ${report.keep})`,
    failed: 'not deleted (see the warning)',
  }
  const rows = report.keys.map(({ key, outcome }): [string, string] => [
    code(key.apiKeyId),
    markdownValue(`${results[outcome]}; created ${key.created ?? 'at an unknown time'}`),
  ])
  const deleted = report.keys.filter((k) => k.outcome === 'deleted').length
  const body =
    report.problem !== undefined
      ? `Nothing was deleted: ${markdownValue(report.problem)}`
      : rows.length > 0
        ? table(rows, ['Key id', 'Result'])
        : 'This action had minted no earlier key for it.'
  return `\n#### Earlier keys of secret ${code(report.secretName)}\n\n${deleted} deleted.\n\n${body}\n`
}
