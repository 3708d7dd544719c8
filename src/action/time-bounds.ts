// How long each step may take, whatever the network does. The runner gives a cancelled job's
// steps seconds, not minutes (SIGINT, SIGTERM 7.5 s later, a kill 2.5 s after that), and a key
// meant to live minutes must not outlive a step that hangs. docs/time-bounds.md states these
// bounds for users.

/** One request the action sends, whole: connecting, the headers and every byte of the answer. */
export const OUTGOING_REQUEST_TIMEOUT_MS = 10_000

/**
 * Main's Deepgram work (finding the project, the create and its retries, any clean-up) ends this
 * long after the step starts: with Node's start and exit, main ends within 30 s.
 */
export const MAIN_DEEPGRAM_BUDGET_MS = 25_000

/**
 * Create attempts end this long before MAIN_DEEPGRAM_BUDGET_MS runs out, leaving time to list the
 * project's keys and delete one whose answer was lost.
 */
export const CLEAN_UP_RESERVE_MS = 8_000

/** Post's work (finding the key by its marker, deleting it) ends this long after it starts: post ends within 20 s. */
export const POST_BUDGET_MS = 15_000

/**
 * The runner's token service is the runner's own: an ID token that takes longer than this is not
 * coming, and the step's budget must still hold what follows.
 */
export const ID_TOKEN_TIMEOUT_MS = 10_000

/**
 * After a main cut short while writing secrets, post's questions to GitHub (which targets hold the
 * key) end this long after post starts, answered or not: the deletion that may follow has the rest
 * of POST_BUDGET_MS, a fresh ID token first in broker mode.
 */
export const POST_GITHUB_QUESTIONS_MS = 7_000

/**
 * A usage report's own budget, within its step's: the post step reads the key's usage before it
 * deletes the key, and a usage endpoint that hangs must leave the delete most of POST_BUDGET_MS.
 */
export const USAGE_BUDGET_MS = 4_000

/** mode: report does nothing else, so it may take most of main's budget. */
export const REPORT_BUDGET_MS = 20_000
