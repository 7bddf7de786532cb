import {
  type Address,
  formatGwei,
  type Hex,
  keccak256,
  parseGwei,
  type TransactionSerializableEIP1559,
} from 'viem'
import { agentIdOf } from '../context/caller.js'
import type { JsonObject } from '../context/json.js'
import type { RequestContext } from '../context/requestContext.js'
import { BaseError } from '../errors/index.js'
import type { WriteOptionsValue, WriteResultValue } from '../tools/shared/write.js'
import type { Intent } from '../txs/intentJournal.js'
import { sendRaw } from '../txs/sendRaw.js'
import { jsonTx } from './drafts/evmTransaction.js'
import type { IntentQueries } from './intents.js'
import { markBroadcast, requireSigner, type WriteParts } from './writeParts.js'

/** Options of a speed-up: the write options and how much to raise the fees. */
export type SpeedUpOptions = WriteOptionsValue & { feeBumpPercent?: number | undefined }

/** Withdrawing and re-pricing intents (cancel_intent, speed_up_intent). */
export type Replacements = {
  /** Withdraws an intent: before signing it is cancelled; in flight it is replaced by a 0-value self-transfer. */
  cancel(id: string, options: WriteOptionsValue, ctx: RequestContext): Promise<WriteResultValue>
  /** Re-sends an in-flight intent's transaction with higher fees (same nonce). */
  speedUp(id: string, options: SpeedUpOptions, ctx: RequestContext): Promise<WriteResultValue>
}

/**
 * Replacements over the write path's parts: a replacement is an intent of its own (same nonce, higher fees), signed
 * and broadcast under the kill switch and the chain's fee caps.
 *
 * @example await createReplacements(parts, intents).cancel(intentId, {}, ctx)
 */
