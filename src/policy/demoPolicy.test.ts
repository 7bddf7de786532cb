import { type Address, getAddress } from 'viem'
import { describe, expect, test } from 'vitest'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { SolanaDevnetFixtures } from '../devnet/solana/fixtures.js'
import type { Simulation } from '../simulate/types.js'
import { compilePolicy } from './compilePolicy.js'
import { demoPolicy, demoRuleDescriptions } from './demoPolicy.js'
import { evaluatePolicy } from './evaluate.js'
import { parsePolicy } from './policySchema.js'
import type { PolicyFacts } from './types.js'

const a = (n: number) => getAddress(`0x${n.toString(16).padStart(40, '0')}`)
const fixtures = {
  chain: 'devnet',
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  accounts: [a(0xa0), a(0xa1), a(0xa2)],
  tokens: {
    USDC: { address: a(1), decimals: 6 },
    WETH: { address: a(2), decimals: 18 },
    DAI: { address: a(3), decimals: 18 },
    WBTC: { address: a(17), decimals: 8 },
  },
  nft: { address: a(4), tokenIds: ['1', '2', '3'], owner: a(0xa1) },
  erc1155: { address: a(5), id: '1' },
  ens: { 'alice.eth': a(0xa1), 'bob.eth': a(0xa2) },
  multicall3: getAddress('0xcA11bde05977b3631167028862bE2a173976CA11'),
  uniswapV3: {
    factory: a(6),
    router: a(7),
    quoter: a(8),
    positionManager: a(9),
    pools: { 'USDC/WETH': a(10), 'USDC/WBTC': a(18), 'WETH/WBTC': a(19) },
  },
  feeds: { 'ETH/USD': { address: a(11), decimals: 8 }, 'BTC/USD': { address: a(20), decimals: 8 } },
  ensUniversalResolver: a(12),
  ensRegistry: a(13),
  adversarial: { revertingDecimals: a(14), absurdDecimals: a(15), homoglyphToken: a(16) },
  deployer: a(0xa9),
} satisfies DevnetFixtures
const { USDC } = fixtures.tokens
const router = fixtures.uniswapV3.router
const wallet = fixtures.accounts[0]!
const friend = fixtures.accounts[1]!
const maxUint256 = 2n ** 256n - 1n

const sim = (over: Partial<Simulation> = {}): Simulation => ({
  method: 'eth_simulateV1',
  blockNumber: 1n,
  reverted: false,
  gasUsed: 50_000n,
  deltas: [],
  approvals: [],
  flags: [],
  ...over,
})

function facts(over: Partial<PolicyFacts>): PolicyFacts {
  return {
    operation: 'transfer',
    chain: 'devnet',
    chainId: 31337,
    wallet,
    agent: 'local',
    to: friend,
    token: USDC.address,
    contract: USDC.address,
    functions: ['transfer(address,uint256)'],
    amount: { raw: 10_000_000n, decimals: 6 },
    value: { raw: 0n, decimals: 18 },
    addressBookListed: true,
    simulation: sim(),
    outflows: [{ token: USDC.address, raw: 10_000_000n, decimals: 6 }],
    outflowMicroUsd: 10_000_000n,
    now: new Date('2026-03-03T12:00:00Z'),
    ...over,
  }
}

