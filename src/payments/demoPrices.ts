import type { DevnetFixtures } from '../devnet/fixtures.js'

/** The devnet account the demo treats as a tool-pack author: it earns a share of every demo charge. */
export const demoAuthorIndex = 7

/**
 * Demo mode's prices (DESIGN §4, §9): two tools charged in devnet USDC through the devnet facilitator, one with a
 * revenue share for a tool-pack author (devnet account 7), so `airlock payments report` and `payout` have
 * something to show. `quote_swap` costs 0.01 USDC (80 % to the gateway wallet, 20 % to the author); `get_nft`
 * 0.005 USDC (all to the gateway wallet).
 *
 * @example createGateway({ config: { payments: demoPayments(fixtures) }, devnet: fixtures, writes })
 */
export function demoPayments(fixtures: DevnetFixtures) {
  const wallet = fixtures.accounts[0]!
  const author = fixtures.accounts[demoAuthorIndex]!
  return {
    facilitator: 'devnet' as const,
    prices: [
      {
        tools: ['quote_swap'],
        amount: '0.01',
        asset: 'USDC',
        network: fixtures.chain,
        payees: [
          { address: wallet, share: 80, label: 'gateway' },
          { address: author, share: 20, label: 'demo tool-pack author' },
        ],
        description: 'Market data pack',
      },
      { tools: ['get_nft'], amount: '0.005', asset: 'USDC', network: fixtures.chain },
    ],
  }
}
