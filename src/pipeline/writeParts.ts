import type { Address, Hex } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { BaseError, IntentConflictError, toBaseError } from '../errors/index.js'
import type { Orders } from '../orders/orders.js'
import type { Signer } from '../signer/signer.js'
import type { SolanaSigner } from '../signer/solanaSigner.js'
import type { ToolContext } from '../tools/context.js'
import { type EstimateTxFeesOptions, estimateTxFees, type FeeCaps, type TxFees } from '../txs/fees.js'
import type { Intent, IntentJournal } from '../txs/intentJournal.js'
import type { NonceManager } from '../txs/nonceManager.js'
import type { Tracker } from '../txs/tracker.js'
import type { SafeFetcher } from '../untrusted/safeFetch.js'
import type { Guard } from './guard.js'

/** What the write path is built from: the journal, nonces, the signer, the tracker and the guard. */
export type WriteParts = {
  context: ToolContext
  journal: IntentJournal
  nonces: NonceManager
  signer: Signer | undefined
  /** The gateway's Solana wallet (ed25519), when one is configured: Solana writes sign with it. */
  solanaSigner?: SolanaSigner | undefined
  tracker: Tracker
  /** Simulation, policy, limits, approvals, kill switch and audit (DESIGN §1). */
  guard: Guard
  /** Fee caps by chain registry name. */
  feeCaps?: ((chain: string) => FeeCaps | undefined) | undefined
  /** Test hook (devnet only): SIGKILL this process at a named point, to prove crash safety. */
  crashAt?: 'after-sign' | 'after-broadcast' | undefined
  /** How the operator runs the CLI, for the approval hint (`npx airlock --config F`); default `airlock`. */
  operatorCommand?: string | undefined
  /** Where x402 purchases go: the SSRF-guarded fetcher (fetch_with_payment). */
  /** Standing orders (DESIGN §10): creating one is a guarded write of its own kind. */
  orders?: Orders | undefined
  payFetcher?: SafeFetcher | undefined
}

/**
 * The gateway wallet's signer, or a clear error when this gateway has none.
 *
 * @example const signer = requireSigner(parts)
 * @throws {BaseError} WALLET_NOT_CONFIGURED
 */
export function requireSigner(parts: Pick<WriteParts, 'signer'>): Signer {
  if (!parts.signer)
    throw new BaseError('WALLET_NOT_CONFIGURED', 'No wallet is configured, so this gateway cannot write.', {
      metaMessages: [
        'Create one with `airlock wallet create` and name it in the config (`wallet`), or use the devnet.',
      ],
    })
  return parts.signer
}

/**
 * Gas and fees for the call as it will be signed. A call that cannot be estimated because it reverts is not an
 * error yet: the simulation says why (sanitized), and only a call the simulation lets through fails on it.
 * `options`: the block to price from and a gas limit already known (see {@link estimateTxFees}).
 *
 * @example const { fees, error } = await feesFor(parts, chain, signer.address, call)
 */
export async function feesFor(
  parts: Pick<WriteParts, 'feeCaps'>,
  chain: ChainContext,
  from: Address,
  call: { to: Address; data: Hex; value: bigint },
  options: EstimateTxFeesOptions = {},
): Promise<{ fees?: TxFees | undefined; error?: unknown }> {
  try {
    return { fees: await estimateTxFees(chain, { from, ...call }, parts.feeCaps?.(chain.name), options) }
  } catch (error) {
    if (toBaseError(error).code !== 'CONTRACT_REVERTED') throw error
    return { error }
  }
}

/**
 * signed → broadcast; if the tracker (here or on a replica) re-sent the same bytes first, take its word.
 *
 * @example current = await markBroadcast(journal, current)
 */
export async function markBroadcast(journal: IntentJournal, intent: Intent): Promise<Intent> {
  try {
    return await journal.transition(intent.id, 'signed', 'broadcast')
  } catch (error) {
    if (error instanceof IntentConflictError) return journal.get(intent.id)
    throw error
  }
}
