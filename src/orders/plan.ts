import { pow10 } from '../policy/decimal.js'
import type { OrderToken } from './spec.js'

/** One token of a rebalance as the plan sees it: its balance (base units) and oracle price (USD per unit, WAD). */
export type Holding = { token: OrderToken; bps: number; balance: bigint; priceWad: bigint }

/** One swap a fire makes: exact input, and the least output the oracle price allows after slippage. */
export type PlannedSwap = {
  tokenIn: OrderToken
  tokenOut: OrderToken
  /** Base units of tokenIn. */
  amountIn: bigint
  /** Base units of tokenOut: amountIn at the oracle price, less the order's maximum slippage. */
  minAmountOut: bigint
  /** What amountIn is worth at the oracle price, micro-USD (what the order's budget is charged). */
  valueMicroUsd: bigint
}

/** The smallest trade a rebalance makes, micro-USD: dust is not worth a transaction. */
export const minTradeMicroUsd = 1_000_000n

/**
 * The value of `amount` base units at `priceWad` USD per whole unit, in micro-USD (rounded down).
 *
 * @example valueMicroUsd(10n ** 18n, 18, 3000n * 10n ** 18n) // 3000000000n
 */
export function valueMicroUsd(amount: bigint, decimals: number, priceWad: bigint): bigint {
  return (amount * priceWad) / pow10(decimals) / 10n ** 12n
}

/**
 * The least output of swapping `amountIn` of one token for another at oracle prices, less `slippageBps`.
 *
 * @example minOutAtOracle(10n ** 18n, weth, wbtc, 3000n * wad, 60000n * wad, 100) // 0.0495 WBTC in base units
 */
export function minOutAtOracle(
  amountIn: bigint,
  tokenIn: OrderToken,
  tokenOut: OrderToken,
  priceInWad: bigint,
  priceOutWad: bigint,
  slippageBps: number,
): bigint {
  // amountIn (in units) × priceIn / priceOut, in tokenOut's base units, then less the slippage.
  const fair = (amountIn * priceInWad * pow10(tokenOut.decimals)) / (priceOutWad * pow10(tokenIn.decimals))
  return (fair * BigInt(10_000 - slippageBps)) / 10_000n
}

/**
 * The swaps that bring holdings to their target weights by USD value at oracle prices (DESIGN §10), pure and
 * deterministic: overweight tokens are sold into underweight ones in the order the weights were given, each trade
 * the smaller of the seller's excess and the buyer's shortfall; trades under {@link minTradeMicroUsd} are left.
 *
 * @example planRebalance([{ token: weth, bps: 5000, … }, { token: wbtc, bps: 5000, … }], 100)
 */
export function planRebalance(holdings: readonly Holding[], slippageBps: number): PlannedSwap[] {
  const values = holdings.map((h) => valueMicroUsd(h.balance, h.token.decimals, h.priceWad))
  const total = values.reduce((a, b) => a + b, 0n)
  const diffs = holdings.map((h, i) => values[i]! - (total * BigInt(h.bps)) / 10_000n)
  const swaps: PlannedSwap[] = []
  for (let s = 0; s < holdings.length; s++) {
    for (let b = 0; b < holdings.length; b++) {
      if (diffs[s]! <= 0n || diffs[b]! >= 0n) continue
      const excess = diffs[s]!
      const shortfall = -diffs[b]!
      const value = smaller(excess, shortfall)
      if (value < minTradeMicroUsd) continue
      const seller = holdings[s]!
      const buyer = holdings[b]!
      // Units of the seller worth `value` micro-USD at its oracle price, rounded down.
      const amountIn = (value * 10n ** 12n * pow10(seller.token.decimals)) / seller.priceWad
      if (amountIn === 0n) continue
      swaps.push({
        tokenIn: seller.token,
        tokenOut: buyer.token,
        amountIn,
        minAmountOut: minOutAtOracle(
          amountIn,
          seller.token,
          buyer.token,
          seller.priceWad,
          buyer.priceWad,
          slippageBps,
        ),
        valueMicroUsd: valueMicroUsd(amountIn, seller.token.decimals, seller.priceWad),
      })
      diffs[s]! -= value
      diffs[b]! += value
    }
  }
  return swaps
}

/** The smaller of two bigints (Math.min takes numbers only). */
function smaller(a: bigint, b: bigint): bigint {
  if (a < b) return a
  return b
}
