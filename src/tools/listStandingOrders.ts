import { z } from 'zod'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { StandingOrderOut } from './shared/standingOrder.js'

export const ListStandingOrdersInput = z
  .object({
    status: z.enum(['active', 'paused', 'cancelled', 'expired']).optional(),
    limit: z.number().int().min(1).max(100).optional(),
  })
  .strict()

/**
 * The caller's standing orders, newest first (the operator sees every one).
 * @example await client.callTool({ name: 'list_standing_orders', arguments: { status: 'active' } })
 */
export const listStandingOrders = defineTool({
  name: 'list_standing_orders',
  title: 'List standing orders',
  description: 'Your standing orders, newest first.',
  annotations: { readOnlyHint: true, openWorldHint: false },
  input: ListStandingOrdersInput,
  output: z.object({ orders: z.array(StandingOrderOut) }),
  async run(input, ctx, request) {
    return { orders: await requireCapability(ctx.orders).list(request.caller, input) } as never
  },
})
