import { z } from 'zod'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { OrderId, StandingOrderOut } from './shared/standingOrder.js'

export const CancelStandingOrderInput = z.object({ orderId: OrderId }).strict()

/**
 * Cancels one of your standing orders: it never fires again, and what its creation reserved is released. A fire
 * already under way finishes.
 * @example await client.callTool({ name: 'cancel_standing_order', arguments: { orderId } })
 */
export const cancelStandingOrder = defineTool({
  name: 'cancel_standing_order',
  title: 'Cancel a standing order',
  description: 'Cancels a standing order; it never fires again.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: CancelStandingOrderInput,
  output: StandingOrderOut,
  async run({ orderId }, ctx, request) {
    return requireCapability(ctx.orders).cancel(orderId, request.caller) as never
  },
})
