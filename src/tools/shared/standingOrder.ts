import { z } from 'zod'

/** A standing order's id as create_standing_order returns it. */
export const OrderId = z
  .string()
  .regex(/^ord_[A-Za-z0-9_-]{1,64}$/, 'an order id as create_standing_order returns it')

/** A standing order as the order tools show it (the fields are listed in the README). */
export const StandingOrderOut = z
  .object({
    orderId: z.string(),
    status: z.enum(['active', 'paused', 'cancelled', 'expired']),
    statusReason: z.string().optional(),
    chain: z.string(),
  })
  .catchall(z.unknown())
