import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { SolanaDevnetFixtures } from '../devnet/solana/fixtures.js'
import type { Policy } from './policySchema.js'

/** The ids of the demo policy's rules, in evaluation order of the README. */
export type DemoRuleId =
  | 'deny-unlimited-approvals'
  | 'deny-reverting'
  | 'hold-new-recipients'
  | 'usdc-to-known'
  | 'eth-to-known'
  | 'approve-uniswap'
  | 'swap-small'
  | 'devnet-contracts'
  | 'typed-data-devnet'
  | 'standing-orders-small'
  | 'deny-risky-solana-mints'
  | 'hold-solana-fee-mints'
  | 'usdc-to-known-solana'
  | 'sol-to-known'

/** What each demo rule does, in one sentence for humans (the README's table and the rules' `description`). */
export const demoRuleDescriptions: Readonly<Record<DemoRuleId, string>> = {
  'deny-unlimited-approvals':
    'Never grant an unlimited approval (approve MAX_UINT256, setApprovalForAll, an unlimited permit), on any operation.',
  'deny-reverting': 'Never send something the simulation says reverts.',
  'hold-new-recipients': 'A transfer to an address that is not in the address book waits for a human.',
  'usdc-to-known': 'USDC transfers to address-book entries, up to 1,000 USDC each and 2,500 USDC a day.',
  'eth-to-known': 'ETH transfers to address-book entries, up to 1 ETH each and 3 ETH a day.',
  'approve-uniswap': 'Approve the Uniswap router to spend up to 1,000 of a devnet token.',
  'swap-small': 'Swaps through the Uniswap router worth up to $500 each and $2,000 a day.',
  'devnet-contracts':
    'Direct calls to the devnet tokens: wrap and unwrap ETH (WETH deposit/withdraw) and revoke approvals, worth up to $100 each, 50 a day; never a new approval. Token transfers go through `transfer`.',
  'typed-data-devnet':
    'Sign EIP-712 messages on the devnet that the gateway decodes as moving nothing: never a permit (an approval) or a transfer authorization (EIP-3009), never a message it cannot decode.',
  'standing-orders-small':
    'Standing orders on the devnet with a budget of up to $2,000 each, $5,000 of budgets in 30 days (a cancelled or paused order gives its budget back); each fire is then checked like any write.',
  'deny-risky-solana-mints':
    'On the Solana devnet, never move a Token-2022 token whose mint has a permanent delegate, a transfer hook, a pause switch, frozen new accounts or no transfers at all.',
  'hold-solana-fee-mints':
    'On the Solana devnet, a Token-2022 token that takes a transfer fee waits for a human (the recipient gets less than is sent).',
  'usdc-to-known-solana':
    'USDC transfers on the Solana devnet to address-book entries, up to 1,000 USDC each and 2,500 USDC a day.',
  'sol-to-known':
    'SOL transfers on the Solana devnet to address-book entries, up to 5 SOL each and 10 SOL a day.',
}

/**
 * The demo policy for the embedded devnet: the guardrails a first-time user sees in action. Deny rules first
 * (unlimited approvals, reverting calls), then a hold for new recipients, then small allowances with daily limits.
 * Every allow rule is pinned to the devnet chain; anything else is denied by default.
 *
 * @example createPolicySource({ value: config.policy, fallback: () => demoPolicy(devnet.fixtures), log })
 */
