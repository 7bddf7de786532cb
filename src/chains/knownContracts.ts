import type { Address } from 'viem'

/** A token whose facts the gateway knows without asking the chain (used by get_portfolio and as a decimals fallback). */
export type KnownToken = { symbol: string; name: string; address: Address; decimals: number }

/** Well-known contracts of one chain: tokens, the Uniswap v3 QuoterV2 and Chainlink-style feeds. */
export type KnownContracts = {
  tokens: readonly KnownToken[]
  uniswapV3?: { quoter: Address; factory?: Address | undefined; router?: Address | undefined } | undefined
  feeds?: Readonly<Record<string, { address: Address; decimals: number }>> | undefined
}

// Uniswap v3 SwapRouter (the original, with `deadline` in its params), same address on these chains.
const swapRouter: Address = '0xE592427A0AEce92De3Edee1F18E0157C05861564'
const weth = (address: Address): KnownToken => ({
  symbol: 'WETH',
  name: 'Wrapped Ether',
  address,
  decimals: 18,
})
const usdc = (address: Address): KnownToken => ({ symbol: 'USDC', name: 'USD Coin', address, decimals: 6 })

/**
 * Published addresses of canonical tokens and protocol contracts, by chain id. Facts from the issuers' docs;
 * checksums are verified by a test. Policy never trusts symbols: these only label balances and fill in decimals.
 */
export const knownContracts: Readonly<Record<number, KnownContracts>> = {
  1: {
    tokens: [
      usdc('0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48'),
      {
        symbol: 'USDT',
        name: 'Tether USD',
        address: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
        decimals: 6,
      },
      weth('0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2'),
      {
        symbol: 'DAI',
        name: 'Dai Stablecoin',
        address: '0x6B175474E89094C44Da98b954EedeAC495271d0F',
        decimals: 18,
      },
    ],
    uniswapV3: { quoter: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e', router: swapRouter },
    feeds: { 'ETH/USD': { address: '0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419', decimals: 8 } },
  },
  8453: {
    tokens: [
      usdc('0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'),
      weth('0x4200000000000000000000000000000000000006'),
    ],
    uniswapV3: { quoter: '0x3d4e44Eb1374240CE5F1B871ab261CD16335B76a' },
  },
  42161: {
    tokens: [
      usdc('0xaf88d065e77c8cC2239327C5EDb3A432268e5831'),
      weth('0x82aF49447D8a07e3bd95BD0d56f35241523fBab1'),
    ],
    uniswapV3: { quoter: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e', router: swapRouter },
  },
  10: {
    tokens: [
      usdc('0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85'),
      weth('0x4200000000000000000000000000000000000006'),
    ],
    uniswapV3: { quoter: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e', router: swapRouter },
  },
  137: {
    tokens: [usdc('0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359')],
    uniswapV3: { quoter: '0x61fFE014bA17989E743c5F6cB21bF9697530B21e', router: swapRouter },
  },
}
