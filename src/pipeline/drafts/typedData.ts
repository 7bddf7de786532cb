import { hashTypedData } from 'viem'
import type { ChainContext } from '../../chains/chains.js'
import { agentIdOf } from '../../context/caller.js'
import type { PreparedDraft } from '../../context/draft.js'
import { toJson } from '../../context/json.js'
import { BaseError } from '../../errors/index.js'
import { type TypedDataToSign, withDomainType } from '../../signer/signer.js'
import type { WriteResultValue } from '../../tools/shared/write.js'
import type { Intent } from '../../txs/intentJournal.js'
import { refuse, type WriteDraftKind, type WriteEnvironment } from '../executor.js'
import { typedDataEffects } from '../facts.js'
import type { IntentQueries } from '../intents.js'
import { requireSigner, type WriteParts } from '../writeParts.js'

/** A sign_typed_data call: the chain as the caller named it and the message (its domain type the gateway's). */
export type TypedDataRequest = { chain: string | number; typedData: TypedDataToSign }

type TypedPrepared = PreparedDraft<WriteEnvironment> & { typedData: TypedDataToSign }

/**
 * The EIP-712 typed-data draft kind. Typed data moves nothing by itself, but a permit grants an allowance as surely
 * as approve(), and an EIP-3009 authorization moves tokens: the effects are decoded from the message and judged
 * like a simulation (ADVERSARIAL 20); a message type the gateway does not understand has no simulation. Delivery
 * is the signature itself: the intent completes with it. An approved message is signed as approved (its effects
 * are decoded from the message, which cannot change), without a second check.
 *
 * @example executor.execute(createTypedDataKind(parts, intents), { chain: 'devnet', typedData }, { idempotencyKey }, ctx)
 */
export function createTypedDataKind(
  parts: WriteParts,
  intents: IntentQueries,
): WriteDraftKind<TypedDataRequest> {
  const { context, journal, guard } = parts

  function draftOf(
    chain: ChainContext,
    typedData: TypedDataToSign,
    wallet: `0x${string}`,
    summary?: string,
  ): TypedPrepared {
    const effects = typedDataEffects(typedData as never, wallet)
    return {
      chain,
      summary:
        summary ??
        `Sign EIP-712 "${typedData.primaryType}" for ${typedData.domain.verifyingContract ?? 'no contract'} on ${chain.name}.`,
      details: { primaryType: typedData.primaryType },
      check: {
        operation: 'sign_typed_data',
        details: {
          verifyingContract: typedData.domain.verifyingContract,
          primaryType: typedData.primaryType,
          ...(effects.to ? { to: effects.to } : {}),
          ...(effects.token ? { token: effects.token } : {}),
          ...(effects.amount !== undefined ? { amount: { raw: effects.amount.toString() } } : {}),
        },
        simulation: effects.simulation,
        typedData: true,
      },
      bound: { typedData: toJson(typedData) },
      typedData,
    }
  }

  /** Signs typed data for an intent in `created` and completes it. */
  async function sign(intent: Intent, prepared: TypedPrepared): Promise<Intent> {
    const signer = requireSigner(parts)
    const { typedData } = prepared
    await guard.assertLive(agentIdOf(intent.caller ?? undefined))
    const signature = await signer.signTypedData(typedData, { chainId: prepared.chain.id })
    // What was signed, whatever the message's size: the digest (with the gateway's own EIP712Domain type, as the
    // signer signs it), the domain and the primary type. `detail` goes into the audit entry of this change.
    const signed = {
      primaryType: typedData.primaryType,
      domain: toJson(typedData.domain) as never,
      digest: hashTypedData(withDomainType(typedData) as never),
    }
    return journal.transition(intent.id, 'created', 'completed', {
      tx: { summary: prepared.summary, details: { ...signed, signature } },
      detail: { typedData: signed },
    })
  }

  return {
    name: 'typed-data',
    recheckOnResume: false,
    carries(intent) {
      return (
        intent.operation === 'sign_typed_data' &&
        Boolean((intent.tx as { typedData?: unknown } | null)?.typedData)
      )
    },
    identify({ chain, typedData }) {
      return {
        chain: context.chains.resolve(chain),
        operation: 'sign_typed_data',
        record: toJson({ tool: 'sign_typed_data', args: { chain, typedData } }),
      }
    },
    guarded() {
      return true
    },
    async prepare({ chain, typedData }, wallet) {
      return draftOf(context.chains.resolve(chain), typedData, wallet)
    },
    async restore(intent, wallet) {
      const stored = (intent.tx ?? {}) as { summary?: string; typedData?: TypedDataToSign }
      if (!stored.typedData) throw new BaseError('INTERNAL', 'The held intent lost its message.')
      return draftOf(context.chains.resolve(intent.chainId), stored.typedData, wallet, stored.summary ?? '')
    },
    ready() {},
    async deliver(intent, prepared) {
      try {
        return { intent: await sign(intent, prepared as TypedPrepared) }
      } catch (error) {
        throw await refuse(parts, await journal.get(intent.id), error)
      }
    },
    async answer(intent) {
      const replay: WriteResultValue & { signature?: string } = await intents.describe(intent)
      const signature = replay.details.signature
      return typeof signature === 'string' ? { ...replay, signature } : replay
    },
  }
}
