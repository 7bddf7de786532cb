import { formatUnits } from 'viem'
import { localOperator } from '../../context/caller.js'
import type { PreparedDraft } from '../../context/draft.js'
import { type JsonObject, toJson } from '../../context/json.js'
import { BaseError } from '../../errors/index.js'
import { type Orders, orderIdOf } from '../../orders/orders.js'
import type { OrderSpec } from '../../orders/spec.js'
import type { WriteResultValue } from '../../tools/shared/write.js'
import { refuse, type WriteDraftKind, type WriteEnvironment } from '../executor.js'
import type { IntentQueries } from '../intents.js'
import type { WriteParts } from '../writeParts.js'

/** A resolved order request (src/orders/orders.ts `resolve`) on its way to the policy. */
export type OrderDraftRequest = { spec: OrderSpec }

/** The answer of create_standing_order: the creation intent, and the order it makes. */
export type OrderAnswer = WriteResultValue & { orderId: string; orderStatus?: string | undefined }

/**
 * The standing-order draft kind (DESIGN §10): operation `standing_order`. Creating an order is itself a guarded
 * write: the policy sees the order's chain and its whole budget as the outflow (rules and limits in USD apply; a
 * limit reserves the budget for as long as the order lives), may hold it for a human, and the approval is bound to
 * the order exactly as resolved. Delivery signs nothing: it records the order as active, for the caller who asked.
 *
 * @example executor.execute(createStandingOrderKind(parts, intents, orders), { spec }, { idempotencyKey }, ctx)
 */
export function createStandingOrderKind(
  parts: WriteParts,
  intents: IntentQueries,
  orders: Orders,
): WriteDraftKind<OrderDraftRequest> {
  const { context, journal } = parts

  function draftOf(spec: OrderSpec): PreparedDraft<WriteEnvironment> {
    const chain = context.chains.resolve(spec.chainId)
    const t = spec.trigger
    const when =
      t.kind === 'move'
        ? `when ${t.pair} moves more than ${t.thresholdBps / 100} %`
        : t.kind === 'cross'
          ? `when ${t.pair} goes ${t.direction} the level`
          : `every ${t.seconds} s`
    const a = spec.action
    const what =
      a.kind === 'rebalance'
        ? `rebalance ${a.weights.map((w) => `${w.token.symbol} ${w.bps / 100} %`).join(' / ')}`
        : a.kind === 'swap'
          ? `swap ${formatUnits(BigInt(a.amountIn), a.tokenIn.decimals)} ${a.tokenIn.symbol} for ${a.tokenOut.symbol}`
          : `transfer ${formatUnits(BigInt(a.amount), a.token.decimals)} ${a.token.symbol} to ${a.to}`
    const budget = formatUnits(BigInt(spec.budget), 6)
    return {
      chain,
      summary: `Standing order on ${chain.name}: ${what} ${when}, spending at most $${budget}, until ${new Date(spec.expiresAt * 1000).toISOString()}.`,
      details: { budgetUsd: budget, spec: toJson(spec) },
      check: {
        operation: 'standing_order',
        details: { budgetMicroUsd: spec.budget },
        // Nothing moves when an order is created: the budget is what the policy weighs (see buildFacts).
        simulation: {
          method: 'typed-data',
          blockNumber: 0n,
          reverted: false,
          gasUsed: 0n,
          deltas: [],
          approvals: [],
          flags: ['standing-order'],
        },
        typedData: true,
      },
      bound: { typedData: toJson(spec) },
    }
  }

  return {
    name: 'standing-order',
    recheckOnResume: true,
    carries(intent) {
      return intent.operation === 'standing_order'
    },
    identify(request) {
      return {
        chain: context.chains.resolve(request.spec.chainId),
        operation: 'standing_order',
        record: toJson({ tool: 'create_standing_order', spec: request.spec }),
      }
    },
    guarded() {
      return true
    },
    async prepare(request) {
      return draftOf(request.spec)
    },
    async restore(intent) {
      const spec = ((intent.tx ?? {}) as { details?: { spec?: OrderSpec } }).details?.spec
      if (!spec) throw new BaseError('INTERNAL', 'The held order lost its terms.')
      return draftOf(spec)
    },
    ready() {},
    async deliver(intent, prepared) {
      try {
        const spec = (prepared.details as { spec: OrderSpec }).spec
        await orders.activate(intent.id, intent.caller ?? localOperator, spec, Math.floor(Date.now() / 1000))
        try {
          const done = await journal.transition(intent.id, 'created', 'completed', {
            tx: toJson<JsonObject>({ summary: prepared.summary, details: prepared.details }),
            detail: { order: orderIdOf(intent.id) },
          })
          return { intent: done }
        } catch (error) {
          // The intent did not complete: the order it made must not live on without it.
          await orders.orders.setStatus(orderIdOf(intent.id), 'cancelled', 'its creation did not complete', [
            'active',
          ])
          throw error
        }
      } catch (error) {
        const current = await journal.get(intent.id)
        if (current.status !== 'created') throw error
        throw await refuse(parts, current, error)
      }
    },
    async answer(intent) {
      const described = await intents.describe(intent)
      const order = await orders.orders.get(orderIdOf(intent.id))
      const { spec: _spec, ...details } = described.details
      return {
        ...described,
        details,
        orderId: orderIdOf(intent.id),
        ...(order ? { orderStatus: order.status } : {}),
      } as OrderAnswer
    },
  }
}
