import type { Address } from 'viem'

/** An ERC-20 fixture: where it lives and how many decimals it has. */
export type DevnetToken = { address: Address; decimals: number }

/**
 * The contracts and accounts deployed on the embedded devnet, as published by `airlock://devnet/fixtures` and
 * `airlock devnet --json` (DESIGN §4). Plain JSON: addresses are EIP-55 checksummed, token ids are strings.
 * Fields past DESIGN §4 (`positionManager`, `ensUniversalResolver`, `ensRegistry`, `adversarial`, `guard`, `deployer`) are
 * additive. The standing-order fixtures (WBTC, the BTC/USD feed, the USDC/WBTC and WETH/WBTC pools) come last in
 * the deployment, so every earlier address is the one it always was.
 *
 * @example
 * const { tokens, accounts } = fixtures
 * await client.readContract({ address: tokens.USDC.address, abi: erc20Abi, functionName: 'balanceOf', args: [accounts[0]] })
 */
export type DevnetFixtures = {
  /** Registry name of the chain: `devnet` unless a `chainName` was given. */
  chain: string
  chainId: number
  rpcUrl: string
  /** The mnemonic's first 10 accounts, each with 10,000 ETH at start. */
  accounts: Address[]
  tokens: {
    /** EIP-3009 + EIP-2612, EIP-712 domain ("USD Coin", "2"); 1,000,000 to accounts 0–2. */
    USDC: DevnetToken
    /** WETH9. */
    WETH: DevnetToken
    /** EIP-2612 permit; 1,000,000 to accounts 0–2. */
    DAI: DevnetToken
    /** "Wrapped BTC", 8 decimals; 100 to accounts 1–2, 0.05 to account 0 (with 1 WETH); the deployer mints. */
    WBTC: DevnetToken
  }
  /** ERC-721 with `data:` JSON metadata; token 2's name is a prompt-injection attempt. */
  nft: { address: Address; tokenIds: string[]; owner: Address }
  erc1155: { address: Address; id: string }
  /** Forward records with reverse records; alice.eth has a `data:` avatar. */
  ens: { 'alice.eth': Address; 'bob.eth': Address }
  /** Multicall3 at its canonical address. */
  multicall3: Address
  uniswapV3: {
    factory: Address
    /** SwapRouter (v3, with deadline). */
    router: Address
    /** QuoterV2. */
    quoter: Address
    positionManager: Address
    /**
     * Fee tier 0.3%, full-range liquidity from the deployer, each as deep as 1,000 WETH, room for 64 observations
     * (a time-weighted price from `observe`). At the start: 3000 USDC per WETH, 60,000 USDC per WBTC and
     * 0.05 WBTC per WETH, agreeing with the feeds; `setMarket` (src/devnet/market.ts) moves them together.
     */
    pools: { 'USDC/WETH': Address; 'USDC/WBTC': Address; 'WETH/WBTC': Address }
  }
  /** AggregatorV3Interface feeds (8 decimals; the deployer updates them): ETH/USD at 3000, BTC/USD at 60,000. */
  feeds: {
    'ETH/USD': { address: Address; decimals: number }
    'BTC/USD': { address: Address; decimals: number }
  }
  /** Universal Resolver for viem's ENS actions (`chain.contracts.ensUniversalResolver`). */
  ensUniversalResolver: Address
  ensRegistry: Address
  /** Hostile tokens for tests; balances belong to account 0. */
  adversarial: {
    /** decimals() reverts. */
    revertingDecimals: Address
    /** decimals() returns 77. */
    absurdDecimals: Address
    /** symbol "USDС" (Cyrillic С), zero-width space in the name, 6 decimals. */
    homoglyphToken: Address
  }
  /**
   * Airlock's post-condition guard (deployed through the CREATE2 factory); account 0, the gateway's devnet
   * wallet, delegates to it (EIP-7702) from the start. Absent in fixtures written before the guard existed.
   */
  guard?: Address | undefined
  /** Account 9: deployed everything, mints USDC, DAI and WBTC, updates the feeds and holds the Uniswap positions. */
  deployer: Address
}
