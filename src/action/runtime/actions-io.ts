import type { ActionIO } from '../io.ts'
import { RunnerFileError, type RunnerFile } from '../../shared/errors.ts'
import { logLine, summaryText } from '../../shared/log-text.ts'

/** The part of @actions/core this uses; `typeof core` is one, and a test can give a recorder. */
export interface RunnerCore {
  getInput(name: string): string
  setSecret(secret: string): void
  setOutput(name: string, value: string): void
  saveState(name: string, value: string): void
  getState(name: string): string
  info(message: string): void
  debug(message: string): void
  notice(message: string): void
  warning(message: string): void
  setFailed(message: string): void
  summary: { addRaw(text: string, addEOL?: boolean): { write(): Promise<unknown> }; emptyBuffer(): unknown }
}

/**
 * ActionIO over @actions/core: what the runner reads from stdout and its command files. Every
 * message and the summary pass through log-text.ts here, so text from inputs or answers can never
 * start a line of the log (core.info writes raw; core escapes only CR, LF and % in commands).
 *
 * A runner file that cannot be written (a full disk, a read-only work directory) is a
 * RunnerFileError naming the file and what to do, never a bare ENOSPC: for outputs and state it
 * is thrown, and the flow fails the step; for the summary it is a warning, since the step's work
 * is done by then and a missing summary harms nobody. ID tokens come from `idToken`
 * (github/id-token.ts, with a deadline), not from core.
 */
export function actionsIO(
  actions: RunnerCore,
  idToken: ActionIO['getIDToken'],
  env: NodeJS.ProcessEnv = process.env,
): ActionIO {
  const writing = (file: RunnerFile, doing: string, write: () => void): void => {
    try {
      write()
    } catch (error) {
      throw new RunnerFileError(file, env[file] ?? '', doing, withCode(error))
    }
  }
  // One warning for a summary file that cannot be written, however many parts the step writes.
  let summaryFailed = false
  return {
    getInput: (name) => actions.getInput(name),
    setSecret: (value) => actions.setSecret(value),
    setOutput: (name, value) => writing('GITHUB_OUTPUT', `write output ${name}`, () => actions.setOutput(name, value)),
    saveState: (name, value) =>
      writing('GITHUB_STATE', `save ${name} for the post step`, () => actions.saveState(name, value)),
    getState: (name) => actions.getState(name),
    info: (message) => actions.info(logLine(message)),
    debug: (message) => actions.debug(logLine(message)),
    notice: (message) => actions.notice(logLine(message)),
    warning: (message) => actions.warning(logLine(message)),
    setFailed: (message) => actions.setFailed(logLine(message)),
    appendSummary: async (markdown) => {
      // Outside a runner (local runs) there is no summary file to write to.
      const path = env.GITHUB_STEP_SUMMARY
      if (!path) return
      try {
        await actions.summary.addRaw(summaryText(markdown), true).write()
      } catch (error) {
        // core keeps what it could not write; a later summary must not carry it again.
        actions.summary.emptyBuffer()
        if (summaryFailed) return
        summaryFailed = true
        actions.warning(
          logLine(new RunnerFileError('GITHUB_STEP_SUMMARY', path, 'write the job summary', withCode(error)).message),
        )
      }
    },
    // Not core's getIDToken: it retries for minutes with no deadline, and cannot be stopped.
    getIDToken: idToken,
  }
}

/** @actions/core reports a missing command file in words; give it the code the system would. */
function withCode(error: unknown): unknown {
  if (error instanceof Error && !('code' in error) && /^Missing file at path/.test(error.message))
    return Object.assign(error, { code: 'ENOENT' })
  return error
}
