import type { Address } from 'viem'
import { describe, expect, it } from 'vitest'
import type { LimitCharge } from '../policy/types.js'
import type { Simulation } from '../simulate/types.js'
import { postConditions } from './postConditions.js'

const usdc = '0x00000000000000000000000000000000000000aa' as Address
const weth = '0x00000000000000000000000000000000000000bb' as Address
const dai = '0x00000000000000000000000000000000000000cc' as Address
const router = '0x00000000000000000000000000000000000000dd' as Address
const nft = '0x00000000000000000000000000000000000000ee' as Address

function simulation(parts: Partial<Simulation>): Simulation {
  return {
    method: 'eth_simulateV1',
    blockNumber: 1n,
    reverted: false,
    gasUsed: 50_000n,
    deltas: [],
    approvals: [],
    flags: [],
    ...parts,
  }
}

const daiLimit: LimitCharge = {
  key: `r/l/31337/0xw/${dai}`,
  ruleId: 'r',
  limitId: 'l',
  metric: 'outflow',
  token: dai,
  windowSeconds: 86_400,
  max: 10n ** 20n,
  amount: 0n,
  decimals: 18,
}

describe('postConditions', () => {
  it('a token transfer: no ETH leaves, the token leaves by exactly the simulated amount', () => {
    const conditions = postConditions({
      call: { to: usdc, value: 0n },
      simulation: simulation({ deltas: [{ kind: 'erc20', token: usdc, raw: -5_000_000n }] }),
      limits: [],
      details: { token: usdc, to: router, amount: { raw: '5000000', formatted: '5' } },
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      { kind: 'tokenMaxOutflow', token: usdc, amount: 5_000_000n },
    ])
  })

  it('a swap: the input leaves by at most the amount in, the output arrives by at least the minimum out', () => {
    const conditions = postConditions({
      call: { to: router, value: 0n },
      simulation: simulation({
        deltas: [
          { kind: 'erc20', token: usdc, raw: -100_000_000n },
          { kind: 'erc20', token: weth, raw: 33_000_000_000_000_000n },
        ],
      }),
      limits: [daiLimit],
      details: {
        tokenIn: usdc,
        tokenOut: weth,
        minimumOut: { raw: '32835000000000000', formatted: '0.032835' },
      },
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      // A token with a budget is watched though the swap does not touch it.
      { kind: 'tokenMaxOutflow', token: usdc, amount: 100_000_000n },
      { kind: 'tokenMaxOutflow', token: dai, amount: 0n },
      { kind: 'tokenMinInflow', token: weth, amount: 32_835_000_000_000_000n },
    ])
  })

  it('other inflows get a 1% tolerance; ETH leaving is bounded by the simulated outflow', () => {
    const conditions = postConditions({
      call: { to: weth, value: 10n ** 18n },
      simulation: simulation({
        deltas: [
          { kind: 'native', raw: -(10n ** 18n) },
          { kind: 'erc20', token: weth, raw: 10n ** 18n },
        ],
      }),
      limits: [],
      details: {},
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 10n ** 18n },
      { kind: 'tokenMinInflow', token: weth, amount: (10n ** 18n * 99n) / 100n },
    ])
  })

  it('ETH arriving (an unwrap, a sale for ETH) must arrive, less the tolerance', () => {
    const conditions = postConditions({
      call: { to: weth, value: 0n },
      simulation: simulation({
        deltas: [
          { kind: 'native', raw: 10n ** 18n },
          { kind: 'erc20', token: weth, raw: -(10n ** 18n) },
        ],
      }),
      limits: [],
      details: {},
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      { kind: 'nativeMinInflow', amount: (10n ** 18n * 99n) / 100n },
      { kind: 'tokenMaxOutflow', token: weth, amount: 10n ** 18n },
    ])
  })

  it('ETH the balance reads show arriving but the traced transfers do not (gas accounting) is not required', () => {
    const conditions = postConditions({
      call: { to: usdc, value: 0n },
      simulation: simulation({
        deltas: [
          { kind: 'native', raw: 45_209_340_316_465n },
          { kind: 'erc20', token: usdc, raw: -5n },
        ],
        flags: ['native-differs-from-logs'],
      }),
      limits: [],
      details: {},
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      { kind: 'tokenMaxOutflow', token: usdc, amount: 5n },
    ])
  })

  it("a bound never falls below what the tool itself sends (a simulation that caught the wallet's other write)", () => {
    const conditions = postConditions({
      call: { to: usdc, value: 0n },
      simulation: simulation({ deltas: [], flags: ['native-differs-from-logs'] }),
      limits: [],
      details: { token: usdc, to: router, amount: { raw: '500000', formatted: '0.5' } },
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      { kind: 'tokenMaxOutflow', token: usdc, amount: 500_000n },
    ])
    const native = postConditions({
      call: { to: router, value: 7n },
      simulation: simulation({ deltas: [] }),
      limits: [],
      details: {},
    })
    expect(native).toEqual([{ kind: 'nativeMaxOutflow', amount: 7n }])
  })

  it('an approval: the allowance stays at most what the tool asked for, nothing leaves', () => {
    const conditions = postConditions({
      call: { to: usdc, value: 0n },
      simulation: simulation({
        approvals: [{ kind: 'erc20', token: usdc, spender: router, amount: 7n, unlimited: false }],
      }),
      limits: [],
      details: { token: usdc, spender: router, amount: { raw: '7', formatted: '0.000007' } },
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      { kind: 'tokenMaxOutflow', token: usdc, amount: 0n },
      { kind: 'maxAllowance', token: usdc, spender: router, amount: 7n },
    ])
  })

  it('NFTs: a collection loses at most what the simulation showed leaving, arrivals must be owned', () => {
    const conditions = postConditions({
      call: { to: nft, value: 0n },
      simulation: simulation({
        deltas: [
          { kind: 'erc721', token: nft, tokenId: 1n, raw: -1n },
          { kind: 'erc721', token: nft, tokenId: 9n, raw: 1n },
          { kind: 'erc1155', token: router, tokenId: 3n, raw: -4n },
        ],
      }),
      limits: [],
      details: {},
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      { kind: 'tokenMaxOutflow', token: nft, amount: 0n },
      { kind: 'nftOwned', token: nft, id: 9n, amount: 1n },
      { kind: 'multiMaxOutflow', token: router, id: 3n, amount: 4n },
    ])
  })

  it("without a simulation (a human approved the bare call), the write's own amounts bound it", () => {
    const conditions = postConditions({
      call: { to: usdc, value: 0n },
      simulation: undefined,
      limits: [],
      details: { token: usdc, to: router, amount: { raw: '5000000', formatted: '5' } },
    })
    expect(conditions).toEqual([
      { kind: 'nativeMaxOutflow', amount: 0n },
      { kind: 'tokenMaxOutflow', token: usdc, amount: 5_000_000n },
    ])
    expect(
      postConditions({ call: { to: router, value: 3n }, simulation: undefined, limits: [], details: {} }),
    ).toEqual([{ kind: 'nativeMaxOutflow', amount: 3n }])
  })

  it('is the same for the same inputs in any order (a held write is bound to these)', () => {
    const deltas = [
      { kind: 'erc20' as const, token: weth, raw: -2n },
      { kind: 'erc20' as const, token: usdc, raw: -1n },
    ]
    const a = postConditions({
      call: { to: router, value: 0n },
      simulation: simulation({ deltas }),
      limits: [],
      details: {},
    })
    const b = postConditions({
      call: { to: router, value: 0n },
      simulation: simulation({ deltas: [...deltas].reverse() }),
      limits: [],
      details: {},
    })
    expect(a).toEqual(b)
  })
})
