import { type Address, formatUnits } from 'viem'
import { addressOnChain } from '../chains/addressOnChain.js'
import type { ChainContext } from '../chains/chains.js'
import { ChainFamilyError } from '../chains/errors.js'
import { type GuardMode, guardAddress, readGuardStatus } from '../chains/evm/guard.js'
import { actorOf, agentIdOf, type Caller } from '../context/caller.js'
import type { RequestContext } from '../context/requestContext.js'
import { BaseError, InvalidInputError, TokenNotSupportedError } from '../errors/index.js'
import { assetAddress, chooseRequirement, payHostOf, paymentRequiredOf } from '../payments/paying.js'
import { chainKeys } from '../policy/keys.js'
import { payableHost } from '../policy/payHosts.js'
import { perWriteCaps } from '../policy/perWriteCaps.js'
import { parseAmount } from '../schemas/amount.js'
import type { TypedDataToSign } from '../signer/signer.js'
import { formatEffects } from '../simulate/formatEffects.js'
import type {
  BudgetsCapability,
  OrdersCapability,
  PaymentsCapability,
  ToolContext,
} from '../tools/context.js'
import type { WriteOptionsValue, WriteResultValue, WriteToolDefinition } from '../tools/shared/write.js'
import type { Intent } from '../txs/intentJournal.js'
import { createSafeFetcher } from '../untrusted/safeFetch.js'
import { createApprovalRunner } from './approvalRunner.js'
import { createEvmTransactionKind } from './drafts/evmTransaction.js'
import { createSolanaTransactionKind, type SolanaTransferRequest } from './drafts/solanaTransaction.js'
import { createStandingOrderKind } from './drafts/standingOrder.js'
import { createTypedDataKind } from './drafts/typedData.js'
import { createX402PaymentKind, type PaidAnswer, responseOf } from './drafts/x402Payment.js'
import { createExecutor } from './executor.js'
import { type GuardOutcome, simulationJson } from './guard.js'
import { createIntentQueries, type ListIntentsFilter } from './intents.js'
import { probeOrderActions } from './orderProbe.js'
import { createReplacements, type SpeedUpOptions } from './replacements.js'
import { requireSigner, type WriteParts } from './writeParts.js'

/** What the write path needs: the journal, nonces, the signer, the tracker and the guard. */
export type CreateWritePathParameters = WriteParts

/**
 * What get_limits answers: the wallet's budgets on a chain, the per-write caps and the kill switch (the shape is the
 * tool's output schema).
 */
export type LimitsReport = Awaited<ReturnType<BudgetsCapability['limits']>>

/**
 * The write half of the pipeline (DESIGN §1), as one object over its modules: the executor and its draft kinds
 * (src/pipeline/executor.ts, drafts/), intent queries (intents.ts), replacements (replacements.ts) and the approval
 * runner (approvalRunner.ts). Tools get narrow parts of it (see src/tools/context.ts), never all of it.
 */
