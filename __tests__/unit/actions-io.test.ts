import { actionsIO, type RunnerCore } from '../../src/action/actions-io.ts'

/** A stand-in for @actions/core that records each call as `method(args)`. */
function recordingCore(): RunnerCore & { calls: string[] } {
  const calls: string[] = []
  const record = (method: string) => (...args: string[]) => {
    calls.push(`${method}(${args.join(', ')})`)
  }
  return {
    calls,
    getInput: (name) => (calls.push(`getInput(${name})`), 'value\r::add-mask::x'),
    getState: (name) => (calls.push(`getState(${name})`), 'state'),
    setSecret: record('setSecret'),
    setOutput: record('setOutput'),
    saveState: record('saveState'),
    info: record('info'),
    notice: record('notice'),
    warning: record('warning'),
    setFailed: record('setFailed'),
    summary: {
      addRaw: (text) => {
        calls.push(`summary(${text})`)
        return { write: async () => undefined }
      },
    },
    getIDToken: async (audience) => (calls.push(`getIDToken(${audience})`), 'id-token'),
  }
}

const PAYLOAD = 'tag\r::add-mask::Revoked\n::stop-commands::t\u2028##[set-output name=key;]x'
const NEUTRALISED = 'tag\\r::add-mask::Revoked\\n::stop-commands::t\\u2028## [set-output name=key;]x'

describe('actionsIO', () => {
  test.each(['info', 'notice', 'warning', 'setFailed'] as const)('%s writes every message as one line that is no command', (method) => {
    const core = recordingCore()
    actionsIO(core)[method](`Revoking keys tagged ${PAYLOAD}.`)
    actionsIO(core)[method](PAYLOAD.replace('tag\r', ''))
    expect(core.calls).toEqual([`${method}(Revoking keys tagged ${NEUTRALISED}.)`, `${method}(: :add-mask::Revoked\\n::stop-commands::t\\u2028## [set-output name=key;]x)`])
  })

  test('escapes every separator in the summary but its own line ends', async () => {
    const core = recordingCore()
    const previous = process.env.GITHUB_STEP_SUMMARY
    process.env.GITHUB_STEP_SUMMARY = '/dev/null'
    try {
      await actionsIO(core).appendSummary('### Key\n\n| Tags | `a\r\u0085b` |\n')
    } finally {
      if (previous === undefined) delete process.env.GITHUB_STEP_SUMMARY
      else process.env.GITHUB_STEP_SUMMARY = previous
    }
    expect(core.calls).toEqual(['summary(### Key\n\n| Tags | `a\\r\\u0085b` |\n)'])
  })

  test('hands secrets, outputs, state and inputs over untouched: the runner needs them as they are', () => {
    const core = recordingCore()
    const io = actionsIO(core)
    io.setSecret('s3cr3t')
    io.setOutput('key', 'v\r1')
    io.saveState('key-id', 'id')
    expect([io.getInput('tags'), io.getState('key-id')]).toEqual(['value\r::add-mask::x', 'state'])
    expect(core.calls).toEqual(['setSecret(s3cr3t)', 'setOutput(key, v\r1)', 'saveState(key-id, id)', 'getInput(tags)', 'getState(key-id)'])
  })

  test('asks core for an ID token only when the runner offers one (ACTIONS_ID_TOKEN_REQUEST_URL, from id-token: write)', async () => {
    const core = recordingCore()
    const previous = process.env.ACTIONS_ID_TOKEN_REQUEST_URL
    try {
      delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
      expect(await actionsIO(core).getIDToken('https://broker.example')).toBeUndefined()
      process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'http://127.0.0.1:1/_apis/id-token?api-version=2.0'
      expect(await actionsIO(core).getIDToken('https://broker.example')).toBe('id-token')
    } finally {
      if (previous === undefined) delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL
      else process.env.ACTIONS_ID_TOKEN_REQUEST_URL = previous
    }
    expect(core.calls).toEqual(['getIDToken(https://broker.example)'])
  })
})
