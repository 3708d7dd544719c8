// Startup comparisons for the main step: `node scripts/perf/compare.ts [options] NAME=SPEC ...`
//
// Every variant is spawned like `npm run bench` spawns the main step (same inputs, a Deepgram
// emulator with no latency, fresh command files), round-robin with bare `node -e 0`, after one
// warm-up of each; the table gives median, p25 and min wall time and the difference to bare.
//
//   SPEC  a script (path ending in .js/.mjs/.cjs, resolved), optionally preceded by node flags:
//         "main=dist/main/index.js"  "lazy=--cpu-prof /tmp/x/index.mjs"
//         or @@CODE to run `node -e CODE`: "http=@@require('node:http')"
//   --runs N   rounds (default 21)
//   --once     run each variant once, printing its output (e.g. with --cpu-prof --cpu-prof-dir=DIR)
//   PERF=1     also report CPU time (perf stat task-clock, all threads): steadier than wall time
//              on a loaded machine. perf's own start adds ~15 ms to every wall time, bare's too:
//              with PERF=1 read the differences (+ms), not the ratios.
//
// A variant that writes a line `MARKS [[name, ms], ...]` to stdout or stderr (performance.now()
// values) gets the median of each mark printed too; scripts/perf/module-times.ts writes such lines.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DEFAULT_ACCOUNT, DEFAULT_PROJECT, startDeepgramEmulator } from '../../harness/deepgram-emulator.ts'
import { readManifest, stepEnvironment } from '../../harness/runner.ts'

interface Variant {
  name: string
  argv: string[]
  wall: number[]
  cpu: number[]
  marks: [string, number][][]
}

const args = process.argv.slice(2)
let rounds = 21
let once = false
const variants: Variant[] = [{ name: 'bare', argv: ['-e', '0'], wall: [], cpu: [], marks: [] }]
for (let i = 0; i < args.length; i++) {
  const arg = args[i] ?? ''
  if (arg === '--runs') rounds = Number(args[++i])
  else if (arg === '--once') once = true
  else {
    const eq = arg.indexOf('=')
    if (eq < 1) throw new Error(`not NAME=SPEC: ${arg}`)
    const spec = arg.slice(eq + 1)
    const argv = spec.startsWith('@@')
      ? ['-e', spec.slice(2)]
      : spec
          .split(' ')
          .filter(Boolean)
          .map((p) => (/\.[mc]?js$/.test(p) ? resolve(p) : p))
    variants.push({ name: arg.slice(0, eq), argv, wall: [], cpu: [], marks: [] })
  }
}
const usePerf = process.env.PERF === '1'

const emulator = await startDeepgramEmulator({ latencyMs: 0 })
const manifest = readManifest()
// The same inputs as `npm run bench`.
const inputs = {
  'api-key': DEFAULT_ACCOUNT.apiKey,
  'project-id': DEFAULT_PROJECT.projectId,
  'deepgram-api-url': emulator.url,
  scopes: 'usage:write',
  expiration: '1h',
}

async function run(variant: Variant, record: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'perf-step-'))
  // Passed through for bundles instrumented by scripts/perf/module-times.ts.
  const perfEnv: Record<string, string> = process.env.PERF_MODULE_TIMES_DIR
    ? { PERF_MODULE_TIMES_DIR: process.env.PERF_MODULE_TIMES_DIR }
    : {}
  const { env } = stepEnvironment(dir, manifest, { inputs, env: perfEnv })
  const perfOut = join(dir, 'perf-stat')
  const [command, argv] = usePerf
    ? ['perf', ['stat', '-x,', '-e', 'task-clock', '-o', perfOut, process.execPath, ...variant.argv]]
    : [process.execPath, variant.argv]
  try {
    const started = performance.now()
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done, fail) => {
      const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.on('error', fail)
      child.on('close', (code) => done({ code, output }))
    })
    const wall = performance.now() - started
    if (once) console.log(`--- ${variant.name} (exit ${code}, ${wall.toFixed(1)} ms)\n${output}`)
    if (code !== 0) throw new Error(`${variant.name} exited with ${code}:\n${output}`)
    if (!record) return
    variant.wall.push(wall)
    if (usePerf) {
      const line = readFileSync(perfOut, 'utf8')
        .split('\n')
        .find((l) => l.includes('task-clock'))
      variant.cpu.push(Number(line?.split(',')[0]))
    }
    const marks = /^MARKS (.*)$/m.exec(output)
    if (marks?.[1]) variant.marks.push(JSON.parse(marks[1]) as [string, number][])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

try {
  if (once) {
    for (const variant of variants.slice(1)) await run(variant, false)
  } else {
    for (const variant of variants) await run(variant, false)
    for (let round = 0; round < rounds; round++) for (const variant of variants) await run(variant, true)
    report()
  }
} finally {
  await emulator.close()
}

function report(): void {
  const [bare] = variants
  if (!bare) return
  const bareMedian = quantile(bare.wall, 0.5)
  const bareP25 = quantile(bare.wall, 0.25)
  const bareCpu = quantile(bare.cpu, 0.5)
  console.log(`${rounds} rounds; wall ms (difference to bare)${usePerf ? '; CPU ms (task-clock)' : ''}`)
  for (const v of variants) {
    const median = quantile(v.wall, 0.5)
    const p25 = quantile(v.wall, 0.25)
    const cpu = usePerf ? `   cpu ${fixed(quantile(v.cpu, 0.5))} (+${fixed(quantile(v.cpu, 0.5) - bareCpu)})` : ''
    console.log(
      `${v.name.padEnd(28)} median ${fixed(median)} (+${fixed(median - bareMedian)})  ratio ${(median / bareMedian).toFixed(2)}` +
        `   p25 ${fixed(p25)} (+${fixed(p25 - bareP25)})   min ${fixed(Math.min(...v.wall))}${cpu}`,
    )
  }
  for (const v of variants) {
    const first = v.marks[0]
    if (!first) continue
    console.log(`\n${v.name}: median of each mark (ms since process start, + since the previous mark)`)
    let previous = 0
    first.forEach(([name], index) => {
      const at = quantile(
        v.marks.map((marks) => marks[index]?.[1] ?? Number.NaN),
        0.5,
      )
      console.log(`  ${name.padEnd(40)} ${fixed(at)}  (+${fixed(at - previous)})`)
      previous = at
    })
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) * q)] ?? Number.NaN
}

function fixed(value: number): string {
  return value.toFixed(1).padStart(6)
}
