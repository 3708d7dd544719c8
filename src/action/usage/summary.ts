// The usage report in the job summary: one row per key, a total when there are several, and the
// line that says the figures lag. Key ids, tags and model names come from answers or inputs: they
// go through code() and markdownValue() (log-text.ts) like every other value of the summary.
import type { KeyUsage } from '../../deepgram/usage.ts'
import { markdownValue } from '../../shared/log-text.ts'
import { code } from '../summary.ts'

/** Where the final figures can be seen later. */
export interface UsageContext {
  /** The project, when this step knows it (not in broker mode). */
  projectId?: string
  /** Tags that name the keys: the key's own, or those revoke and report mode were given. */
  tags: string[]
  /** What the figures cover, as a phrase: "key <id> since its creation", "the keys tagged pr-42". */
  what: string
}

export interface UsageTotals {
  requests: number
  hours: number
  /** Undefined when the cost of some key is unknown. */
  usd?: number
}

export function usageTotals(keys: KeyUsage[]): UsageTotals {
  const usd = keys.every((k) => k.usd !== undefined) ? sum(keys.map((k) => k.usd ?? 0)) : undefined
  return {
    requests: sum(keys.map((k) => k.usage?.requests ?? 0)),
    hours: sum(keys.map((k) => k.usage?.hours ?? 0)),
    ...(usd === undefined ? {} : { usd }),
  }
}

export function usageSummary(keys: KeyUsage[], unknown: string[], context: UsageContext): string {
  const readable = keys.filter((k) => k.usage !== undefined)
  const columns: Column[] = [
    { title: 'Requests', cell: (k) => count(k.usage?.requests) },
    { title: 'Audio', cell: (k) => duration(k.usage?.hours) },
    { title: 'Cost (USD)', cell: (k) => (k.usd === undefined ? 'unknown (needs billing:read)' : dollars(k.usd)) },
    ...optionalColumns(readable),
    { title: 'Request log', cell: (k) => logCell(k) },
    { title: 'Days (UTC)', cell: (k) => markdownValue(k.start === k.end ? k.start : `${k.start} to ${k.end}`) },
  ]
  const rows = keys.map((k) => [code(k.keyId), ...columns.map((c) => c.cell(k))])
  for (const id of unknown)
    rows.push([code(id), ...columns.map((_, i) => (i === 0 ? 'not reported: not a key of this repository' : ''))])
  if (keys.length > 1) {
    const totals = usageTotals(keys)
    rows.push([
      '**Total**',
      count(totals.requests),
      duration(totals.hours),
      totals.usd === undefined ? 'unknown' : dollars(totals.usd),
      ...columns.slice(3).map(() => ''),
    ])
  }
  const header = ['Key id', ...columns.map((c) => c.title)]
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ]
  const body = keys.length + unknown.length === 0 ? 'No key matched.' : lines.join('\n')
  return `\n### Deepgram usage\n\nUsage of ${markdownValue(context.what)}, as Deepgram reports it now.\n\n${body}\n\n${lagLine(keys, context)}\n`
}

/** Deepgram's figures lag: say so, and where the final ones will be. */
function lagLine(keys: KeyUsage[], context: UsageContext): string {
  const page =
    context.projectId === undefined
      ? "the project's Usage page in the Deepgram console"
      : `the Usage page of the Deepgram console (${markdownValue(`https://console.deepgram.com/project/${context.projectId}/usage`)})`
  const by = [
    ...(keys.length === 1 && keys[0] ? [`key ${code(keys[0].keyId)}`] : []),
    ...context.tags.map((tag) => `tag ${code(tag)}`),
  ]
  return (
    `Deepgram's figures lag behind: a request can read 0, or be missing, right after it ran. ` +
    `For the final figures, see ${page} later${by.length > 0 ? `, filtered by ${by.join(' or ')}` : ''}.`
  )
}

interface Column {
  title: string
  cell: (k: KeyUsage) => string
}

/** TTS characters, agent hours, tokens and models: shown only when some key has them. */
function optionalColumns(keys: KeyUsage[]): Column[] {
  const columns: Column[] = []
  if (keys.some((k) => (k.usage?.ttsCharacters ?? 0) > 0))
    columns.push({ title: 'TTS characters', cell: (k) => count(k.usage?.ttsCharacters) })
  if (keys.some((k) => (k.usage?.agentHours ?? 0) > 0))
    columns.push({ title: 'Agent', cell: (k) => duration(k.usage?.agentHours) })
  if (keys.some((k) => (k.usage?.tokensIn ?? 0) + (k.usage?.tokensOut ?? 0) > 0))
    columns.push({
      title: 'Tokens in / out',
      cell: (k) => (k.usage ? `${count(k.usage.tokensIn)} / ${count(k.usage.tokensOut)}` : 'unknown'),
    })
  if (keys.some((k) => (k.usage?.models.length ?? 0) > 0))
    columns.push({ title: 'Models', cell: (k) => (k.usage?.models ?? []).map(code).join(', ') })
  return columns
}

function logCell(k: KeyUsage): string {
  if (k.log === undefined) return 'unknown'
  const atLeast = k.log.complete ? '' : 'at least '
  return `${atLeast}${count(k.log.requests)} requests, ${atLeast}${duration(k.log.seconds / 3600)}`
}

function count(n: number | undefined): string {
  return n === undefined ? 'unknown' : String(Math.round(n * 100) / 100)
}

/** Hours as a person reads them: 12.5 s, 3 min 20 s, 2.41 h. */
export function duration(hours: number | undefined): string {
  if (hours === undefined) return 'unknown'
  const seconds = hours * 3600
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`
  return `${Math.round(hours * 100) / 100} h`
}

function dollars(usd: number): string {
  return `$${usd.toFixed(4)}`
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}