const policy = compilePolicy(parsePolicy(demoPolicy(fixtures)))
/** The Solana devnet's fixtures as far as the demo policy reads them (its chain and mints). */
const solanaFixtures = {
  chain: 'solana-local',
  tokens: {
    USDC: { mint: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', decimals: 6, program: 'spl-token' },
  },
} as unknown as SolanaDevnetFixtures
const decide = (over: Partial<PolicyFacts>) => evaluatePolicy(policy, facts(over))
const usdcTransfer = (raw: bigint) =>
  decide({ amount: { raw, decimals: 6 }, outflows: [{ token: USDC.address, raw, decimals: 6 }] })

describe('demoPolicy', () => {
  test('validates, in the documented order, every rule described', () => {
    // Without a Solana devnet the EVM rules; with one, its four rules after them.
    const ids = Object.keys(demoRuleDescriptions)
    const solanaIds = ids.filter((id) => id.includes('solana') || id === 'sol-to-known')
    expect(policy.rules.map((r) => r.id)).toEqual(ids.filter((id) => !solanaIds.includes(id)))
    const withSolana = compilePolicy(parsePolicy(demoPolicy(fixtures, solanaFixtures)))
    expect(withSolana.rules.map((r) => r.id)).toEqual(ids)
    for (const r of withSolana.rules)
      expect(r.rule.description).toBe(demoRuleDescriptions[r.id as keyof typeof demoRuleDescriptions])
  })

  test('USDC to a known address: allowed up to 1000, charging the daily budget', () => {
    const d = usdcTransfer(1_000_000_000n)
    expect(d).toMatchObject({ effect: 'allow', ruleIds: ['usdc-to-known'] })
    expect(d.limits).toEqual([
      expect.objectContaining({
        key: `usdc-to-known/usdc-daily/31337/${wallet.toLowerCase()}/${USDC.address.toLowerCase()}`,
        max: 2_500_000_000n,
        amount: 1_000_000_000n,
        windowSeconds: 86_400,
      }),
    ])
    expect(usdcTransfer(1_000_000_001n)).toMatchObject({ effect: 'deny', ruleIds: [] })
  })

  test('a transfer to a new recipient is held for approval', () => {
    const d = decide({ addressBookListed: false })
    expect(d).toMatchObject({ effect: 'require_approval', ruleIds: ['hold-new-recipients'] })
    expect(d.reasons[0]).toBe(
      `held for approval by rule hold-new-recipients: the recipient ${friend} is not in the operator's address book`,
    )
  })

  test('ETH to a known address: 1 ETH allowed, with the native daily limit', () => {
    const one = { raw: 10n ** 18n, decimals: 18 }
    const d = decide({
      token: undefined,
      contract: friend,
      functions: [],
      amount: one,
      value: one,
      outflows: [one],
    })
    expect(d.effect).toBe('allow')
    expect(d.limits[0]).toMatchObject({
      key: `eth-to-known/eth-daily/31337/${wallet.toLowerCase()}/native`,
      max: 3n * 10n ** 18n,
    })
  })

  describe('ADVERSARIAL 19: approve(spender, MAX_UINT256)', () => {
    const approve = (simulation: Simulation | undefined) =>
      decide({
        operation: 'approve',
        to: router,
        functions: ['approve(address,uint256)'],
        amount: { raw: maxUint256, decimals: 6 },
        outflows: [],
        outflowMicroUsd: 0n,
        simulation,
      })

    test('denied by deny-unlimited-approvals, even to the allowed router', () => {
      const d = approve(
        sim({
          approvals: [
            { kind: 'erc20', token: USDC.address, spender: router, amount: maxUint256, unlimited: true },
          ],
        }),
      )
      expect(d.effect).toBe('deny')
      expect(d.ruleIds).toEqual(['deny-unlimited-approvals'])
      expect(d.reasons[0]).toBe(
        `denied by rule deny-unlimited-approvals: the call grants an unlimited approval to ${router}`,
      )
    })

    test('denied without a simulation too (over the approve-uniswap cap)', () => {
      expect(approve(undefined).effect).toBe('deny')
    })

    test('a bounded approval of the router is allowed; of anyone else denied', () => {
      const bounded = {
        amount: { raw: 500_000_000n, decimals: 6 },
        operation: 'approve' as const,
        outflows: [],
      }
      expect(decide({ ...bounded, to: router }).effect).toBe('allow')
      expect(decide({ ...bounded, to: friend as Address }).effect).toBe('deny')
    })
  })

  test('ADVERSARIAL 21: setApprovalForAll(operator, true) is denied', () => {
    const call = {
      operation: 'write_contract' as const,
      to: friend,
      token: undefined,
      contract: fixtures.nft.address,
      functions: ['setApprovalForAll(address,bool)'],
      amount: undefined,
      outflows: [],
      outflowMicroUsd: 0n,
    }
    const d = decide({
      ...call,
      simulation: sim({
        approvals: [
          { kind: 'erc721-all', token: fixtures.nft.address, spender: friend, amount: null, unlimited: true },
        ],
      }),
    })
    expect(d).toMatchObject({ effect: 'deny', ruleIds: ['deny-unlimited-approvals'] })
    expect(decide({ ...call, simulation: undefined }).effect).toBe('deny')
  })

  test('ADVERSARIAL 27: a reverting call is denied with its reason', () => {
    const d = decide({
      simulation: sim({ reverted: true, revertReason: 'ERC20: transfer amount exceeds balance' }),
    })
    expect(d.ruleIds).toEqual(['deny-reverting'])
    expect(d.reasons[0]).toBe(
      'denied by rule deny-reverting: the simulation reverts with "ERC20: transfer amount exceeds balance" [untrusted revert reason]',
    )
  })

  test('swaps: up to $500 allowed with the USD daily limit; more, or unpriced, denied', () => {
    const swap = (usd: bigint | undefined) =>
      decide({
        operation: 'swap',
        to: router,
        contract: router,
        functions: ['exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))'],
        outflowMicroUsd: usd,
      })
    expect(swap(500_000_000n)).toMatchObject({
      effect: 'allow',
      limits: [
        expect.objectContaining({
          key: `swap-small/swap-daily-usd/31337/${wallet.toLowerCase()}`,
          max: 2_000_000_000n,
        }),
      ],
    })
    expect(swap(500_000_001n).effect).toBe('deny')
    expect(swap(undefined).effect).toBe('deny')
  })

  test('contract calls: listed functions on fixture contracts, no new approvals; revoking is allowed', () => {
    const call = (functions: string[], over: Partial<PolicyFacts> = {}) =>
      decide({ operation: 'write_contract', contract: USDC.address, functions, ...over })
    expect(call(['deposit()'], { contract: fixtures.tokens.WETH.address }).ruleIds).toEqual([
      'devnet-contracts',
    ])
    // A raw token transfer would step around the recipient hold and the daily limit of `transfer`.
    expect(call(['transfer(address,uint256)']).effect).toBe('deny')
    expect(call(['approve(address,uint256)'], { amount: { raw: 0n, decimals: 6 } }).effect).toBe('allow')
    expect(
      call(['approve(address,uint256)'], {
        simulation: sim({
          approvals: [{ kind: 'erc20', token: USDC.address, spender: friend, amount: 5n, unlimited: false }],
        }),
      }).effect,
    ).toBe('deny')
    expect(call(['opaque']).effect).toBe('deny')
    expect(call(['multicall(bytes[])', 'transfer(address,uint256)']).effect).toBe('deny')
    expect(call(['deposit()'], { contract: fixtures.adversarial.homoglyphToken }).effect).toBe('deny')
  })

  test('typed data: allowed on the devnet when it decodes as moving nothing (no permit, no transfer authorization)', () => {
    const typed = {
      operation: 'sign_typed_data' as const,
      contract: undefined,
      functions: [],
      amount: undefined,
      outflows: [],
      outflowMicroUsd: 0n,
    }
    expect(decide({ ...typed }).ruleIds).toEqual(['typed-data-devnet'])
    const permit = sim({
      approvals: [{ kind: 'erc20', token: USDC.address, spender: friend, amount: 5n, unlimited: false }],
    })
    expect(decide({ ...typed, simulation: permit }).effect).toBe('deny')
    expect(decide({ ...typed, chain: 'base', chainId: 8453 }).effect).toBe('deny')
    // An EIP-3009 transfer authorization moves funds: not "moving nothing".
    const moves = sim({ deltas: [{ kind: 'erc20', token: USDC.address, raw: -5_000_000n }] })
    expect(
      decide({
        ...typed,
        simulation: moves,
        outflows: [{ token: USDC.address, raw: 5_000_000n, decimals: 6 }],
        outflowMicroUsd: 5_000_000n,
      }).effect,
    ).toBe('deny')
    // A message the gateway cannot decode has no simulation: never allowed by this rule.
    expect(decide({ ...typed, simulation: undefined }).effect).toBe('deny')
  })

  test('nothing is allowed on another chain', () => {
    expect(decide({ chain: 'base', chainId: 8453 }).effect).toBe('deny')
  })
})
