/**
 * The part of the runner's interface the action uses. runtime/actions-io.ts implements it with
 * @actions/core; tests implement it with a recorder, so no module mocking is needed.
 */
export interface ActionIO {
  /** The input's value, trimmed; '' when not given. */
  getInput(name: string): string
  /** Registers a value the runner must mask in the log from now on. */
  setSecret(value: string): void
  setOutput(name: string, value: string): void
  saveState(name: string, value: string): void
  getState(name: string): string
  /** Messages are one line each: the implementation escapes what could start another (log-text.ts). */
  info(message: string): void
  /** Shown only when the run has debug logging on. */
  debug(message: string): void
  notice(message: string): void
  warning(message: string): void
  /** Reports the failure as one `::error::` and makes the step fail. */
  setFailed(message: string): void
  /** Appends Markdown to the job summary. */
  appendSummary(markdown: string): Promise<void>
  /**
   * A GitHub OIDC token for `audience`, fresh from the runner; undefined when the job may not
   * have one (no `permissions: id-token: write`, so no ACTIONS_ID_TOKEN_REQUEST_URL). The request
   * is abandoned after `timeoutMs`.
   */
  getIDToken(audience: string, timeoutMs?: number): Promise<string | undefined>
}
