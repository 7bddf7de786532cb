import { z } from 'zod'
import { OrderInput } from '../orders/spec.js'
import { ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { WriteOptions, WriteResult } from './shared/write.js'

export const CreateStandingOrderInput = z
  .object({ chain: ChainRef, ...OrderInput, idempotencyKey: WriteOptions.idempotencyKey })
  .strict()

/**
 * Creates a standing order (DESIGN §10): a trigger (a pair moving more than a percent from its reference, crossing
 * a level, or an interval), an action (rebalance to weights, a swap, a transfer) and guards. Creating it is a
 * guarded write (operation `standing_order`, its budget weighed by the policy); its fires run through the whole
 * pipeline as this caller, with no model in the loop.
 * @example await client.callTool({ name: 'create_standing_order', arguments: { chain: 'devnet', trigger: { kind: 'move', pair: 'ETH/BTC', percent: '0.5' }, action: { kind: 'rebalance', weights: [{ token: 'WETH', percent: '50' }, { token: 'WBTC', percent: '50' }] }, budgetUsd: '1000' } })
 */
export const createStandingOrder = defineTool({
  name: 'create_standing_order',
  title: 'Create a standing order',
  description: 'Order that fires by itself under policy; tokens by symbol or address.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: CreateStandingOrderInput,
  output: WriteResult.extend({ orderId: z.string(), orderStatus: z.string().optional() }),
  async run(input, ctx, request) {
    return requireCapability(ctx.orders).create(input, request) as never
  },
})
