import type { Hex } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { toBaseError } from '../errors/index.js'

/** How a node answered a signed transaction. */
export type SendOutcome =
  | { kind: 'accepted' }
  /** The node already has it (an earlier attempt or a crash-restart re-send of the same bytes). */
  | { kind: 'known' }
  /** The nonce is taken (too low, or a pending transaction there that ours does not out-bid). */
  | { kind: 'nonce-taken'; message: string }
  /** We cannot know whether the node got it (timeout mid-request): leave it signed, reconcile later. */
  | { kind: 'unknown'; message: string }
  /** Refused for good (insufficient funds, invalid): the intent fails. */
  | { kind: 'refused'; code: string; message: string }

/** All messages along an error's cause chain, lowercased: node texts differ, their words do not. */
function errorText(error: unknown): string {
  const parts: string[] = []
  for (let e: unknown = error, i = 0; e && i < 12; e = (e as { cause?: unknown }).cause, i++) {
    const x = e as { message?: string; details?: string; shortMessage?: string }
    parts.push(x.details ?? '', x.shortMessage ?? '', x.message ?? '')
  }
  return parts.join(' | ').toLowerCase()
}

/**
 * Sends signed bytes with `eth_sendRawTransaction` and classifies the answer. Re-sending the same bytes is always
 * safe: the same bytes are the same transaction (same hash), so a retry can never make a second transfer.
 *
 * @example const outcome = await sendRaw(chain, intent.signedTx)
 */
export async function sendRaw(chain: ChainContext, signed: Hex): Promise<SendOutcome> {
  try {
    await chain.client.sendRawTransaction({ serializedTransaction: signed })
    return { kind: 'accepted' }
  } catch (error) {
    const text = errorText(error)
    if (/already known|known transaction|already imported|already exists/.test(text)) return { kind: 'known' }
    if (
      /nonce too low|replacement transaction underpriced|replacement fee too low|nonce has already been used/.test(
        text,
      )
    )
      return { kind: 'nonce-taken', message: toBaseError(error).shortMessage }
    const e = toBaseError(error)
    if (e.code === 'RPC_UNAVAILABLE' && /may or may not have been received|timed out|timeout/.test(text))
      return { kind: 'unknown', message: e.shortMessage }
    if (/insufficient funds|exceeds transaction sender account balance/.test(text))
      return {
        kind: 'refused',
        code: 'INSUFFICIENT_FUNDS',
        message: 'The wallet cannot pay for value + gas.',
      }
    if (e.code === 'RPC_UNAVAILABLE') return { kind: 'unknown', message: e.shortMessage }
    return { kind: 'refused', code: e.code, message: e.shortMessage }
  }
}
