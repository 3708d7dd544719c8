import type { ActionIO } from './io.ts'
import { logLine, summaryText } from '../shared/log-text.ts'

/** The part of @actions/core this uses; `typeof core` is one, and a test can give a recorder. */
export interface RunnerCore {
  getInput(name: string): string
  setSecret(secret: string): void
  setOutput(name: string, value: string): void
  saveState(name: string, value: string): void
  getState(name: string): string
  info(message: string): void
  notice(message: string): void
  warning(message: string): void
  setFailed(message: string): void
  summary: { addRaw(text: string, addEOL?: boolean): { write(): Promise<unknown> } }
  getIDToken(audience: string): Promise<string>
}

/**
 * ActionIO over @actions/core: what the runner reads from stdout and its command files. Every
 * message and the summary pass through log-text.ts here, so text from inputs or answers can never
 * start a line of the log (core.info writes raw; core escapes only CR, LF and % in commands).
 */
export function actionsIO(actions: RunnerCore): ActionIO {
  return {
    getInput: (name) => actions.getInput(name),
    setSecret: (value) => actions.setSecret(value),
    setOutput: (name, value) => actions.setOutput(name, value),
    saveState: (name, value) => actions.saveState(name, value),
    getState: (name) => actions.getState(name),
    info: (message) => actions.info(logLine(message)),
    notice: (message) => actions.notice(logLine(message)),
    warning: (message) => actions.warning(logLine(message)),
    setFailed: (message) => actions.setFailed(logLine(message)),
    appendSummary: async (markdown) => {
      // Outside a runner (local runs) there is no summary file to write to.
      if (process.env.GITHUB_STEP_SUMMARY) await actions.summary.addRaw(summaryText(markdown), true).write()
    },
    getIDToken: async (audience) => (process.env.ACTIONS_ID_TOKEN_REQUEST_URL ? actions.getIDToken(audience) : undefined),
  }
}
