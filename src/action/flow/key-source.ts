// The port the key flows work through. A flow (create, revoke, report, post's clean-up) asks a
// KeySource for what it needs and never learns who answers: Deepgram itself with the admin key
// (sources/deepgram.ts), or the broker with the job's OIDC token (sources/broker.ts). The step
// holds it as a StepSource: the port, the words its messages use, and its time budget, put
// together by sources/credentials.ts.
import type { CreatedKey, DeleteOutcome } from '../../deepgram/client.ts'
import type { Expiration } from '../../deepgram/expiration.ts'
import type { KeyUsage } from '../../deepgram/usage.ts'

/** What to mint. Validated already: nothing in it has been sent anywhere. */
export interface KeyToMint {
  /** The user's comment; undefined: the source's own (one naming the run). */
  comment?: string
  scopes: string[]
  tags: string[]
  expiration: Expiration
  /** Unique to this invocation, and saved to the runner's state before the create is sent. */
  invocation: string
  /** The digest of the secret the key will be written to: rotation finds earlier keys by it. */
  secret?: string
}

export interface MintedKey extends CreatedKey {
  projectId: string
}

/** A key a source knows of, as far as rotation needs it. */
export interface KnownKey {
  apiKeyId: string
  created?: string
  expirationDate?: string
}

/** Revoke mode by tags: what was deleted, and what is worth saying about the search. */
export interface TaggedRevocation {
  revoked: string[]
  notes: string[]
  warnings: string[]
}

/** A key whose usage to read, from `since`; without it, from the key's creation (7 days back when unknown). */
export interface UsageAsk {
  keyId: string
  since?: Date
}

/** What a source could read of its keys' usage. */
export interface UsageAnswer {
  keys: KeyUsage[]
  /** Ids the source would not report on: not its own, or unknown to it. */
  unknown: string[]
}

/** Enough to find the same source again in the post step: saved to the state before any create. */
export type SourceLocator = { kind: 'deepgram'; projectId: string } | { kind: 'broker'; url: string; audience: string }

/** What an adapter provides for usage reports. */
export type UsageAdapter = Pick<KeySource, 'usageOf' | 'usageTagged'>

/** What an adapter provides for everything else. */
export type KeyAdapter = Omit<KeySource, keyof UsageAdapter>

/** How messages name a source and what a person can do about its keys. */
export interface SourceTerms {
  /** Who makes the keys, for errors: "Deepgram", "The broker". */
  readonly service: string
  /** Where keys are, as a phrase for messages: "in project <id>", "through the broker at <url>". */
  readonly where: string
  /** What a person can do about a key that could not be deleted. */
  readonly byHand: string
  /** How a person finds a key of this invocation that nothing could delete. */
  orphanAdvice(invocation: string): string
}

export interface KeySource {
  readonly locator: SourceLocator
  /** One create attempt; a failure may have created the key (see mintWithoutOrphans). */
  createOnce(request: KeyToMint, attempt: { n: number; remainingMs: number }): Promise<MintedKey>
  /** Deletes every key this invocation created: the ids deleted. */
  deleteInvocationKeys(invocation: string): Promise<string[]>
  /** 'already-gone' when the source does not know the key (deleted, or another project's). */
  deleteKey(keyId: string): Promise<DeleteOutcome>
  /** The live keys this action minted for the secret with this digest (the same name, type and targets). */
  keysOfSecret(digest: string): Promise<KnownKey[]>
  /** Deletes every key (of this source's own) whose tags include all of these. */
  deleteTagged(tags: string[]): Promise<TaggedRevocation>
  /** What these keys used (Deepgram's usage, cost and request log). */
  usageOf(asks: UsageAsk[]): Promise<UsageAnswer>
  /** What each key of its own whose tags include all of these used, from `since` (else each key's creation). */
  usageTagged(tags: string[], since?: Date): Promise<UsageAnswer>
}

/** A KeySource as one step holds it: with its terms, and a budget every request of it ends within. */
export interface StepSource extends KeySource, SourceTerms {
  /** Epoch ms by which every request of this source has ended: the step's own bound. */
  readonly deadline: number
  /** The same source with a budget of its own from now on: for what follows a long fan-out of secret writes. */
  renewed(): StepSource
  /** The same source with a shorter budget: its requests end `budgetMs` from now, never after its own deadline. */
  within(budgetMs: number): StepSource
}
