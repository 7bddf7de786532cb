import { describe, expect, it } from 'vitest'
import { minOutAtOracle, planRebalance, valueMicroUsd } from './plan.js'
import { wad } from './spec.js'

const weth = { address: '0x00000000000000000000000000000000000000e1', symbol: 'WETH', decimals: 18 } as const
const wbtc = { address: '0x00000000000000000000000000000000000000b1', symbol: 'WBTC', decimals: 8 } as const
const usdc = { address: '0x00000000000000000000000000000000000000c1', symbol: 'USDC', decimals: 6 } as const

describe('planRebalance', () => {
  it('sells the overweight token into the underweight one at oracle prices', () => {
    // 2 WETH at $3,018 = $6,036 and 0.1 WBTC at $60,000 = $6,000: $18 over, so $18 of WETH is sold.
    const swaps = planRebalance(
      [
        { token: weth, bps: 5000, balance: 2n * 10n ** 18n, priceWad: 3018n * wad },
        { token: wbtc, bps: 5000, balance: 10_000_000n, priceWad: 60_000n * wad },
      ],
      100,
    )
    expect(swaps).toHaveLength(1)
    const [s] = swaps
    expect(s!.tokenIn.symbol).toBe('WETH')
    expect(s!.valueMicroUsd).toBe(17_999_999n) // $18 of WETH, rounded down to base units
    expect(valueMicroUsd(s!.amountIn, 18, 3018n * wad)).toBe(s!.valueMicroUsd)
    // minimum out: $18 of WBTC at $60,000 (0.0003 WBTC = 30,000 sats) less 1 %.
    expect(s!.minAmountOut).toBe(29_699n)
  })

  it('leaves dust and balanced holdings alone, and handles three tokens', () => {
    expect(
      planRebalance(
        [
          { token: weth, bps: 5000, balance: 10n ** 18n, priceWad: 3000n * wad },
          { token: usdc, bps: 5000, balance: 3_000_500_000n, priceWad: wad },
        ],
        50,
      ),
    ).toEqual([])
    const three = planRebalance(
      [
        { token: weth, bps: 3400, balance: 0n, priceWad: 3000n * wad },
        { token: wbtc, bps: 3300, balance: 0n, priceWad: 60_000n * wad },
        { token: usdc, bps: 3300, balance: 9_000_000_000n, priceWad: wad },
      ],
      50,
    )
    expect(three.map((s) => `${s.tokenIn.symbol}->${s.tokenOut.symbol}`)).toEqual([
      'USDC->WETH',
      'USDC->WBTC',
    ])
    expect(three.reduce((sum, s) => sum + s.valueMicroUsd, 0n)).toBe(6_030_000_000n)
  })

  it('minOutAtOracle converts across decimals and takes the slippage off', () => {
    expect(minOutAtOracle(10n ** 18n, weth, wbtc, 3000n * wad, 60_000n * wad, 0)).toBe(5_000_000n)
    expect(minOutAtOracle(10n ** 18n, weth, wbtc, 3000n * wad, 60_000n * wad, 100)).toBe(4_950_000n)
  })
})
