import { type Address, getAddress, type Hash, numberToHex, parseAbi } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { recentReceipt } from '../chains/recentReceipts.js'
import { RpcError } from '../errors/index.js'
import { withAssetIds } from './assetIds.js'
import type { ApprovalExposure, AssetDelta } from './types.js'
import { type RawLog, walletLogEffects } from './walletLogs.js'

const balanceAbi = parseAbi(['function balanceOf(address owner) view returns (uint256)'])

/** What a mined transaction actually did to the wallet, from its receipt and the balances around its block. */
export type ReceiptEffects = {
  blockNumber: bigint
  status: 'success' | 'reverted'
  /** Native and ERC-20 changes (larger outflow of logs and balances), NFT moves from the logs; with `assetId`. */
  deltas: AssetDelta[]
  /** Approvals the wallet granted, as its `Approval` / `ApprovalForAll` logs say (not compared with before). */
  approvals: ApprovalExposure[]
  /**
   * Whether balance reads around the block could be attributed to this transaction alone (the wallet sent no
   * other transaction in that block); when false, only the logs and the value sent count.
   */
  balancesRead: boolean
  /** The first topic of each log the wallet's own code emitted (a wallet with delegated code, e.g. its guard). */
  walletEvents: string[]
}

/**
 * Reads what a mined transaction moved out of the wallet (DESIGN §11: limits settle on what the receipt shows, not
 * on what was simulated): the `Transfer` / `TransferSingle` / `TransferBatch` / `Approval` logs of the receipt, and
 * the wallet's native and token balances at the block before and at the mined block (nonce and native balance in
 * one `eth_getProof` per block where the endpoint has it). Where the two disagree the
 * larger outflow counts (a token whose `balanceOf` lies, one that takes more than it logs). Balances are only
 * attributed to the transaction when it was the wallet's only one in the block (its nonce moved by one there);
 * otherwise the logs and the value sent stand alone. `tokens` are read besides the ones the logs name (what the
 * simulation expected to move).
 *
 * @example const effects = await readReceiptEffects(chain, { hash, wallet, value: 0n, tokens: [usdc] })
 * @throws whatever the endpoint throws when the receipt cannot be read (the caller retries later)
 */
export async function readReceiptEffects(
  chain: ChainContext,
  parameters: { hash: Hash; wallet: Address; value: bigint; tokens: readonly Address[] },
): Promise<ReceiptEffects> {
  const { hash, wallet, value } = parameters
  // Most often the receipt the tracker read a moment ago (the write's own wait): one read, not two.
  const receipt = await recentReceipt(chain, hash)
  if (!receipt)
    throw new RpcError({ message: `no receipt for ${hash} on ${chain.name}`, details: 'not mined (yet)' })
  const block = receipt.blockNumber
  const logs: RawLog[] = receipt.status === 'success' ? (receipt.logs as RawLog[]) : []
  const effects = walletLogEffects(logs, wallet)
  const tokens = [
    ...new Set(
      [...parameters.tokens.map((t) => t.toLowerCase()), ...effects.erc20.keys()].filter(
        (t) => !effects.collections.has(t),
      ),
    ),
  ].slice(0, 64) as Address[]
  const previous = block > 0n ? block - 1n : block
  const read = (blockNumber: bigint) =>
    Promise.all(
      tokens.map((token) =>
        chain.client
          .readContract({
            address: token,
            abi: balanceAbi,
            functionName: 'balanceOf',
            args: [wallet],
            blockNumber,
          })
          .catch(() => undefined),
      ),
    )
  // One round trip after the receipt: the nonces say whether the balances can be attributed, read meanwhile.
  const readAround = async () => {
    const [accountBefore, accountAfter, tokensBefore, tokensAfter] = await Promise.all([
      readAccount(chain, wallet, previous),
      readAccount(chain, wallet, block),
      read(previous),
      read(block),
    ])
    return {
      nonces: [accountBefore.nonce, accountAfter.nonce],
      around: [
        [accountBefore.balance, ...tokensBefore],
        [accountAfter.balance, ...tokensAfter],
      ],
    }
  }
  const first = await readAround()
  let balancesRead = first.nonces[1]! - first.nonces[0]! === 1
  // Balances that say more left than the logs show are read once more before they count: a node that answered a
  // historical read from other state (seen on a devnet mining under load) must not make an honest write a breach.
  // A real excess reads the same twice; reads that disagree are not attributed (the logs still count).
  if (balancesRead && exceedsLogs(first.around, effects, tokens, value, receipt)) {
    const again = await readAround()
    if (canonical(again) !== canonical(first)) balancesRead = false
  }
  const balances = balancesRead ? first.around : []
  const deltas: AssetDelta[] = []
  // Native: the value sent at least; the balance change (gas paid added back) when it is this transaction's own.
  let native = receipt.status === 'success' ? -value : 0n
  const [before, after] = [balances[0]?.[0], balances[1]?.[0]]
  if (before !== undefined && after !== undefined) {
    const moved = after - before + receipt.gasUsed * receipt.effectiveGasPrice
    if (moved < native) native = moved
  }
  if (native !== 0n) deltas.push({ kind: 'native', raw: native })
  for (const [i, token] of tokens.entries()) {
    const fromLogs = effects.erc20.get(token)?.raw ?? 0n
    const before = balances[0]?.[i + 1]
    const after = balances[1]?.[i + 1]
    const fromBalance = before !== undefined && after !== undefined ? after - before : undefined
    // The larger outflow counts (a lying balanceOf, a token that takes more than it logs).
    const raw = fromBalance !== undefined && fromBalance < fromLogs ? fromBalance : fromLogs
    if (raw === 0n) continue
    deltas.push({
      kind: 'erc20',
      token: getAddress(token),
      raw,
      ...(fromBalance !== undefined && fromBalance !== fromLogs ? { fromLogs, fromBalance } : {}),
    })
  }
  for (const item of effects.erc721.values())
    if (item.raw !== 0n)
      deltas.push({ kind: 'erc721', token: item.token, tokenId: item.tokenId, raw: item.raw > 0n ? 1n : -1n })
  for (const item of effects.erc1155.values())
    if (item.raw !== 0n)
      deltas.push({ kind: 'erc1155', token: item.token, tokenId: item.tokenId, raw: item.raw })
  const approvals: ApprovalExposure[] = []
  for (const event of effects.approvals.values()) {
    if (event.kind === 'erc20' || event.kind === 'permit2') {
      if (event.amount === 0n) continue
      approvals.push({
        kind: event.kind,
        token: event.token,
        spender: event.spender,
        amount: event.amount,
        unlimited: event.amount >= (event.kind === 'permit2' ? 2n ** 160n - 1n : 2n ** 255n),
      })
    } else if (event.kind === 'erc721-all') {
      if (event.approved)
        approvals.push({
          kind: 'erc721-all',
          token: event.token,
          spender: event.spender,
          amount: null,
          unlimited: true,
        })
    } else
      approvals.push({
        kind: 'erc721',
        token: event.token,
        spender: event.spender,
        amount: 1n,
        tokenId: event.tokenId,
        unlimited: false,
      })
  }
  const walletEvents = logs
    .filter((l) => l.address.toLowerCase() === wallet.toLowerCase() && l.topics[0])
    .map((l) => (l.topics[0] as string).toLowerCase())
  return {
    ...withAssetIds(chain, { blockNumber: block, status: receipt.status, deltas, approvals, balancesRead }),
    walletEvents,
  }
}

