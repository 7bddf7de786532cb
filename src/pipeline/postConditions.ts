import type { Address } from 'viem'
import type { PostCondition } from '../chains/evm/guard.js'
import type { LimitCharge } from '../policy/types.js'
import type { Simulation } from '../simulate/types.js'

/** What the post-conditions of one write are derived from: what was checked and decided, never the agent's words. */
export type PostConditionSource = {
  /** The call as checked (its `value` bounds the native outflow when there is no simulation). */
  call: { to: Address; value: bigint }
  /** The simulation the policy and the human saw; undefined when the endpoint offered none (a human approved). */
  simulation: Simulation | undefined
  /** The limits the decision reserves: every token with a budget is watched, even one the simulation did not move. */
  limits: readonly LimitCharge[]
  /** The tool's resolved details (transfer/approve amount, swap tokens and minimum out, spender). */
  details: Record<string, unknown>
}

/** An inflow other than a swap's may fall short of the simulated one by this much (basis points): prices move. */
export const inflowToleranceBps = 100n

/**
 * The post-conditions the guard enforces for one write (DESIGN §11): the transaction reverts unless
 * - the wallet's ETH and each watched token leave by at most what the simulation showed leaving (0 for a token the
 *   write names or a limit charges but the simulation did not move);
 * - the ETH and each token the simulation showed arriving arrive: a swap's output at least its minimum out (the
 *   quote less the allowed slippage), others at least the simulated amount less {@link inflowToleranceBps};
 * - each allowance the write grants is at most what was approved (the approve tool: its own amount);
 * - each NFT the simulation showed arriving is owned afterwards, and a collection loses at most as many NFTs as it
 *   showed leaving (a count: which ones is not checked); ERC-1155 balances move as simulated.
 * Bounds never fall below what the write itself names as leaving (its value, a transfer's amount, a swap's amount
 * in); without a simulation (a human approved a write the endpoint could not simulate) those are the bounds.
 *
 * Pure: the same inputs give the same conditions, in a fixed order, so a held write's conditions are the ones its
 * approval was bound to.
 *
 * @example postConditions({ call, simulation, limits: decision.limits, details })
 */
