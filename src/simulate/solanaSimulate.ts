import { address, type Base64EncodedWireTransaction } from '@solana/kit'
import type { SolanaChainContext } from '../chains/solana/chain.js'
import { splAssetId } from '../chains/solana/clusters.js'
import { decodeTokenAccount } from '../chains/solana/mint.js'
import { accountBytes } from '../chains/solana/reads.js'
import { invokedPrograms } from '../chains/solana/transaction.js'
import { BaseError } from '../errors/index.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'
import type { AssetDelta, Simulation } from './types.js'

/** A token account of the wallet whose balance the simulation measures. */
export type WatchedTokenAccount = { account: string; mint: string }

/** A Solana simulation: the shared shape, plus the programs the logs show invoked and the fee. */
export type SolanaSimulation = Simulation & { programs: string[]; fee: bigint }

/**
 * Simulates a compiled, unsigned transaction as the wallet would send it (DESIGN §8): the wallet's SOL and token
 * balances are read before (`getMultipleAccounts`) and after (`simulateTransaction` with `accounts`), at the same
 * blockhash the transaction carries (not replaced), so the deltas in CAIP-19 ids are what this very transaction
 * does. SOL's delta excludes the network fee (EVM deltas exclude gas the same way). The programs invoked (inner
 * calls included) come from the logs.
 *
 * @throws {BaseError} SIMULATION_UNAVAILABLE: the endpoint answered no simulation
 */
export async function simulateSolana(
  chain: SolanaChainContext,
  input: { wire: string; message: string; wallet: string; watch: readonly WatchedTokenAccount[] },
): Promise<SolanaSimulation> {
  const addresses = [input.wallet, ...input.watch.map((w) => w.account)]
  // The balances before, then the simulation at that slot or later (never an endpoint behind the first read).
  const [pre, fee] = await Promise.all([
    chain.rpc
      .getMultipleAccounts(
        addresses.map((a) => address(a)),
        { encoding: 'base64', commitment: 'confirmed' },
      )
      .send(),
    chain.rpc
      .getFeeForMessage(input.message as never, { commitment: 'confirmed' })
      .send()
      .then((r) => BigInt(r.value ?? 5000)),
  ])
  const sim = await chain.rpc
    .simulateTransaction(input.wire as Base64EncodedWireTransaction, {
      encoding: 'base64',
      sigVerify: false,
      replaceRecentBlockhash: false,
      commitment: 'confirmed',
      minContextSlot: pre.context.slot,
      accounts: { addresses: addresses.map((a) => address(a)), encoding: 'base64' },
    })
    .send()
    .catch((error: unknown) => {
      throw new BaseError('SIMULATION_UNAVAILABLE', `${chain.name} did not simulate the transaction.`, {
        cause: error,
        metaMessages: ['The endpoint may not offer simulateTransaction; try again or use another endpoint.'],
      })
    })
  const value = sim.value
  const post = (value.accounts ?? []) as ({ lamports: bigint | number; data: [string, string] } | null)[]
  const lamportsOf = (a: { lamports: bigint | number } | null | undefined) => BigInt(a?.lamports ?? 0)
  const amountOf = (a: { data: unknown } | null | undefined) =>
    a ? (decodeTokenAccount(accountBytes(a.data as [string, string]))?.amount ?? 0n) : 0n
  const reverted = value.err !== null && value.err !== undefined
  const deltas: AssetDelta[] = []
  if (!reverted) {
    // The network fee is taken from the fee payer whatever happens; the delta is what the instructions move.
    const native = lamportsOf(post[0]) - lamportsOf(pre.value[0]) + fee
    if (native !== 0n) deltas.push({ kind: 'native', raw: native, assetId: chain.native.assetId })
    input.watch.forEach((w, i) => {
      const raw = amountOf(post[i + 1]) - amountOf(pre.value[i + 1])
      if (raw !== 0n)
        deltas.push({ kind: 'spl', token: w.mint, raw, assetId: splAssetId(chain.caip2, w.mint) })
    })
  }
  const logs = (value.logs ?? []).map(String)
  return {
    method: 'simulateTransaction',
    blockNumber: BigInt(sim.context.slot),
    reverted,
    ...(reverted
      ? {
          revertReason: sanitizeText(
            `${JSON.stringify(value.err, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}${lastProgramError(logs)}`,
            { maxLength: 300 },
          ).text,
        }
      : {}),
    gasUsed: BigInt(value.unitsConsumed ?? 0),
    deltas,
    approvals: [],
    flags: [],
    programs: invokedPrograms(logs),
    fee,
  }
}

/** The last "Program log: Error…" line, which says why a program failed. */
function lastProgramError(logs: readonly string[]): string {
  const line = [...logs].reverse().find((l) => /^Program log: (Error|error)/.test(l))
  return line ? `: ${line.slice('Program log: '.length, 200)}` : ''
}