export type WritePath = {
  /** Carries a write tool's draft (an EVM transaction) through the executor, as the caller in `ctx`. */
  execute(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<WriteResultValue>
  /** The result shape of an intent as it stands (for get_intent and idempotent replays). */
  describe(intent: Intent): Promise<WriteResultValue>
  /** One intent, as it stands (re-checked against the chain when in flight). */
  get(id: string, caller?: Caller | undefined): Promise<WriteResultValue>
  /** One intent's result once it is past where a write answers (its receipt when `options.wait`). */
  follow(id: string, options: WriteOptionsValue): Promise<WriteResultValue>
  /** Intents of the gateway wallet, newest first. */
  list(filter: ListIntentsFilter): Promise<WriteResultValue[]>
  /** Withdraws an intent: before signing it is cancelled; in flight it is replaced by a 0-value self-transfer. */
  cancel(id: string, options: WriteOptionsValue, ctx: RequestContext): Promise<WriteResultValue>
  /** Re-sends an in-flight intent's transaction with higher fees (same nonce). */
  speedUp(id: string, options: SpeedUpOptions, ctx: RequestContext): Promise<WriteResultValue>
  /** Signs EIP-712 typed data as an intent (never a raw hash), for the caller who asked. */
  signTypedData(
    chainRef: string | number,
    typedData: TypedDataToSign,
    options: WriteOptionsValue,
    ctx: RequestContext,
  ): Promise<WriteResultValue & { signature?: string }>
  /** Buys an x402-protected resource, paying as a guarded `pay` intent when the server asks (fetch_with_payment). */
  fetchWithPayment: PaymentsCapability['fetchWithPayment']
  /** Standing orders: created as guarded `standing_order` intents; listed, read and cancelled by their owner. */
  createOrder: OrdersCapability['create']
  listOrders: OrdersCapability['list']
  getOrder: OrdersCapability['get']
  cancelOrder: OrdersCapability['cancel']
  /** What a write would do and what the policy says, without recording or sending anything. */
  preview(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<Record<string, unknown>>
  /**
   * Housekeeping shared by replicas: expire approvals past their time, carry on approved intents (re-simulated
   * first), and settle limit reservations of intents that ended. Runs on a timer and after each approval.
   */
  maintain(): Promise<{ resumed: number; expired: number }>
  /** The wallet's budgets on a chain under the policy in force (get_limits). */
  limits(chainRef: string | number): Promise<LimitsReport>
  /** Whether the wallet's writes on a chain run through the on-chain guard (read from the chain, cached 15 s). */
  guardMode(chainRef: string | number): Promise<GuardModeReport>
}

/** Where a chain stands with the on-chain guard, as get_limits and list_chains show it. */
export type GuardModeReport = {
  mode: GuardMode | 'unknown'
  address: Address
  description: string
}

/**
 * Builds the write path over its parts: one executor with the EVM transaction and typed-data draft kinds, the
 * intent queries, replacements and the approval runner.
 *
 * @example const writes = createWritePath({ context, journal, nonces, signer, tracker, guard })
 */
export function createWritePath(parameters: CreateWritePathParameters): WritePath {
  const parts = parameters
  const { context, guard } = parts
  const intents = createIntentQueries(parts)
  const evmTransaction = createEvmTransactionKind(parts, intents)
  const typedData = createTypedDataKind(parts, intents)
  const payFetcher = parts.payFetcher ?? createSafeFetcher({ timeoutMs: 15_000, maxBytes: 1024 * 1024 })
  const payment = createX402PaymentKind(parts, intents, payFetcher)
  const standingOrder = parts.orders ? createStandingOrderKind(parts, intents, parts.orders) : undefined
  const solanaTransaction = createSolanaTransactionKind(parts, intents)
  const executor = createExecutor(parts, intents, [
    evmTransaction,
    solanaTransaction,
    typedData,
    payment,
    ...(standingOrder ? [standingOrder] : []),
  ])
  function requireOrders() {
    if (!parts.orders || !standingOrder)
      throw new BaseError('PRECONDITION_FAILED', 'Standing orders are not available on this gateway.')
    return { orders: parts.orders, kind: standingOrder }
  }
  const replacements = createReplacements(parts, intents)
  const runner = createApprovalRunner(parts, executor)
  const modes = new Map<number, { at: number; report: Promise<GuardModeReport> }>()

  /**
   * A write tool's call on a Solana cluster, as the Solana draft kind takes it; `undefined` on an EVM chain. Only
   * `transfer` moves value on Solana; the other write tools are EVM's (a clear error names the family).
   */
  function solanaRequest(
    tool: WriteToolDefinition,
    input: Record<string, unknown>,
  ): SolanaTransferRequest | undefined {
    if (input.chain === undefined) return undefined
    const chain = context.chains.resolveAny(input.chain as string | number)
    if (chain.family !== 'solana') return undefined
    if (tool.name !== 'transfer')
      throw new ChainFamilyError({ chain: chain.name, family: 'solana', expected: 'evm', tool: tool.name })
    if (typeof input.to === 'string' && input.to.includes('.'))
      throw new InvalidInputError('ENS names are for EVM chains; give the Solana address (base58).', {
        field: 'to',
      })
    return {
      chain,
      to: addressOnChain(chain, String(input.to), 'to'),
      amount: input.amount as string,
      token: input.token === undefined ? undefined : addressOnChain(chain, String(input.token), 'token'),
    }
  }

  /** The guard's mode on a chain for this wallet; a read the chain cannot answer is `unknown`, never cached. */
  function guardMode(chainRef: string | number): Promise<GuardModeReport> {
    const chain = context.chains.resolve(chainRef)
    const wallet = requireSigner(parts).address
    const cached = modes.get(chain.id)
    if (cached && Date.now() - cached.at < guardModeCacheMs) return cached.report
    const report = readGuardStatus(chain, wallet).then(
      (status) => ({ mode: status.mode, address: guardAddress, description: guardModeText[status.mode] }),
      () => {
        modes.delete(chain.id)
        return { mode: 'unknown' as const, address: guardAddress, description: guardModeText.unknown }
      },
    )
    modes.set(chain.id, { at: Date.now(), report })
    return report
  }

  return {
    guardMode,
    execute(tool, input, ctx) {
      const solana = solanaRequest(tool, input)
      return solana
        ? executor.execute(solanaTransaction, solana, input as WriteOptionsValue, ctx)
        : executor.execute(evmTransaction, { tool, input }, input as WriteOptionsValue, ctx)
    },
    describe: intents.describe,
    get: intents.get,
    follow: intents.follow,
    list: intents.list,
    cancel: replacements.cancel,
    speedUp: replacements.speedUp,
    signTypedData: (chain, message, options, ctx) =>
      executor.execute(typedData, { chain, typedData: message }, options, ctx),
    async fetchWithPayment(input, ctx) {
      // The unpaid request first: a resource that does not ask for payment is simply returned.
      const chain = context.chains.resolve(input.chain)
      const token = await payAsset(context, chain, input.asset ?? 'USDC')
      const max = { raw: parseAmount(input.maxAmount, token.decimals, 'maxAmount'), asset: token.address }
      const method = input.method ?? (input.body === undefined ? 'GET' : 'POST')
      if (method === 'GET' && input.body !== undefined)
        throw new InvalidInputError('A GET request takes no body: use method "POST" to send one.', {
          field: 'body',
        })
      const request = {
        method,
        ...(input.body === undefined ? {} : { body: input.body }),
        ...(input.contentType ? { contentType: input.contentType } : {}),
      }
      // The kill switch (and this agent's own stop) before anything leaves the gateway, and a host some rule
      // lets the gateway pay: the gateway is not a way to reach hosts the operator never meant to buy from.
      await guard.assertLive(agentIdOf(ctx.caller))
      const host = payHostOf(input.url)
      if (!payableHost(guard.parts.policy(), host, chain))
        throw new BaseError(
          'POLICY_DENIED',
          `No policy rule lets the gateway pay ${JSON.stringify(host.slice(0, 100))} on ${chain.name}: nothing was requested.`,
          {
            metaMessages: [
              'The operator allows hosts with `pay` rules (`match.host`); see get_limits for your budgets.',
            ],
          },
        )
      const first = await payFetcher.exchange(input.url, request)
      if (first.status !== 402) return { paid: false, response: responseOf(first) }
      const required = paymentRequiredOf(first)
      const requirement = chooseRequirement(required, { servedNetworks: new Set([chain.caip2]), max })
      const answer = (await executor.execute(
        payment,
        { url: input.url, ...request, maxAmount: input.maxAmount, required, requirement },
        { idempotencyKey: input.idempotencyKey },
        ctx,
      )) as PaidAnswer
      const { paid, paymentReceipt, response, ...intent } = answer
      // The unsigned payload kept for a held payment is the journal's, not the agent's to read again.
      const { payment: _kept, ...details } = intent.details
      return {
        paid: paid === true,
        intent: { ...intent, details },
        ...(paymentReceipt ? { paymentReceipt } : {}),
        ...(response ? { response } : {}),
      }
    },
    maintain: runner.maintain,

    async createOrder(input, ctx) {
      const { orders, kind } = requireOrders()
      const chain = context.chains.resolve(input.chain)
      const spec = orders.resolve(
        chain,
        input as Parameters<typeof orders.resolve>[1],
        ctx.caller,
        Math.floor(Date.now() / 1000),
      )
      await guard.assertLive(agentIdOf(ctx.caller))
      await probeOrderActions(
        spec,
        ctx.caller,
        chain,
        requireSigner(parts).address,
        context.tokens.contracts(chain.id)?.uniswapV3?.router,
        guard.parts,
      )
      return (await executor.execute(
        kind,
        { spec },
        { idempotencyKey: input.idempotencyKey },
        ctx,
      )) as unknown as Record<string, unknown>
    },
    async listOrders(caller, filter) {
      const { orders } = requireOrders()
      const list = await orders.orders.list({
        ...(caller.kind === 'operator' ? {} : { owner: actorOf(caller) }),
        status: filter.status as never,
        limit: filter.limit ?? 20,
      })
      return Promise.all(list.map((o) => orders.describe(o)))
    },
    async getOrder(id, caller) {
      const { orders } = requireOrders()
      return orders.describe(await orders.own(id, caller), true)
    },
    async cancelOrder(id, caller) {
      const { orders } = requireOrders()
      return orders.describe(await orders.cancel(id, caller))
    },

    async preview(tool, input, ctx) {
      const solana = solanaRequest(tool, input)
      if (solana) {
        const { prepared, outcome, wallet } = await executor.check(solanaTransaction, solana, ctx)
        const remaining = await guard.parts.limits.usage(outcome.decision.limits)
        return {
          chain: prepared.chain.name,
          caip2: prepared.chain.caip2,
          operation: prepared.check.operation,
          summary: prepared.summary,
          details: prepared.details,
          from: wallet,
          simulation: simulationJson(outcome.simulation),
          ...(outcome.simulationUnavailable ? { simulationUnavailable: outcome.simulationUnavailable } : {}),
          policy: policyPreview(outcome, remaining),
        }
      }
      // Prepared and checked exactly as the write would be (simulated with the fees it would be signed with): a
      // preview that differs would mislead.
      const { prepared, outcome, wallet } = await executor.check(evmTransaction, { tool, input }, ctx)
      const call = prepared.bound.call as NonNullable<typeof prepared.bound.call>
      const remaining = await guard.parts.limits.usage(outcome.decision.limits)
      return {
        chain: prepared.chain.name,
        caip2: prepared.chain.caip2,
        operation: prepared.check.operation,
        summary: prepared.summary,
        details: prepared.details,
        from: wallet,
        call: { to: call.to, data: call.data, value: call.value.toString() },
        simulation: simulationJson(outcome.simulation),
        effects: await formatEffects(prepared.chain, outcome.simulation, guard.parts.tokens),
        ...(outcome.simulationUnavailable ? { simulationUnavailable: outcome.simulationUnavailable } : {}),
        policy: policyPreview(outcome, remaining),
      }
    },

    async limits(chainRef) {
      const chain = context.chains.resolve(chainRef)
      const wallet = requireSigner(parts).address
      const [budgets, onChain, stopped, kill] = await Promise.all([
        guard.budgets(chain, wallet),
        guardMode(chain.name),
        guard.parts.killSwitch.stoppedContracts({ chainId: chain.id }).catch(() => undefined),
        guard.parts.killSwitch.state().then(
          (s) => (s.engaged ? 'engaged' : 'off') as 'engaged' | 'off',
          () => 'unknown' as const,
        ),
      ])
      const policy = guard.parts.policy()
      return {
        chain: chain.name,
        caip2: chain.caip2,
        wallet,
        policyHash: policy?.policyHash ?? 'none',
        killSwitch: kill,
        ...(stopped?.length
          ? {
              stoppedContracts: stopped.map((c) => ({
                address: c.address,
                since: c.stoppedAt.toISOString(),
              })),
            }
          : {}),
        guard: onChain,
        limits: budgets,
        perWrite: policy ? perWriteCaps(policy, chainKeys(chain.name, chain.id)) : [],
      }
    },
  }
}

/**
 * The token an x402 purchase is paid in: a symbol the gateway knows on the chain (USDC), or a token address.
 *
 * @throws {TokenNotSupportedError} neither
 */
async function payAsset(context: ToolContext, chain: ChainContext, asset: string) {
  const address = assetAddress(context.tokens.known(chain.id), asset)
  if (!address)
    throw new TokenNotSupportedError({
      token: asset.slice(0, 64),
      reason: `it is not a token known on ${chain.name}; give its address`,
    })
  const facts = await context.tokens.get(chain, address)
  return { address, decimals: facts.decimals }
}

/** The policy's answer as a preview shows it: effect, reasons, and each budget with what it needs and has left. */
function policyPreview(outcome: GuardOutcome, remaining: readonly { remaining: bigint }[]) {
  return {
    effect: outcome.decision.effect,
    reasons: outcome.decision.reasons,
    ruleIds: outcome.decision.ruleIds,
    limits: remaining.map((r, i) => {
      const charge = outcome.decision.limits[i]!
      return {
        limit: charge.limitId,
        rule: charge.ruleId,
        needs: formatUnits(charge.amount, charge.decimals),
        remaining: formatUnits(r.remaining, charge.decimals),
        fits: r.remaining >= charge.amount,
      }
    }),
  }
}

/** How long list_chains and get_limits reuse a chain's guard mode (writes read it fresh every time). */
const guardModeCacheMs = 15_000

/** What each guard mode means for the agent. */
const guardModeText: Record<GuardModeReport['mode'], string> = {
  enforced:
    "Writes run through Airlock's on-chain guard: a transaction that would move more than was checked reverts.",
  off: 'The wallet does not delegate to the guard here: writes are sent as they are and settled on their receipts (a breach engages the kill switch after the fact). The operator enables it with `airlock wallet guard enable --chain <chain>`.',
  foreign:
    "The wallet's code here is not Airlock's guard: writes are sent as they are and settled on their receipts. The operator should check `airlock wallet guard status --chain <chain>`.",
  unknown: 'The chain did not say whether the wallet delegates to the guard.',
}

/**
 * The narrow capabilities tools get from the write path (DESIGN §1, STYLE 5): intent queries, budgets, a preview and
 * typed-data signing, each only the functions its tools call; never the write path itself.
 *
 * @example Object.assign(context, toolCapabilities(writes))
 */
export function toolCapabilities(
  writes: WritePath,
): Pick<ToolContext, 'intents' | 'budgets' | 'preview' | 'typedData' | 'payments' | 'orders'> {
  return {
    intents: { get: writes.get, list: writes.list, cancel: writes.cancel, speedUp: writes.speedUp },
    budgets: { limits: writes.limits, guardMode: writes.guardMode },
    preview: { preview: writes.preview },
    typedData: { sign: writes.signTypedData },
    payments: { fetchWithPayment: writes.fetchWithPayment },
    orders: {
      create: writes.createOrder,
      list: writes.listOrders,
      get: writes.getOrder,
      cancel: writes.cancelOrder,
    },
  }
}
