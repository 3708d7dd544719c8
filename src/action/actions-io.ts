import type * as core from '@actions/core'
import type { ActionIO } from './io.ts'

/** ActionIO over @actions/core: what the runner reads from stdout and its command files. */
export function actionsIO(actions: typeof core): ActionIO {
  return {
    getInput: (name) => actions.getInput(name),
    setSecret: (value) => actions.setSecret(value),
    setOutput: (name, value) => actions.setOutput(name, value),
    saveState: (name, value) => actions.saveState(name, value),
    getState: (name) => actions.getState(name),
    info: (message) => actions.info(message),
    notice: (message) => actions.notice(message),
    warning: (message) => actions.warning(message),
    setFailed: (message) => actions.setFailed(message),
    appendSummary: async (markdown) => {
      // Outside a runner (local runs) there is no summary file to write to.
      if (process.env.GITHUB_STEP_SUMMARY) await actions.summary.addRaw(markdown, true).write()
    },
    getIDToken: async (audience) => (process.env.ACTIONS_ID_TOKEN_REQUEST_URL ? actions.getIDToken(audience) : undefined),
  }
}