/**
 * The wallet's nonce and native balance at a block: one `eth_getProof` (both in one answer; the proof itself is
 * not needed, the node is trusted for them as for any read), or, where the endpoint does not offer it or answers
 * something malformed, `eth_getTransactionCount` and `eth_getBalance`. A balance that cannot be read is undefined;
 * a nonce that cannot be read throws (the settlement is tried again later).
 */
async function readAccount(
  chain: ChainContext,
  wallet: Address,
  blockNumber: bigint,
): Promise<{ nonce: number; balance: bigint | undefined }> {
  const request = chain.client.request as (args: { method: string; params: unknown[] }) => Promise<unknown>
  const proof = (await request({
    method: 'eth_getProof',
    params: [wallet, [], numberToHex(blockNumber)],
  }).catch(() => undefined)) as { nonce?: unknown; balance?: unknown } | undefined
  const nonce = quantity(proof?.nonce)
  const balance = quantity(proof?.balance)
  if (nonce !== undefined && balance !== undefined && nonce <= BigInt(Number.MAX_SAFE_INTEGER))
    return { nonce: Number(nonce), balance }
  const [count, fallback] = await Promise.all([
    chain.client.getTransactionCount({ address: wallet, blockNumber }),
    chain.client.getBalance({ address: wallet, blockNumber }).catch(() => undefined),
  ])
  return { nonce: count, balance: fallback }
}

function quantity(value: unknown): bigint | undefined {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value) ? BigInt(value) : undefined
}

/** Whether balances read around the block show more leaving the wallet than its logs (and value) do. */
function exceedsLogs(
  around: (bigint | undefined)[][],
  effects: ReturnType<typeof walletLogEffects>,
  tokens: readonly Address[],
  value: bigint,
  receipt: { status: string; gasUsed: bigint; effectiveGasPrice: bigint },
): boolean {
  const [before, after] = around as [(bigint | undefined)[], (bigint | undefined)[]]
  if (before[0] !== undefined && after[0] !== undefined) {
    const moved = after[0] - before[0] + receipt.gasUsed * receipt.effectiveGasPrice
    if (moved < (receipt.status === 'success' ? -value : 0n)) return true
  }
  return tokens.some((token, i) => {
    const b = before[i + 1]
    const a = after[i + 1]
    return b !== undefined && a !== undefined && a - b < (effects.erc20.get(token)?.raw ?? 0n)
  })
}

const canonical = (read: { nonces: number[]; around: (bigint | undefined)[][] }) =>
  JSON.stringify(read, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
