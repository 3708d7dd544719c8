// Reads the Prometheus text exposition format (version 0.0.4) strictly enough to catch a broken
// line: every line is a HELP or TYPE comment or a sample, and every sample's metric has a TYPE.

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
// prom-client writes NaN as `Nan`; Prometheus reads either (Go's ParseFloat ignores case there).
const VALUE = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[Nn]a[Nn]|[-+]Inf)'
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL},)*(?:${LABEL})?)\\})? (${VALUE})(?: -?\\d+)?$`)
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)
const HELP_LINE = new RegExp(`^# HELP ${NAME} .*$`)

/** The samples of an exposition; throws on the first line that is not in the format. */
export function parseExposition(text: string): Sample[] {
  const typed = new Map<string, string>()
  const samples: Sample[] = []
  text.split('\n').forEach((line, index) => {
    if (line === '' || HELP_LINE.test(line)) return
    const type = TYPE_LINE.exec(line)
    if (type) {
      typed.set(type[1] ?? '', type[2] ?? '')
      return
    }
    const sample = SAMPLE_LINE.exec(line)
    if (!sample) throw new Error(`line ${index + 1} is not Prometheus text: ${JSON.stringify(line)}`)
    const name = sample[1] ?? ''
    const family = typed.has(name) ? name : name.replace(/_(bucket|sum|count|total|created)$/, '')
    if (!typed.has(family)) throw new Error(`line ${index + 1}: ${name} has no # TYPE`)
    const labels = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        (m[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)),
      ]),
    )
    samples.push({ name, labels, value: Number(sample[3]) })
  })
  return samples
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when none is. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([label, value]) => s.labels[label] === value),
  )
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value ?? 0
}