export function postConditions(source: PostConditionSource): PostCondition[] {
  const { simulation, details } = source
  const key = (token: Address) => token.toLowerCase() as Address
  const outflow = new Map<Address, bigint>()
  const inflow = new Map<Address, bigint>()
  let native = simulation ? 0n : source.call.value
  let nativeIn = 0n
  const nft = { owned: [] as PostCondition[], out: new Map<Address, bigint>() }
  const multi: PostCondition[] = []

  for (const d of simulation?.deltas ?? []) {
    if (d.kind === 'native') {
      native = d.raw < 0n ? -d.raw : 0n
      nativeIn = d.raw > 0n ? d.raw : 0n
    } else if (d.kind === 'erc20') {
      if (d.raw < 0n) outflow.set(key(d.token), -d.raw)
      else if (d.raw > 0n) inflow.set(key(d.token), d.raw)
    } else if (d.kind === 'erc721') {
      const t = key(d.token)
      if (d.raw > 0n) nft.owned.push({ kind: 'nftOwned', token: t, id: d.tokenId, amount: 1n })
      nft.out.set(t, (nft.out.get(t) ?? 0n) - d.raw)
    } else if (d.kind === 'spl') {
      // Solana has no on-chain post-conditions here (EVM guard only).
    } else if (d.raw < 0n)
      multi.push({ kind: 'multiMaxOutflow', token: key(d.token), id: d.tokenId, amount: -d.raw })
    else if (d.raw > 0n)
      multi.push({ kind: 'multiMinInflow', token: key(d.token), id: d.tokenId, amount: d.raw })
  }

  // What the tool itself says leaves (a transfer's amount, a swap's amount in) is never cut below: a simulation
  // whose balance reads caught the wallet's own other transaction landing would otherwise bound an honest write
  // too tightly, and revert it.
  const stated = statedOutflow(details)
  if (simulation && stated && (outflow.get(key(stated.token)) ?? 0n) < stated.amount) {
    inflow.delete(key(stated.token))
    outflow.set(key(stated.token), stated.amount)
  }
  if (simulation && source.call.value > native) native = source.call.value

  // Tokens the write names or budgets: watched even when the simulation showed them still.
  const named = [details.token, details.tokenIn, details.tokenOut].filter(isAddress)
  for (const token of [...named, ...source.limits.map((l) => l.token).filter(isAddress)])
    if (!outflow.has(key(token)) && !inflow.has(key(token))) outflow.set(key(token), 0n)
  if (!simulation && stated) outflow.set(key(stated.token), stated.amount) // no simulation: the write's own amounts

  // A swap's minimum out is its own (quote less slippage); other inflows get a tolerance.
  const swapOut = isAddress(details.tokenOut) ? key(details.tokenOut) : undefined
  const swapMin = rawOf(details.minimumOut)
  if (swapOut && swapMin !== undefined) inflow.set(swapOut, swapMin)

  const conditions: PostCondition[] = [{ kind: 'nativeMaxOutflow', amount: native }]
  // ETH arriving is required only where the simulation's value transfers (its traced logs) agree with its balance
  // reads: a read-only difference can be the gas accounting of the simulated block, not ETH the call brings back.
  const nativeTrusted = !simulation?.flags.includes('native-differs-from-logs')
  const nativeMin = nativeTrusted ? (nativeIn * (10_000n - inflowToleranceBps)) / 10_000n : 0n
  if (nativeMin > 0n) conditions.push({ kind: 'nativeMinInflow', amount: nativeMin })
  for (const [token, amount] of sorted(outflow)) conditions.push({ kind: 'tokenMaxOutflow', token, amount })
  for (const [token, amount] of sorted(inflow)) {
    const min =
      token === swapOut && swapMin !== undefined
        ? amount
        : (amount * (10_000n - inflowToleranceBps)) / 10_000n
    if (min > 0n) conditions.push({ kind: 'tokenMinInflow', token, amount: min })
  }

  // Allowances: what the write grants, at most. The approve tool's own amount wins over what the logs showed.
  const allowances = new Map<string, PostCondition>()
  for (const a of simulation?.approvals ?? [])
    if (a.kind === 'erc20' && a.amount !== null)
      allowances.set(`${key(a.token)}/${key(a.spender)}`, {
        kind: 'maxAllowance',
        token: key(a.token),
        spender: key(a.spender),
        amount: a.amount,
      })
  const approved = rawOf(details.amount)
  if (isAddress(details.token) && isAddress(details.spender) && approved !== undefined)
    allowances.set(`${key(details.token)}/${key(details.spender)}`, {
      kind: 'maxAllowance',
      token: key(details.token),
      spender: key(details.spender),
      amount: approved,
    })
  conditions.push(...[...allowances.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, c]) => c))

  for (const [token, net] of sorted(nft.out))
    conditions.push({ kind: 'tokenMaxOutflow', token, amount: net > 0n ? net : 0n })
  conditions.push(...nft.owned, ...multi)
  return conditions
}

/** The token and amount a transfer or swap names as leaving the wallet (an approval moves nothing). */
function statedOutflow(details: Record<string, unknown>): { token: Address; amount: bigint } | undefined {
  if (details.spender !== undefined) return undefined
  const amount = rawOf(details.amount) ?? rawOf(details.amountIn)
  const token = isAddress(details.tokenIn)
    ? details.tokenIn
    : isAddress(details.token)
      ? details.token
      : undefined
  return token && amount !== undefined ? { token, amount } : undefined
}

/** Map entries in address order. */
function sorted(map: Map<Address, bigint>): [Address, bigint][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
}

function isAddress(value: unknown): value is Address {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value)
}

/** The base units of an amount as tools show it (`{ raw, formatted }`). */
function rawOf(value: unknown): bigint | undefined {
  const raw = (value as { raw?: unknown } | null | undefined)?.raw
  return typeof raw === 'string' && /^\d+$/.test(raw) ? BigInt(raw) : undefined
}
