import type { StepSource, UsageAnswer } from '../../src/action/flow/key-source.ts'
import type { UsagePlan } from '../../src/action/inputs/usage.ts'
import { reportUsage } from '../../src/action/usage/report.ts'
import type { KeyUsage } from '../../src/deepgram/usage.ts'
import { redact, ServiceError } from '../../src/shared/errors.ts'
import { RecordingIO } from '../helpers/fakes.ts'

const KEY = 'ad9c6799-d380-4db7-8c22-92c20a291229'
const ADMIN_KEY = 'dg_admin_key_for_unit_tests'

const figures = (requests: number, usd?: number): KeyUsage => ({
  keyId: KEY,
  start: '2026-12-01',
  end: '2026-12-01',
  usage: { requests, hours: 0.5, agentHours: 0, ttsCharacters: 0, tokensIn: 0, tokensOut: 0, models: [] },
  ...(usd === undefined ? { denied: ['billing:read'] } : { usd, denied: [] }),
})

/** A source whose usage answers are `answer`; it records the budgets it was given. */
function source(answer: () => Promise<UsageAnswer>): StepSource & { budgets: number[] } {
  const budgets: number[] = []
  const fake = {
    budgets,
    locator: { kind: 'deepgram', projectId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
    where: 'in project 3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    within: (budgetMs: number) => {
      budgets.push(budgetMs)
      return fake
    },
    usageOf: answer,
    usageTagged: answer,
  }
  return fake as unknown as StepSource & { budgets: number[] }
}

const run = async (plan: UsagePlan, answer: () => Promise<UsageAnswer>, outputs = true) => {
  const io = new RecordingIO()
  const src = source(answer)
  const reported = await reportUsage({ kind: 'keys', asks: [{ keyId: KEY }] }, src, plan, io, {
    budgetMs: 4000,
    outputs,
    context: { tags: [], what: `key ${KEY}` },
    secrets: { redact: (text: string) => redact(text, [ADMIN_KEY]) },
  })
  return { io, reported, budgets: src.budgets }
}

const lines = (io: RecordingIO, kind: string) => io.log.filter((entry) => entry.startsWith(`${kind} `))

describe('reportUsage', () => {
  test('reports within its own budget: summary, log line and outputs', async () => {
    const { io, reported, budgets } = await run({ report: 'auto' }, () =>
      Promise.resolve({ keys: [figures(2, 0.1)], unknown: [] }),
    )
    expect(budgets).toEqual([4000])
    expect(reported).toHaveLength(1)
    expect(io.summary).toContain('| 2 | 30 min 0 s | $0.1000 |')
    expect(lines(io, 'info')).toEqual([
      expect.stringContaining(`Key ${KEY} used 2 requests and 1800 s of audio ($0.1000)`),
    ])
    expect(io.outputs).toEqual({
      'usage-requests': '2',
      'usage-hours': '0.5',
      'usage-usd': '0.1',
      'usage-json': expect.stringContaining(`"key_id":"${KEY}"`) as unknown,
    })
  })

  test('usage-report false asks nothing', async () => {
    const { io, budgets } = await run({ report: 'false' }, () => Promise.reject(new Error('asked')))
    expect(budgets).toEqual([])
    expect(io.log).toEqual([])
  })

  test.each([
    ['auto', 'debug'],
    ['true', 'warning'],
  ] as const)(
    'usage-report %s: a credential that may not read usage is one %s line, nothing else',
    async (report, kind) => {
      const denied: KeyUsage = {
        keyId: KEY,
        start: '2026-12-01',
        end: '2026-12-01',
        denied: ['usage:read', 'billing:read'],
      }
      const { io, reported } = await run({ report }, () => Promise.resolve({ keys: [denied], unknown: [] }))
      expect(reported).toBeUndefined()
      expect(io.log).toEqual([
        `${kind} No usage report: api-key may not read usage (Deepgram refused with 403; it takes the scope usage:read, which the Member role and above have). Set usage-report: false to stop asking.`,
      ])
      expect(io.summary).toBe('')
      expect(io.outputs).toEqual({})
    },
  )

  test.each([
    ['auto', 'info'],
    ['true', 'warning'],
  ] as const)(
    'usage-report %s: a failure is one %s line without secrets, never a failed step',
    async (report, kind) => {
      const failure = new ServiceError({
        service: 'Deepgram',
        action: `reading the usage of key ${KEY}`,
        status: 500,
        message: `boom ${ADMIN_KEY}`,
      })
      const { io } = await run({ report }, () => Promise.reject(failure))
      expect(io.failed).toBeUndefined()
      expect(lines(io, kind)).toEqual([expect.stringMatching(/^\w+ Could not read the usage of key .+ boom \*\*\*/)])
      expect(io.log.join('\n')).not.toContain(ADMIN_KEY)
    },
  )

  test('usage-report true says once that the cost is left out without billing:read', async () => {
    const { io } = await run({ report: 'true' }, () => Promise.resolve({ keys: [figures(1)], unknown: [] }))
    expect(lines(io, 'info')[0]).toContain('The cost is not reported: api-key may not read billing')
    expect(lines(io, 'warning')).toEqual([])
    expect(io.outputs['usage-usd']).toBe('')
  })

  test('outputs that cannot be written are a warning: the deletes that follow still run', async () => {
    const io = new RecordingIO()
    io.setOutput = () => {
      throw new Error('GITHUB_OUTPUT is full')
    }
    await expect(
      reportUsage(
        { kind: 'tags', tags: ['ci'] },
        source(() => Promise.resolve({ keys: [figures(1, 0)], unknown: [] })),
        { report: 'auto' },
        io,
        {
          budgetMs: 4000,
          outputs: true,
          context: { tags: ['ci'], what: 'the keys tagged ci' },
          secrets: { redact: (text: string) => text },
        },
      ),
    ).resolves.toHaveLength(1)
    expect(lines(io, 'warning')).toEqual(['warning The usage outputs were not set: GITHUB_OUTPUT is full'])
  })
})
