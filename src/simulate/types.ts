import type { Address, Hex } from 'viem'
import type { AssetId } from '../context/chain.js'

/**
 * The call to simulate, as the pipeline will sign it. The gas limit and fee fields are the ones the transaction
 * will carry (a contract can read `gasleft()` and `tx.gasprice`); without them the simulation derives realistic
 * ones from the block (previews, and endpoints that cannot estimate a reverting call).
 */
export type SimulationCall = {
  from: Address
  to: Address
  data: Hex
  value: bigint
  gas?: bigint | undefined
  maxFeePerGas?: bigint | undefined
  maxPriorityFeePerGas?: bigint | undefined
}

/**
 * One change of the wallet's holdings. `raw` is signed: negative is an outflow. Balance reads and logs are both
 * taken, and where they differ the larger outflow counts (fee-on-transfer and re-entrant pulls show in the
 * balance, a lying `balanceOf` in the logs); `fromLogs` / `fromBalance` keep what each said.
 *
 * `assetId` is the asset's CAIP-19 id (`eip155:1/erc20:0x…`, `eip155:1/slip44:60`, `eip155:1/erc721:0x…/7`):
 * `simulateWrite` and `readReceiptEffects` set it on every delta; a delta built without a chain at hand
 * (decoded typed data) may lack it.
 */
export type AssetDelta = (
  | { kind: 'native'; raw: bigint }
  | {
      kind: 'erc20'
      token: Address
      raw: bigint
      /** What the Transfer logs alone said, when the balance reads disagree with them. */
      fromLogs?: bigint | undefined
      /** What the balance reads alone said, when they disagree with the logs. */
      fromBalance?: bigint | undefined
    }
  | { kind: 'erc721'; token: Address; tokenId: bigint; raw: 1n | -1n }
  | { kind: 'erc1155'; token: Address; tokenId: bigint; raw: bigint }
  /** An SPL or Token-2022 token on Solana: `token` is the mint (base58). */
  | { kind: 'spl'; token: string; raw: bigint }
) & { assetId?: AssetId | undefined }

/**
 * A permission the call grants over the wallet's assets, counted as exposure at its full allowance.
 * `amount` is `null` for all-of-a-collection (setApprovalForAll); `unlimited` when the allowance is ≥ 2^255
 * (or uint160 max for Permit2) or `amount` is null.
 */
export type ApprovalExposure = {
  kind: 'erc20' | 'erc721' | 'erc721-all' | 'permit2'
  token: Address
  spender: Address
  amount: bigint | null
  tokenId?: bigint | undefined
  unlimited: boolean
  /**
   * CAIP-19 id of what the permission covers: the token (`erc20`, `permit2`), the one NFT (`erc721`), or the
   * whole collection (`erc721-all`, `eip155:1/erc721:0x…`). Set where the chain is known, like {@link AssetDelta}.
   */
  assetId?: AssetId | undefined
}

/** What simulating a call says it would do to the wallet. */
export type Simulation = {
  /** Which RPC method answered (`typed-data`: no call, the exposure was decoded from an EIP-712 message). */
  method: 'eth_simulateV1' | 'eth_call+debug_traceCall' | 'typed-data' | 'simulateTransaction'
  /** The block the simulation was pinned to (state of this block; effects as if in the next one). */
  blockNumber: bigint
  reverted: boolean
  /** Sanitized revert reason (`Error(string)`, a panic code, or a custom error selector). */
  revertReason?: string | undefined
  gasUsed: bigint
  /** The wallet's changes, excluding the fee it pays for gas. */
  deltas: AssetDelta[]
  /** New or raised approvals the wallet grants. */
  approvals: ApprovalExposure[]
  /** Notes for the policy and the approver, e.g. `fee-on-transfer:0x…` (balance ≠ logs), `endpoints-agree`. */
  flags: string[]
}
