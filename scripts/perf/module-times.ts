// Where the evaluation time of an ncc bundle goes, module by module.
//
//   node scripts/perf/module-times.ts instrument BUNDLE_DIR STATS.json OUT_DIR
//     Copies BUNDLE_DIR (an ncc output folder: index.js, chunks, package.json) to OUT_DIR with
//     index.js instrumented: every bundled module's factory and every `require` of a Node
//     built-in is timed, exclusive of what it requires in turn. STATS.json comes from
//     `ncc build ... --stats-out STATS.json` and names the numbered modules. At exit the
//     instrumented bundle writes a `MARKS` line (for scripts/perf/compare.ts) and, when
//     PERF_MODULE_TIMES_DIR is set, its per-module times as JSON into that folder.
//   node scripts/perf/module-times.ts report DIR [TOP]
//     Medians over the runs recorded in DIR, summed by group, then the TOP modules.
//
// Example:
//   ncc build src/action/main.ts -o /tmp/m --stats-out /tmp/m-stats.json
//   node scripts/perf/module-times.ts instrument /tmp/m /tmp/m-stats.json /tmp/m-timed
//   PERF_MODULE_TIMES_DIR=/tmp/times node scripts/perf/compare.ts timed=/tmp/m-timed/index.js
//   node scripts/perf/module-times.ts report /tmp/times
// The instrumentation itself costs a few ms; compare groups with each other, not with bench.
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const [command, ...rest] = process.argv.slice(2)
if (command === 'instrument') instrument(rest)
else if (command === 'report') report(rest)
else throw new Error('usage: module-times.ts instrument BUNDLE_DIR STATS.json OUT_DIR | report DIR [TOP]')

function instrument([bundleDir, statsPath, outDir]: string[]): void {
  if (!bundleDir || !statsPath || !outDir) throw new Error('instrument BUNDLE_DIR STATS.json OUT_DIR')
  const stats = JSON.parse(readFileSync(statsPath, 'utf8')) as {
    modules: { id: number | string | null; name: string }[]
  }
  const names: Record<string, string> = {}
  for (const m of stats.modules) if (m.id !== null) names[String(m.id)] = m.name
  cpSync(bundleDir, outDir, { recursive: true })
  const file = join(outDir, 'index.js')
  let source = readFileSync(file, 'utf8')
  const prelude =
    `globalThis.__perf = { stack: [], exclusive: {}, names: ${JSON.stringify(names)} };` +
    'globalThis.__perfTime = (name, run) => { const p = globalThis.__perf; const t0 = performance.now(); p.stack.push(0); try { return run() } finally {' +
    ' const spent = performance.now() - t0; const inner = p.stack.pop(); p.exclusive[name] = (p.exclusive[name] ?? 0) + spent - inner;' +
    ' if (p.stack.length > 0) p.stack[p.stack.length - 1] += spent } };' +
    "const __perfStart = performance.now(); process.on('exit', () => {" +
    ' const t = performance.nodeTiming;' +
    " const marks = [['bootstrapComplete', t.bootstrapComplete], ['bundle evaluation starts', __perfStart], ['exit event', performance.now()]];" +
    " process.stderr.write('MARKS ' + JSON.stringify(marks) + '\\n');" +
    " const dir = process.env.PERF_MODULE_TIMES_DIR; if (dir) process.getBuiltinModule('fs').writeFileSync(dir + '/' + process.pid + '.json', JSON.stringify(globalThis.__perf.exclusive)) });"
  // After the first line: ncc's ESM output starts with `import { createRequire ... } from "module"`.
  const firstNewline = source.indexOf('\n')
  source = source.slice(0, firstNewline + 1) + prelude + '\n' + source.slice(firstNewline + 1)
  const call = '__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);'
  if (!source.includes(call)) throw new Error('no webpack module call found: not an ncc bundle?')
  source = source.replace(
    call,
    `globalThis.__perfTime(globalThis.__perf.names[moduleId] ?? ('#' + moduleId), () => ${call.slice(0, -1)});`,
  )
  source = source.replace(
    /__WEBPACK_EXTERNAL_createRequire\(import\.meta\.url\)\("([^"]+)"\)/g,
    (whole, name: string) => `globalThis.__perfTime(${JSON.stringify(`builtin ${name}`)}, () => ${whole})`,
  )
  writeFileSync(file, source)
  console.log(`instrumented ${file}`)
}

function report([dir, top = '40']: string[]): void {
  if (!dir) throw new Error('report DIR [TOP]')
  const runs = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, number>)
  const names = new Set(runs.flatMap((r) => Object.keys(r)))
  const rows = [...names]
    .map((name) => [name, median(runs.map((r) => r[name] ?? 0))] as const)
    .sort((a, b) => b[1] - a[1])
  const groups = new Map<string, number>()
  for (const [name, ms] of rows) groups.set(groupOf(name), (groups.get(groupOf(name)) ?? 0) + ms)
  console.log(`${runs.length} runs; median exclusive ms per module, summed by group`)
  for (const [group, ms] of [...groups].sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms >= 0.05))
    console.log(`${ms.toFixed(1).padStart(7)}  ${group}`)
  console.log('\nmodules')
  for (const [name, ms] of rows.slice(0, Number(top))) console.log(`${ms.toFixed(2).padStart(7)}  ${name}`)
}

function groupOf(name: string): string {
  if (name.startsWith('builtin ')) return 'Node built-ins (first require; includes their internal dependencies)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(name)
  if (pkg?.[1]) return `package ${pkg[1]}`
  if (name.startsWith('./src/')) return 'src/ (entry: includes the synchronous start of the run)'
  return name
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN
}
