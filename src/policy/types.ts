import type { Address } from 'viem'
import type { AssetId } from '../context/chain.js'
import type { Simulation } from '../simulate/types.js'

/** The operations a policy rule can name. */
export const policyOperations = [
  'transfer',
  'approve',
  'write_contract',
  'swap',
  'sign_typed_data',
  'pay',
  'standing_order',
] as const

/** One of {@link policyOperations}. */
export type PolicyOperation = (typeof policyOperations)[number]

/** An amount with the decimals of its asset, so a rule's display-unit number can be compared exactly. */
export type FactAmount = { raw: bigint; decimals: number }

/**
 * Everything a policy decision may look at: built by the pipeline from the intent, the gateway's own decoding and
 * its own simulation, never from the agent's words. Evaluation is a pure function of these facts and the policy.
 */
export type PolicyFacts = {
  operation: PolicyOperation
  /** Registry name (`devnet`, `base`, …) and id. */
  chain: string
  chainId: number
  /** The signing wallet. */
  wallet: Address
  /** The calling agent's id (passport subject); `local` for the local operator's client. */
  agent: string
  /** What started the write: a tool call (default), a standing order firing, a revenue payout. */
  origin?: 'tool' | 'order' | 'payout' | undefined
  /** The developer the agent's passport names (a did); absent for the operator. */
  developer?: string | undefined
  /**
   * Who receives / is granted: a transfer's recipient, an approval's spender, a swap's router, a contract call's
   * target, a typed-data verifying contract.
   */
  to?: Address | undefined
  /** For `pay`: the lowercase host of the URL the payment buys from. */
  host?: string | undefined
  /** The token moved or approved (absent for the native coin). */
  token?: Address | undefined
  /**
   * CAIP-19 id of the asset the operation moves or approves: `token`'s (`eip155:1/erc20:0x…`), or the native
   * coin's for a native transfer (`eip155:1/slip44:60`). Informational: rules match `token`, not this.
   */
  assetId?: AssetId | undefined
  /** The transaction's `to` (the contract called), absent for typed data. */
  contract?: Address | undefined
  /**
   * Canonical signatures of the functions the call runs: the outer one, then any decoded inner calls of a
   * known wrapper (multicall). `opaque` marks calldata that could not be decoded. Empty for a plain native send.
   */
  functions: string[]
  /**
   * The 4-byte selector of each entry of `functions` (`opaque` where there is none): what `function` rules compare,
   * since a selector, not a name, is what a contract dispatches on. Derived from `functions` when absent.
   */
  selectors?: string[] | undefined
  /** The amount the operation names (transfer amount, approval allowance, swap input) in its asset's units. */
  amount?: FactAmount | undefined
  /** Native value sent along with the call. */
  value: FactAmount
  /** Whether `to` is in the operator's address book. */
  addressBookListed: boolean
  /** The gateway's simulation; `undefined` when none could be run (then rules on simulation never match). */
  simulation?: Simulation | undefined
  /**
   * Every outflow of the wallet: simulated deltas (balance reads) plus native value sent, per asset. `token`
   * absent = native. A token call that also sends native value lists both (ADVERSARIAL 13).
   */
  outflows: {
    token?: Address | undefined
    raw: bigint
    decimals: number
    /** The asset's CAIP-19 id, when the chain's ids are known (see {@link PolicyFacts.assetId}). */
    assetId?: AssetId | undefined
  }[]
  /** Total outflow priced in USD, micro-dollars (1 USD = 1,000,000); `undefined` when some asset has no price. */
  outflowMicroUsd?: bigint | undefined
  /**
   * What the write lets others take later, priced in USD (micro-dollars): the new or raised approvals the simulation
   * (or the typed data) shows, each at its amount. `undefined` when one is unlimited, an NFT, or has no price or
   * decimals; 0 when there are none. An agent's grant counts it like an outflow.
   */
  approvalMicroUsd?: bigint | undefined
  /** The decision time. */
  now: Date
  /** The chain's CAIP-2 id where it is not `eip155:<chainId>` (a Solana cluster), so `match.chain` can name it. */
  caip2?: string | undefined
  /**
   * Solana: every program the transaction calls, its own instructions' and those they invoke (from the
   * simulation's logs): a well-known program by name (`system`, `spl-token`, `token-2022`, `associated-token`,
   * `compute-budget`), any other by its address.
   */
  programs?: string[] | undefined
  /** Solana: the Token-2022 risks of the token moved (`transfer-fee`, `permanent-delegate`, …; see `mintRisks`). */
  tokenRisks?: string[] | undefined
}

/**
 * One limit an allowing rule charges: reserved in the database before signing, committed when mined, released
 * on failure or cancel. `key` identifies the budget across intents and replicas.
 */
export type LimitCharge = {
  /** `<rule id>/<limit id>/<chain id>/<wallet>[/<token>]`: one budget. */
  key: string
  ruleId: string
  limitId: string
  metric: 'outflow' | 'outflowUsd' | 'count'
  token?: Address | undefined
  /** Rolling window length. */
  windowSeconds: number
  /** The cap, in the metric's unit: token base units, micro-USD, or a count. */
  max: bigint
  /** What this intent takes, same unit. */
  amount: bigint
  /** Decimals to show amounts in (token decimals, 6 for USD, 0 for count). */
  decimals: number
}

/** What a policy says about one intent: the effect, the rules that decided it, and why, in words. */
export type PolicyDecision = {
  effect: 'allow' | 'deny' | 'require_approval'
  /** The rule ids that decided it (the denying ones, the holding ones, or the allowing ones). */
  ruleIds: string[]
  /** Sentences for the agent and the approver: what matched, never the rule internals beyond ids. */
  reasons: string[]
  /** For `allow`: the limits to reserve before signing (all must fit, atomically). Empty otherwise. */
  limits: LimitCharge[]
  /** The policy version hash the decision was made under. */
  policyHash: string
  /**
   * For a default deny: the allow rule that came closest to matching (fewest failing conditions), each failing
   * condition in words, and the limits that rule would charge (so the denial can say what is left).
   */
  nearest?: NearestRule | undefined
}

/** The allow rule a denied intent came closest to: what it would have needed, and what its budgets are. */
export type NearestRule = {
  ruleId: string
  /** One sentence per failing condition, naming the rule, the cap and the `match` field. */
  failing: string[]
  /** What the rule's limits would take from this intent (empty when it has none). */
  limits: LimitCharge[]
}
