import type { SolanaDevnetFixtures } from '../../devnet/solana/fixtures.js'
import type { SolanaChainContext } from './chain.js'

/** A mint the gateway knows by its address: its symbol is the gateway's own, not the token's (untrusted) text. */
export type KnownMint = {
  mint: string
  symbol: string
  decimals: number
  program: 'spl-token' | 'token-2022'
  /** USD per whole token in micro-dollars, for stablecoins the gateway prices at $1. */
  priceMicroUsd?: bigint | undefined
}

const usd1 = 1_000_000n

/** Well-known mints on the public clusters (addresses from the issuers' own listings). */
const publicMints: Readonly<Record<string, readonly KnownMint[]>> = {
  solana: [
    {
      mint: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
      symbol: 'USDC',
      decimals: 6,
      program: 'spl-token',
      priceMicroUsd: usd1,
    },
    {
      mint: 'Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB',
      symbol: 'USDT',
      decimals: 6,
      program: 'spl-token',
      priceMicroUsd: usd1,
    },
  ],
  'solana-devnet': [
    {
      mint: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU',
      symbol: 'USDC',
      decimals: 6,
      program: 'spl-token',
      priceMicroUsd: usd1,
    },
  ],
}

/**
 * The SOL price the embedded devnet uses (micro-dollars per SOL): a fixed demo figure, so that USD limits work on
 * `solana-local`. Real clusters have no SOL price source here: SOL outflows there are unpriced, and rules that
 * bound USD fail closed (a human, or a rule without a USD bound, decides).
 */
export const devnetSolPriceMicroUsd = 150_000_000n

/**
 * Mints the gateway knows on a cluster: the public clusters' stablecoins, and on `solana-local` the devnet's
 * USDC (priced at $1), FEE and PDEL (unpriced: their risks are what the demo shows).
 */
export function knownMints(chain: SolanaChainContext, devnet: SolanaDevnetFixtures | undefined): KnownMint[] {
  if (chain.name === 'solana-local' && devnet) {
    const t = devnet.tokens
    return [
      { mint: t.USDC.mint, symbol: 'USDC', decimals: 6, program: 'spl-token', priceMicroUsd: usd1 },
      { mint: t.FEE.mint, symbol: 'FEE', decimals: 6, program: 'token-2022' },
      { mint: t.PDEL.mint, symbol: 'PDEL', decimals: 6, program: 'token-2022' },
    ]
  }
  return [...(publicMints[chain.name] ?? [])]
}

/** USD prices for the guard: SOL (devnet only) as `native`, known stablecoins by mint. */
export function solanaPrices(
  chain: SolanaChainContext,
  devnet: SolanaDevnetFixtures | undefined,
): Map<string, bigint> {
  const prices = new Map<string, bigint>()
  if (chain.name === 'solana-local') prices.set('native', devnetSolPriceMicroUsd)
  for (const m of knownMints(chain, devnet))
    if (m.priceMicroUsd !== undefined) prices.set(m.mint, m.priceMicroUsd)
  return prices
}
