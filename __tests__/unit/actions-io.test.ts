import { actionsIO, type RunnerCore } from '../../src/action/runtime/actions-io.ts'
import { RunnerFileError } from '../../src/shared/errors.ts'
import { thrownBy } from '../helpers/thrown.ts'

/** A stand-in for @actions/core that records each call as `method(args)`. */
function recordingCore(): RunnerCore & { calls: string[] } {
  const calls: string[] = []
  const record =
    (method: string) =>
    (...args: string[]) => {
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
    debug: record('debug'),
    notice: record('notice'),
    warning: record('warning'),
    setFailed: record('setFailed'),
    summary: {
      addRaw: (text) => {
        calls.push(`summary(${text})`)
        return { write: async () => undefined }
      },
      emptyBuffer: () => calls.push('emptyBuffer()'),
    },
  }
}

/** Tests of ActionIO over core ask for no ID token (github/id-token.ts has its own). */
const noIdToken = async (): Promise<string | undefined> => undefined

const PAYLOAD = 'tag\r::add-mask::Revoked\n::stop-commands::t\u2028##[set-output name=key;]x'
const NEUTRALISED = 'tag\\r::add-mask::Revoked\\n::stop-commands::t\\u2028## [set-output name=key;]x'

describe('actionsIO', () => {
  test.each(['info', 'notice', 'warning', 'setFailed'] as const)(
    '%s writes every message as one line that is no command',
    (method) => {
      const core = recordingCore()
      actionsIO(core, noIdToken)[method](`Revoking keys tagged ${PAYLOAD}.`)
      actionsIO(core, noIdToken)[method](PAYLOAD.replace('tag\r', ''))
      expect(core.calls).toEqual([
        `${method}(Revoking keys tagged ${NEUTRALISED}.)`,
        `${method}(: :add-mask::Revoked\\n::stop-commands::t\\u2028## [set-output name=key;]x)`,
      ])
    },
  )

  test('escapes every separator in the summary but its own line ends', async () => {
    const core = recordingCore()
    const previous = process.env.GITHUB_STEP_SUMMARY
    process.env.GITHUB_STEP_SUMMARY = '/dev/null'
    try {
      await actionsIO(core, noIdToken).appendSummary('### Key\n\n| Tags | `a\r\u0085b` |\n')
    } finally {
      if (previous === undefined) delete process.env.GITHUB_STEP_SUMMARY
      else process.env.GITHUB_STEP_SUMMARY = previous
    }
    expect(core.calls).toEqual(['summary(### Key\n\n| Tags | `a\\r\\u0085b` |\n)'])
  })

  test('hands secrets, outputs, state and inputs over untouched: the runner needs them as they are', () => {
    const core = recordingCore()
    const io = actionsIO(core, noIdToken)
    io.setSecret('s3cr3t')
    io.setOutput('key', 'v\r1')
    io.saveState('key-id', 'id')
    expect([io.getInput('tags'), io.getState('key-id')]).toEqual(['value\r::add-mask::x', 'state'])
    expect(core.calls).toEqual([
      'setSecret(s3cr3t)',
      'setOutput(key, v\r1)',
      'saveState(key-id, id)',
      'getInput(tags)',
      'getState(key-id)',
    ])
  })

  describe('a runner file that cannot be written', () => {
    const ENV = {
      GITHUB_OUTPUT: '/runner/_temp/set_output_1',
      GITHUB_STATE: '/runner/_temp/save_state_1',
      GITHUB_STEP_SUMMARY: '/runner/_temp/step_summary_1',
    }
    const systemError = (code: string, message: string) =>
      Object.assign(new Error(`${code}: ${message}, write`), { code, errno: -28, syscall: 'write' })
    const failing = (error: Error): RunnerCore & { calls: string[] } => {
      const core = recordingCore()
      const fail = () => {
        throw error
      }
      return {
        ...core,
        setOutput: fail,
        saveState: fail,
        summary: {
          addRaw: () => ({ write: () => Promise.reject(error) }),
          emptyBuffer: () => core.summary.emptyBuffer(),
        },
      }
    }
    const thrown = (run: () => void): RunnerFileError => thrownBy(RunnerFileError, run)

    const SPACE = 'Free disk space on the runner (the volume of its work directory is full)'
    const PERMISSIONS =
      "Check that the runner's user may write to its work directory (its owner, permissions and mount)"
    test.each([
      ['ENOSPC', 'no space left on device', 'ENOSPC (no space left on the device)', SPACE],
      ['EDQUOT', 'disk quota exceeded', 'EDQUOT (disk quota exceeded)', SPACE],
      ['EACCES', 'permission denied', 'EACCES (permission denied)', PERMISSIONS],
      ['EROFS', 'read-only file system', 'EROFS (read-only file system)', PERMISSIONS],
      ['EIO', 'i/o error', 'EIO (input/output error)', "Check the runner's disk and its work directory"],
      [
        'EWHATEVER',
        'something new',
        'EWHATEVER (EWHATEVER: something new, write)',
        "Check the runner's disk and its work directory",
      ],
    ])(
      'an output that fails with %s names GITHUB_OUTPUT, its path, the reason and what to do',
      (code, message, reason, todo) => {
        const error = thrown(() =>
          actionsIO(failing(systemError(code, message)), noIdToken, ENV).setOutput('key-id', 'id'),
        )
        expect(error.message).toBe(
          `Could not write output key-id: writing the runner's file GITHUB_OUTPUT (/runner/_temp/set_output_1) failed with ${reason}. ${todo}, then run the job again.`,
        )
        expect([error.file, error.path, error.code]).toEqual(['GITHUB_OUTPUT', '/runner/_temp/set_output_1', code])
      },
    )

    test('state that cannot be saved names GITHUB_STATE and what the post step needed, never the value', () => {
      const error = thrown(() =>
        actionsIO(failing(systemError('ENOSPC', 'no space left on device')), noIdToken, ENV).saveState(
          'invocation',
          '0123456789abcdef',
        ),
      )
      expect(error.message).toBe(
        "Could not save invocation for the post step: writing the runner's file GITHUB_STATE (/runner/_temp/save_state_1) failed with ENOSPC (no space left on the device). " +
          'Free disk space on the runner (the volume of its work directory is full), then run the job again.',
      )
      expect(error.message).not.toContain('0123456789abcdef')
    })

    test("a command file deleted under the step is reported as missing, from core's own words", () => {
      const error = thrown(() =>
        actionsIO(failing(new Error('Missing file at path: /runner/_temp/set_output_1')), noIdToken, ENV).setOutput(
          'skipped',
          'false',
        ),
      )
      expect(error.code).toBe('ENOENT')
      expect(error.message).toContain(
        "failed with ENOENT (the file does not exist). Check that no earlier step deletes files in the runner's temporary directory (RUNNER_TEMP), then run the job again.",
      )
    })

    test('a summary that cannot be written is one warning, however many parts are written, and the step goes on', async () => {
      const core = failing(systemError('ENOSPC', 'no space left on device'))
      const io = actionsIO(core, noIdToken, ENV)
      await expect(io.appendSummary('### Key\n')).resolves.toBeUndefined()
      await expect(io.appendSummary('### Usage\n')).resolves.toBeUndefined()
      expect(core.calls).toEqual([
        'emptyBuffer()',
        "warning(Could not write the job summary: writing the runner's file GITHUB_STEP_SUMMARY (/runner/_temp/step_summary_1) failed with ENOSPC (no space left on the device). " +
          "Only the summary is missing: the step's work is not affected. Free disk space on the runner (the volume of its work directory is full).)",
        'emptyBuffer()',
      ])
    })
  })
})
