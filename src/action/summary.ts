import type { TargetResult } from '../github/deliver.ts'
import { fanOutAdvice } from '../github/pacing.ts'
import { describeTarget } from '../github/plan.ts'
import { logLine, markdownValue } from '../shared/log-text.ts'
import type { RetiredKey, RotationReport } from './rotation.ts'

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
  const rows = results.map((r): [string, string] => [markdownValue(describeTarget(r.target)), markdownValue('outcome' in r ? r.outcome : `failed: ${r.error}`)])
  const advice = fanOutAdvice(results.length)
  return `\n#### Secret ${code(name)}\n\n${table(rows, ['Target', 'Result'])}\n${advice === undefined ? '' : `\n${markdownValue(advice)}\n`}`
}

/** What revoke mode did: the keys deleted, and those that were gone already. */
export interface RevokeReport {
  revoked: string[]
  alreadyGone: string[]
}

/** Revoke mode with the admin key: what was deleted in the project, and what was gone already. */
export function revokeModeSummary(projectId: string, what: string, report: RevokeReport): string {
  return revokedKeysSummary(`Project ${code(projectId)}`, what, report)
}

/** Revoke mode through the broker: the same, for the keys the broker deleted. */
export function brokerRevokeSummary(brokerUrl: string, what: string, report: RevokeReport): string {
  return revokedKeysSummary(`Through the broker at ${code(brokerUrl)}`, what, report)
}

/** `where` is Markdown of ours, its values escaped already. */
function revokedKeysSummary(where: string, what: string, report: RevokeReport): string {
  const rows = [...report.revoked.map((id): [string, string] => [code(id), 'revoked']), ...report.alreadyGone.map((id): [string, string] => [code(id), 'already deleted'])]
  const body = rows.length > 0 ? table(rows, ['Key id', 'Result']) : `No key matched ${markdownValue(what)}.`
  return `### Deepgram keys revoked\n\n${where}, ${markdownValue(what)}: ${report.revoked.length} revoked.\n\n${body}\n`
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
  const results: Record<RetiredKey['outcome'], string> = { deleted: 'deleted', 'already-gone': 'already deleted', kept: `kept (keep-previous: ${report.keep})`, failed: 'not deleted (see the warning)' }
  const rows = report.keys.map(({ key, outcome }): [string, string] => [code(key.apiKeyId), markdownValue(`${results[outcome]}; created ${key.created ?? 'at an unknown time'}`)])
  const deleted = report.keys.filter((k) => k.outcome === 'deleted').length
  const body = report.problem !== undefined ? `Nothing was deleted: ${markdownValue(report.problem)}` : rows.length > 0 ? table(rows, ['Key id', 'Result']) : 'This action had minted no earlier key for it.'
  return `\n#### Earlier keys of secret ${code(report.secretName)}\n\n${deleted} deleted.\n\n${body}\n`
}
