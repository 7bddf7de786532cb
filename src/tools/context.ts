import type { z } from 'zod'
import type { Chains } from '../chains/chains.js'
import type { TokenFactsService } from '../chains/tokenFacts.js'
import type { Caller, GrantScope } from '../context/caller.js'
import type { RequestContext } from '../context/requestContext.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { SolanaDevnetFixtures } from '../devnet/solana/fixtures.js'
import type { TypedDataToSign } from '../signer/signer.js'
import type { IntentStatus } from '../txs/intentStatus.js'
import type { GetLimitsOutput } from './getLimits.js'
import type { WriteOptionsValue, WriteResultValue, WriteToolDefinition } from './shared/write.js'

/** Fetches remote JSON (NFT metadata, avatars) through the SSRF guard. */
export type MetadataFetcher = {
  fetchJson(url: string): Promise<{ url: string; contentType: string; json: unknown }>
}

/** The gateway wallet's intents, for get_intent, list_intents, cancel_intent and speed_up_intent. */
export type IntentsCapability = {
  /** One intent, as it stands (re-checked against the chain when in flight). */
  get(id: string, caller?: Caller | undefined): Promise<WriteResultValue>
  /** Intents of the gateway wallet (an agent's own), newest first. */
  list(filter: {
    caller?: Caller | undefined
    chainId?: number | undefined
    status?: IntentStatus | undefined
    limit?: number | undefined
  }): Promise<WriteResultValue[]>
  /** Withdraws an intent (cancelled before signing; replaced by a 0-value self-transfer in flight). */
  cancel(id: string, options: WriteOptionsValue, ctx: RequestContext): Promise<WriteResultValue>
  /** Re-sends an in-flight intent's transaction with higher fees (same nonce). */
  speedUp(
    id: string,
    options: WriteOptionsValue & { feeBumpPercent?: number | undefined },
    ctx: RequestContext,
  ): Promise<WriteResultValue>
}

/** The wallet's spend budgets under the policy in force, for get_limits. */
export type BudgetsCapability = {
  limits(chain: string | number): Promise<z.input<typeof GetLimitsOutput>>
  /** Whether the wallet's writes on a chain run through the on-chain guard. */
  guardMode(chain: string | number): Promise<z.input<typeof GetLimitsOutput>['guard']>
}

/** A write's simulation and the policy's answer, recording nothing, for simulate. */
export type PreviewCapability = {
  preview(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<Record<string, unknown>>
}

/** EIP-712 signing as a guarded intent, for sign_typed_data. */
export type TypedDataCapability = {
  sign(
    chain: string | number,
    typedData: TypedDataToSign,
    options: WriteOptionsValue,
    ctx: RequestContext,
  ): Promise<WriteResultValue & { signature?: string }>
}

/** What fetch_with_payment asks the write path: buy a resource, paying under policy when it asks for x402. */
export type PaymentsCapability = {
  fetchWithPayment(
    input: {
      url: string
      chain: string | number
      maxAmount: string
      asset?: string | undefined
      method?: 'GET' | 'POST' | undefined
      body?: string | undefined
      contentType?: string | undefined
      idempotencyKey?: string | undefined
    },
    ctx: RequestContext,
  ): Promise<Record<string, unknown> & { paid: boolean }>
}

/** What the standing-order tools ask (DESIGN §10): create under policy, and an owner's view of its orders. */
export type OrdersCapability = {
  /** Creates an order as a guarded `standing_order` intent (held for a human when the policy says so). */
  create(
    input: {
      chain: string | number
      trigger: unknown
      action: unknown
      budgetUsd: string
      guards?: unknown
      idempotencyKey?: string | undefined
    },
    ctx: RequestContext,
  ): Promise<Record<string, unknown>>
  /** The caller's orders (the operator's: every one), newest first. */
  list(
    caller: Caller,
    filter: { status?: string | undefined; limit?: number | undefined },
  ): Promise<Record<string, unknown>[]>
  /** One of the caller's orders with its recent evaluations and fires. */
  get(id: string, caller: Caller): Promise<Record<string, unknown>>
  /** Cancels one of the caller's orders. */
  cancel(id: string, caller: Caller): Promise<Record<string, unknown>>
}

/**
 * What a tool handler receives besides its input: its reads, and the narrow capabilities of the write side it needs
 * (intent queries, budgets, a preview, typed-data signing). Tools never see keys, the signer, payments or the write
 * path itself: the pipeline owns those (DESIGN §1). The write capabilities are absent without a wallet and a store.
 */
export type ToolContext = {
  chains: Chains
  tokens: TokenFactsService
  fetcher: MetadataFetcher
  /** Registry name of the chain where ENS lives by default (`ethereum`, or `devnet` in demo mode). */
  ensChain: string
  /** The embedded devnet's fixtures, in devnet mode. */
  devnet: DevnetFixtures | undefined
  /** The embedded Solana devnet's fixtures, when it runs (`solana-local`). */
  solanaDevnet?: SolanaDevnetFixtures | undefined
  intents?: IntentsCapability | undefined
  budgets?: BudgetsCapability | undefined
  preview?: PreviewCapability | undefined
  typedData?: TypedDataCapability | undefined
  payments?: PaymentsCapability | undefined
  identity?: IdentityCapability | undefined
  orders?: OrdersCapability | undefined
}

/** What whoami reads about an agent besides its request context: what is left of its grant's budget. */
export type IdentityCapability = {
  budget(
    agent: string,
    grant: GrantScope,
  ): Promise<{ max: string; used: string; remaining: string; window: string } | undefined>
}
