import { type Address, encodeFunctionData, erc20Abi } from 'viem'
import { describe, expect, it } from 'vitest'
import { buildFacts, type FactsInput } from './facts.js'

const wallet = '0x1111111111111111111111111111111111111111' as Address
const bob = '0x2222222222222222222222222222222222222222' as Address
const usdc = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' as Address
const usdcId = 'eip155:1/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'

const base = (over: Partial<FactsInput>): FactsInput => ({
  operation: 'transfer',
  chain: {
    name: 'ethereum',
    id: 1,
    nativeDecimals: 18,
    caip2: 'eip155:1',
    nativeAssetId: 'eip155:1/slip44:60',
  },
  wallet,
  agent: 'operator:local',
  details: {},
  addressBookListed: () => false,
  decimals: () => 6,
  priceMicroUsd: () => undefined,
  now: new Date(0),
  ...over,
})

describe('policy facts carry CAIP-19 asset ids', () => {
  it('a native transfer: the native coin’s id on the fact and on its outflow', () => {
    const facts = buildFacts(
      base({ call: { to: bob, data: '0x', value: 5n }, details: { to: bob, amount: { raw: '5' } } }),
    )
    expect(facts.token).toBeUndefined()
    expect(facts.assetId).toBe('eip155:1/slip44:60')
    expect(facts.outflows).toEqual([{ raw: 5n, decimals: 18, assetId: 'eip155:1/slip44:60' }])
  })

  it('a token transfer: the token’s id (lowercase address) on the fact and on the simulated outflow', () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [bob, 7n] })
    const facts = buildFacts(
      base({
        call: { to: usdc, data, value: 0n },
        details: { to: bob, token: usdc, amount: { raw: '7' } },
        simulation: {
          method: 'eth_simulateV1',
          blockNumber: 1n,
          reverted: false,
          gasUsed: 1n,
          deltas: [{ kind: 'erc20', token: usdc, raw: -7n }],
          approvals: [],
          flags: [],
        },
      }),
    )
    expect(facts.token).toBe(usdc)
    expect(facts.assetId).toBe(usdcId)
    expect(facts.outflows).toEqual([{ token: usdc, raw: 7n, decimals: 6, assetId: usdcId }])
  })

  it('without the chain’s native id: the registry’s for a built-in chain, none (never a guess) otherwise', () => {
    const polygon = buildFacts(
      base({
        chain: { name: 'polygon', id: 137, nativeDecimals: 18 },
        call: { to: bob, data: '0x', value: 1n },
      }),
    )
    expect(polygon.assetId).toBe('eip155:137/slip44:966')
    const custom = buildFacts(
      base({
        chain: { name: 'custom', id: 424242, nativeDecimals: 18 },
        call: { to: bob, data: '0x', value: 1n },
      }),
    )
    expect(custom.assetId).toBeUndefined()
    expect(custom.outflows).toEqual([{ raw: 1n, decimals: 18 }])
  })
})
