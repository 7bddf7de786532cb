import type { RequestContext } from '../../context/requestContext.js'
import type { Charge, Charging, PriceOutcome } from '../../payments/charging.js'

/** What a paid call took: settled after the tool succeeded, released when it failed. */
export type { Charge }

/**
 * Step 3: the price of this call, if the tool has one (DESIGN §9). Free: nothing. Priced and unpaid, or paid with a
 * payment that does not hold: the payment requirement, as the result (the tool does not run). Paid: the verified,
 * claimed payment, settled by the next steps only once the tool succeeded.
 *
 * @example const outcome = await price(charging, 'get_balance', ctx) // undefined: free
 */
export function price(
  charging: Charging | undefined,
  tool: string,
  ctx: RequestContext,
): Promise<PriceOutcome> | undefined {
  return charging?.begin(tool, ctx)
}
