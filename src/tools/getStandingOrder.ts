import { z } from 'zod'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { OrderId, StandingOrderOut } from './shared/standingOrder.js'

export const GetStandingOrderInput = z.object({ orderId: OrderId }).strict()

/**
 * One standing order: its state, budget, recent evaluations (armed, skipped and why, fired) and fires with their
 * intents.
 * @example await client.callTool({ name: 'get_standing_order', arguments: { orderId } })
 */
export const getStandingOrder = defineTool({
  name: 'get_standing_order',
  title: 'Get a standing order',
  description: 'A standing order: state, budget, recent evaluations and fires.',
  annotations: { readOnlyHint: true, openWorldHint: false },
  input: GetStandingOrderInput,
  output: StandingOrderOut,
  async run({ orderId }, ctx, request) {
    return requireCapability(ctx.orders).get(orderId, request.caller) as never
  },
})