export function createReplacements(parts: WriteParts, intents: IntentQueries): Replacements {
  const { context, journal, nonces, guard } = parts

  /** Signs and broadcasts a replacement (same nonce, higher fees) for an in-flight intent. */
  async function replace(
    original: Intent,
    operation: 'cancel_intent' | 'speed_up_intent',
    options: SpeedUpOptions,
    ctx: RequestContext,
  ): Promise<WriteResultValue> {
    // Solana has no nonce to replace at: a sent transaction lands, or expires with its blockhash.
    if (context.chains.resolveAny(original.chainId).family === 'solana')
      throw new BaseError(
        'CONFLICT',
        `Intent ${original.id} is a sent Solana transaction: it cannot be replaced or sped up.`,
        {
          field: 'intentId',
          metaMessages: [
            'It lands, or expires with its blockhash (about a minute) and is then recorded as failed; poll get_intent.',
          ],
        },
      )
    const signer = requireSigner(parts)
    const chain = context.chains.resolve(original.chainId)
    const old = (original.tx ?? {}) as Record<string, string>
    const bump = BigInt(100 + Math.max(options.feeBumpPercent ?? 15, 10)) // nodes want at least +10%
    const estimate = await chain.client.estimateFeesPerGas({ type: 'eip1559' })
    const up = (prev: string | undefined, now: bigint) => {
      const bumped = (BigInt(prev ?? '0') * bump) / 100n + 1n
      return bumped > now ? bumped : now
    }
    const maxPriorityFeePerGas = up(old.maxPriorityFeePerGas, estimate.maxPriorityFeePerGas)
    let maxFeePerGas = up(old.maxFeePerGas, estimate.maxFeePerGas)
    if (maxFeePerGas < maxPriorityFeePerGas) maxFeePerGas = maxPriorityFeePerGas
    // Replacements pay fees, and fees are spending: the kill switch and the chain's fee caps hold, and a bump
    // may not run past 3× what the network asks now (repeated speed-ups must not burn the wallet in tips).
    await guard.assertLive(agentIdOf(ctx.caller))
    // A speed-up re-sends the original call: not to a contract stopped since.
    const called = (original.tx as { call?: { to?: string }; to?: string } | null) ?? {}
    if (operation === 'speed_up_intent' && (called.call?.to ?? called.to))
      await guard.parts.killSwitch.assertContractsLive(chain.id, [(called.call?.to ?? called.to) as string], {
        chainName: chain.name,
      })
    const caps = parts.feeCaps?.(chain.name) ?? {}
    const capWei = (gwei: number | undefined) => (gwei === undefined ? undefined : parseGwei(String(gwei)))
    const maxCap = capWei(caps.maxFeePerGasGwei)
    const tipCap = capWei(caps.maxPriorityFeePerGasGwei)
    const ceiling = estimate.maxFeePerGas * 3n
    if (
      maxFeePerGas > ceiling ||
      (maxCap !== undefined && maxFeePerGas > maxCap) ||
      (tipCap !== undefined && maxPriorityFeePerGas > tipCap)
    )
      throw new BaseError(
        'FEE_CAP_EXCEEDED',
        `The replacement would pay up to ${formatGwei(maxFeePerGas)} gwei per gas: above ${maxCap !== undefined && maxFeePerGas > maxCap ? 'the configured cap' : '3× the current network fee'}.`,
        {
          metaMessages: [
            'Nothing was signed. Wait for the transaction, or retry when fees move; caps are chains.<name>.maxFeePerGasGwei.',
          ],
        },
      )
    // A wallet with code (its EIP-7702 delegation to the guard) runs it on a transfer to itself: more than 21,000.
    const walletCode =
      operation === 'cancel_intent' ? await chain.client.getCode({ address: signer.address }) : '0x'
    const call =
      operation === 'cancel_intent'
        ? {
            to: signer.address as Address,
            data: '0x' as Hex,
            value: 0n,
            gas: walletCode && walletCode !== '0x' ? 50_000n : 21_000n,
          }
        : {
            to: old.to as Address,
            data: (old.data ?? '0x') as Hex,
            value: BigInt(old.value ?? '0'),
            gas: BigInt(old.gas ?? '0'),
          }
    const { intent } = await journal.create({
      idempotencyKey: options.idempotencyKey,
      chainId: chain.id,
      wallet: signer.address,
      operation,
      request: { tool: operation, args: { intentId: original.id } },
      caller: ctx.caller,
      origin: ctx.origin,
    })
    if (intent.status !== 'created') return intents.finish(intent, options)
    const summary =
      operation === 'cancel_intent'
        ? `Cancel intent ${original.id}: replace its transaction (nonce ${original.nonce}) with a 0-value transfer to self at higher fees.`
        : `Speed up intent ${original.id}: re-send its transaction (nonce ${original.nonce}) with higher fees.`
    const nonce = await nonces.reserve(chain.id, signer.address, intent.id, { replaces: original.id })
    const tx: TransactionSerializableEIP1559 = {
      type: 'eip1559',
      chainId: chain.id,
      nonce,
      ...call,
      maxFeePerGas,
      maxPriorityFeePerGas,
    }
    const signed = await signer.signTransaction(tx)
    let current = await journal.transition(intent.id, 'created', 'signed', {
      tx: {
        ...jsonTx(tx),
        summary,
        details: { replaces: original.id, previousMaxFeePerGas: old.maxFeePerGas ?? null },
        // What the settlement compares the receipt with: a speed-up runs the original's checked call (and its
        // post-conditions: the same calldata); a cancel (a 0-value transfer to self) moves nothing.
        ...(operation === 'cancel_intent'
          ? { checked: { deltas: [], approvals: [] } }
          : pick(original.tx, ['checked', 'call', 'guard'])),
      },
      txHash: keccak256(signed),
      signedTx: signed,
    })
    const outcome = await sendRaw(chain, signed)
    if (outcome.kind === 'accepted' || outcome.kind === 'known')
      current = await markBroadcast(journal, current)
    else if (outcome.kind !== 'unknown')
      current = await journal.transition(current.id, 'signed', 'failed', {
        error: {
          code: outcome.kind === 'refused' ? outcome.code : 'NONCE_CONFLICT',
          message: outcome.message,
        },
      })
    return intents.finish(current, options)
  }

  return {
    async cancel(id, options, ctx) {
      const intent = await intents.own(id, ctx.caller)
      if (intent.status === 'created') {
        const done = await journal.transition(id, 'created', 'cancelled', {
          error: { code: 'CANCELLED', message: 'Cancelled by request before signing.' },
        })
        return intents.describe(done)
      }
      if (intent.status === 'broadcast' || intent.status === 'dropped')
        return replace(intent, 'cancel_intent', options, ctx)
      throw new BaseError('CONFLICT', `Intent ${id} is ${intent.status}; there is nothing to cancel.`, {
        field: 'intentId',
        metaMessages: ['Only intents not yet signed, or sent but not mined, can be cancelled.'],
      })
    },
    async speedUp(id, options, ctx) {
      const intent = await intents.own(id, ctx.caller)
      if (intent.status === 'broadcast' || intent.status === 'dropped')
        return replace(intent, 'speed_up_intent', options, ctx)
      throw new BaseError(
        'CONFLICT',
        `Intent ${id} is ${intent.status}; only a sent, unmined intent can be sped up.`,
        { field: 'intentId' },
      )
    },
  }
}

/** The fields of a stored transaction record that a speed-up carries over. */
function pick(tx: JsonObject | null, keys: readonly string[]): JsonObject {
  const out: JsonObject = {}
  for (const key of keys) if (tx?.[key] !== undefined) out[key] = tx[key] as JsonObject
  return out
}