export function demoPolicy(fixtures: DevnetFixtures, solana?: SolanaDevnetFixtures | undefined): Policy {
  const { USDC, WETH, DAI, WBTC } = fixtures.tokens
  const router = fixtures.uniswapV3.router
  const chain = [fixtures.chain]
  const description = (id: DemoRuleId) => demoRuleDescriptions[id]
  return {
    version: 1,
    description: 'Airlock demo policy for the embedded devnet.',
    rules: [
      {
        id: 'deny-unlimited-approvals',
        effect: 'deny',
        description: description('deny-unlimited-approvals'),
        match: { simulation: { newApprovals: 'unlimited' } },
      },
      {
        id: 'deny-reverting',
        effect: 'deny',
        description: description('deny-reverting'),
        match: { simulation: { reverts: true } },
      },
      {
        id: 'hold-new-recipients',
        effect: 'require_approval',
        description: description('hold-new-recipients'),
        match: { operation: ['transfer'], addressBook: 'unlisted' },
      },
      {
        id: 'usdc-to-known',
        effect: 'allow',
        description: description('usdc-to-known'),
        match: {
          operation: ['transfer'],
          chain,
          token: [USDC.address],
          addressBook: 'listed',
          amount: { lte: '1000' },
        },
        limits: [{ id: 'usdc-daily', metric: 'outflow', token: USDC.address, window: '24h', max: '2500' }],
      },
      {
        id: 'eth-to-known',
        effect: 'allow',
        description: description('eth-to-known'),
        match: {
          operation: ['transfer'],
          chain,
          token: ['native'],
          addressBook: 'listed',
          amount: { lte: '1' },
        },
        limits: [{ id: 'eth-daily', metric: 'outflow', token: 'native', window: '24h', max: '3' }],
      },
      {
        id: 'approve-uniswap',
        effect: 'allow',
        description: description('approve-uniswap'),
        match: {
          operation: ['approve'],
          chain,
          to: [router],
          token: [USDC.address, WETH.address, DAI.address, WBTC.address],
          amount: { lte: '1000' },
        },
      },
      {
        id: 'swap-small',
        effect: 'allow',
        description: description('swap-small'),
        match: { operation: ['swap'], chain, to: [router], simulation: { outflowUsd: { lte: '500' } } },
        limits: [{ id: 'swap-daily-usd', metric: 'outflowUsd', window: '24h', max: '2000' }],
      },
      {
        id: 'devnet-contracts',
        effect: 'allow',
        description: description('devnet-contracts'),
        match: {
          operation: ['write_contract'],
          chain,
          contract: [USDC.address, WETH.address, DAI.address],
          // Wrapping and unwrapping ETH, and revoking approvals (a new or raised approval fails
          // `newApprovals: none`). Token transfers go through `transfer`, where recipients and daily limits apply:
          // a raw transfer() here would step around both.
          function: ['deposit()', 'withdraw(uint256)', 'approve(address,uint256)'],
          simulation: { newApprovals: 'none', outflowUsd: { lte: '100' } },
        },
        limits: [{ id: 'contracts-daily', metric: 'count', window: '24h', max: '50' }],
      },
      {
        id: 'typed-data-devnet',
        effect: 'allow',
        description: description('typed-data-devnet'),
        // Neither an approval (a permit) nor an outflow (an EIP-3009 transfer authorization): a message the gateway
        // decodes as moving nothing. A message it cannot decode has no simulation, so this never matches it.
        match: {
          operation: ['sign_typed_data'],
          chain,
          simulation: { newApprovals: 'none', outflowUsd: { lte: '0' } },
        },
      },
      {
        id: 'standing-orders-small',
        effect: 'allow',
        description: description('standing-orders-small'),
        match: { operation: ['standing_order'], chain, amount: { lte: '2000' } },
        limits: [{ id: 'orders-budget-30d', metric: 'outflowUsd', window: '30d', max: '5000' }],
      },
      ...(solana ? solanaRules(solana) : []),
    ],
  }
}

/** The demo rules for the embedded Solana devnet (`solana-local`): risky mints refused or held, small transfers. */
function solanaRules(solana: SolanaDevnetFixtures): Policy['rules'] {
  const chain = [solana.chain]
  const description = (id: DemoRuleId) => demoRuleDescriptions[id]
  return [
    {
      id: 'deny-risky-solana-mints',
      effect: 'deny',
      description: description('deny-risky-solana-mints'),
      match: {
        chain,
        tokenRisks: [
          'permanent-delegate',
          'transfer-hook',
          'pausable',
          'default-frozen',
          'non-transferable',
          'unknown-extension',
        ],
      },
    },
    {
      id: 'hold-solana-fee-mints',
      effect: 'require_approval',
      description: description('hold-solana-fee-mints'),
      match: { chain, tokenRisks: ['transfer-fee'] },
    },
    {
      id: 'usdc-to-known-solana',
      effect: 'allow',
      description: description('usdc-to-known-solana'),
      match: {
        operation: ['transfer'],
        chain,
        token: [solana.tokens.USDC.mint as `0x${string}`],
        addressBook: 'listed',
        amount: { lte: '1000' },
      },
      limits: [
        {
          id: 'usdc-daily-solana',
          metric: 'outflow',
          token: solana.tokens.USDC.mint as `0x${string}`,
          window: '24h',
          max: '2500',
        },
      ],
    },
    {
      id: 'sol-to-known',
      effect: 'allow',
      description: description('sol-to-known'),
      match: {
        operation: ['transfer'],
        chain,
        token: ['native'],
        addressBook: 'listed',
        amount: { lte: '5' },
      },
      limits: [{ id: 'sol-daily', metric: 'outflow', token: 'native', window: '24h', max: '10' }],
    },
  ]
}
