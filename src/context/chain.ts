/**
 * The chain-family seam (DESIGN §8): what every chain is, whatever its family, and the adapter each family brings.
 * Defined here, below `chains/`, `simulate/`, `txs/`, `pipeline/` and `tools/`, so a family-neutral caller names
 * these types without importing any family's code. Only the EVM family is served today (`src/chains/evm/`);
 * Solana plugs in behind the same interface in its own issue.
 */

/** The chain families the gateway knows. Only `evm` is served today. */
export type ChainFamily = 'evm' | 'solana'

/**
 * A CAIP-19 asset id: `eip155:1/erc20:0xa0b8…` (a token), `eip155:1/slip44:60` (a native coin),
 * `eip155:1/erc721:0x…/42` (one NFT), later `solana:<genesis>/token:<mint>`. See `src/chains/caip19.ts` for how
 * EVM ids are spelled (lowercase addresses, which SLIP-44 number a native coin gets).
 */
export type AssetId = string

/** A chain's native coin: what balances, fees and `value` are counted in. */
export type NativeAsset = {
  readonly symbol: string
  readonly decimals: number
  readonly assetId: AssetId
}

/**
 * What every chain has, whatever its family: the part tools, policy facts, the audit and outputs may rely on
 * without knowing the family. A family's own context (the EVM one in `src/chains/chains.ts`) extends it with its
 * client and ids.
 */
export type ChainContext = {
  readonly family: ChainFamily
  /** Registry name (`base`, `devnet`, later `solana-devnet`): public API, never renamed. */
  readonly name: string
  /** CAIP-2 id: `eip155:8453`, later `solana:<genesis hash prefix>`. */
  readonly caip2: string
  readonly testnet: boolean
  readonly native: NativeAsset
}

/** An amount of one asset, in base units, with what is needed to show it. */
export type AssetAmount = {
  readonly assetId: AssetId
  readonly raw: bigint
  readonly decimals: number
  /** The native symbol from the registry, or a token's own symbol (untrusted chain text, already sanitized). */
  readonly symbol: string
}

/** A transfer to build: from the gateway wallet, `amount` in base units of `asset` (a token, or the native coin). */
export type TransferRequest<A> = {
  readonly from: A
  readonly to: A
  readonly amount: bigint
  /** The token to move; absent for the native coin. */
  readonly token?: A | undefined
}

/** How a node answered signed bytes (the same cases for every family). */
export type DeliveryOutcome =
  | { kind: 'accepted' }
  /** The node already has it (an earlier attempt, or a re-send of the same bytes). */
  | { kind: 'known' }
  /** The slot it needed is taken (EVM: the nonce; Solana: never, a blockhash expires instead). */
  | { kind: 'nonce-taken'; message: string }
  /** We cannot know whether the node got it (timeout mid-request): reconcile later, never re-sign. */
  | { kind: 'unknown'; message: string }
  /** Refused for good (insufficient funds, invalid): the intent fails. */
  | { kind: 'refused'; code: string; message: string }

/** Where a sent transaction stands on the chain. */
export type TrackState =
  | { state: 'mined'; success: boolean; block: bigint }
  /** Known to the node, not yet in a block. */
  | { state: 'pending' }
  /** Neither mined nor known: dropped, or not yet propagated. The caller decides (re-send the same bytes). */
  | { state: 'unknown' }

/**
 * The types one family's adapter works in. The EVM adapter: viem addresses, `{ to, data, value }` calls, EIP-1559
 * transactions, hex bytes and hashes; Solana will bring base58 addresses, instructions and signatures.
 */
export type AdapterTypes = {
  /** The family's chain context (extends {@link ChainContext}). */
  chain: ChainContext
  /** A parsed, canonical address. */
  address: string
  /** What the gateway knows about a token (decimals, sanitized name and symbol, whether it is a known one). */
  tokenFacts: { readonly decimals: number }
  /** What building a transfer yields: the unsigned thing the pipeline carries (a call, a transaction message). */
  draft: unknown
  /** What simulating takes besides the chain: a call as it will be signed. */
  simulateInput: unknown
  /** What simulating says: asset changes (with CAIP-19 ids), approvals or authorities, revert. */
  simulation: unknown
  /** A complete unsigned transaction (fees and nonce or blockhash filled in). */
  unsigned: unknown
  /** Signed bytes, ready to send; a re-send is always the same bytes. */
  signed: unknown
  /** What identifies a sent transaction (EVM: its hash; Solana: its signature). */
  handle: string
}

/**
 * One chain family behind one interface (DESIGN §8): tools and the pipeline ask the adapter, never a family's
 * client directly, wherever the question is family-neutral. Reads that only make sense on one family (ENS,
 * `read_contract`) stay family-specific and refuse other families with {@link ChainContext.family} checks.
 *
 * @example
 * const adapter = adapters.evm
 * const balance = await adapter.nativeBalance(chain, adapter.parseAddress('0xd8da…'))
 */
export type ChainAdapter<T extends AdapterTypes = AdapterTypes> = {
  readonly family: ChainFamily
  /**
   * Parses an address as this family writes it, into its canonical form.
   * @throws {InvalidAddressError} not an address of this family (with the reason)
   */
  parseAddress(text: string, field?: string): T['address']
  /** The native balance of an address. */
  nativeBalance(chain: T['chain'], address: T['address']): Promise<AssetAmount>
  /**
   * Balances of the given tokens. A token whose facts cannot be read is left out, never guessed.
   */
  tokenBalances(
    chain: T['chain'],
    address: T['address'],
    tokens: readonly T['address'][],
  ): Promise<(AssetAmount & { token: T['address'] })[]>
  /**
   * What the gateway knows about a token (cached).
   * @throws {TokenNotSupportedError} not a token of this family, or its decimals are unusable
   */
  tokenFacts(chain: T['chain'], token: T['address']): Promise<T['tokenFacts']>
  /** Builds the unsigned draft of a transfer of the native coin or a token. */
  buildTransfer(chain: T['chain'], request: TransferRequest<T['address']>): Promise<T['draft']>
  /**
   * Simulates a draft as the wallet would send it: asset changes in CAIP-19 ids, approvals, revert.
   * @throws {SimulationUnavailableError} the endpoint cannot simulate
   */
  simulate(chain: T['chain'], input: T['simulateInput']): Promise<T['simulation']>
  /**
   * Signs a complete transaction with the gateway's signer (keys never leave it).
   * @throws {SigningRefusedError} the signer refuses it (wrong chain, unsupported fields)
   */
  sign(chain: T['chain'], unsigned: T['unsigned']): Promise<T['signed']>
  /** Sends signed bytes and classifies the node's answer; re-sending the same bytes is always safe. */
  send(chain: T['chain'], signed: T['signed']): Promise<DeliveryOutcome>
  /** Where a sent transaction stands. */
  track(chain: T['chain'], handle: T['handle']): Promise<TrackState>
}
