// The broker, with the job's OIDC token: the source of broker mode, for keys and for tokens. The
// broker holds the admin key and decides what is ours: it lists and deletes only keys it minted
// for this repository.
import type { ActionIO } from '../io.ts'
import { ID_TOKEN_TIMEOUT_MS } from '../time-bounds.ts'
import type { KeyAdapter, KeyToMint, SourceTerms, UsageAdapter } from '../flow/key-source.ts'
import type { TokenSource } from '../flow/token-source.ts'
import type { BrokerTarget } from '../inputs/source.ts'
import { tokenAnswerOf } from './deepgram.ts'
import type { KeyUsage } from '../../deepgram/usage.ts'
import { mapBounded } from '../../shared/concurrency.ts'
import { ActionError, describeFailure } from '../../shared/errors.ts'
import type { BrokerClient, BrokerCreateBody } from './broker-client.ts'

export function brokerKeySource(client: BrokerClient, target: BrokerTarget): KeyAdapter {
  return {
    locator: { kind: 'broker', url: target.url, audience: target.audience },
    createOnce: (request, attempt) => client.createOnce(createBody(request), attempt),
    deleteInvocationKeys: (invocation) => client.deleteInvocation(invocation),
    deleteKey: (keyId) => client.deleteKey(keyId),
    keysOfSecret: (digest) => client.keysOfSecret(digest),
    deleteTagged: async (tags) => ({ revoked: await client.deleteTagged(tags), notes: [], warnings: [] }),
  }
}

/** How messages name the broker, and what a person can do about its keys. */
export function brokerTerms(url: string): SourceTerms {
  return {
    service: 'The broker',
    where: `through the broker at ${url}`,
    byHand: "It expires on its own; ask the broker's operators to delete it sooner.",
    orphanAdvice: () =>
      "it expires on its own, at the latest when its rule's max-expiration ends; ask the broker's operators to delete it sooner.",
  }
}

/** Temporary tokens from the broker's POST /v1/tokens; the ID token never reaches a log or an error. */
export function brokerTokenSource(client: BrokerClient): TokenSource {
  return { grant: async ({ expiration }) => tokenAnswerOf(await client.grantToken(expiration)) }
}

/** Usage through the broker: it answers only for keys it minted for this repository, live ones. */
export function brokerUsage(client: BrokerClient): UsageAdapter {
  return {
    async usageOf(asks) {
      const answers = await mapBounded(asks, 5, (ask) => client.usageOfKey(ask.keyId, ask.since))
      return {
        keys: answers.filter((usage): usage is KeyUsage => usage !== undefined),
        unknown: asks.filter((_, i) => answers[i] === undefined).map((ask) => ask.keyId),
      }
    },
    usageTagged: async (tags, since) => ({ keys: await client.usageTagged(tags, since), unknown: [] }),
  }
}

/** The request in the broker's terms. Without a comment of ours the broker writes one naming the run and rule. */
export function createBody(request: KeyToMint): BrokerCreateBody {
  const { expiration } = request
  const body: BrokerCreateBody = {
    scopes: request.scopes,
    expiration: expiration.kind === 'ttl' ? expiration.seconds : expiration.date.toISOString(),
    invocation: request.invocation,
  }
  if (request.tags.length > 0) body.tags = request.tags
  if (request.comment !== undefined) body.comment = request.comment
  if (request.secret !== undefined) body.secret = request.secret
  return body
}

/**
 * A fresh ID token for the audience, by `deadline` (epoch ms) at the latest; undefined when the job
 * may have none. The request behind io.getIDToken has the same bound (runtime/host.ts), so nothing is
 * left open when this gives up.
 */
export async function fetchIdToken(
  io: Pick<ActionIO, 'getIDToken'>,
  audience: string,
  deadline: number,
  now: () => number,
): Promise<string | undefined> {
  const waitMs = Math.max(0, Math.min(ID_TOKEN_TIMEOUT_MS, deadline - now()))
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () =>
        fail(
          new ActionError(
            `Getting this job's ID token from the runner took over ${Math.round(waitMs / 1000)} s. Run the job again.`,
          ),
        ),
      waitMs,
    )
  })
  try {
    return await Promise.race([io.getIDToken(audience, waitMs), late])
  } catch (error) {
    if (error instanceof ActionError) throw error
    const why = describeFailure(error)
      .replace(/\s+/g, ' ')
      .replace(/[\s.]*$/, '.')
    throw new ActionError(`Getting this job's ID token from the runner failed: ${why} Run the job again.`)
  } finally {
    clearTimeout(timer)
  }
}
