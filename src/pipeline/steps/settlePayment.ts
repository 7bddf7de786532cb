import type { RequestContext } from '../../context/requestContext.js'
import type { Price } from './price.js'

/**
 * Step 5: settle the call's payment, only after the tool succeeded (DESIGN §9). With no price there is nothing to
 * settle; x402 charging fills this in and withholds the output when settlement fails.
 *
 * @example await settlePayment(undefined, ctx) // nothing to do
 */
export async function settlePayment(charge: Price | undefined, _ctx: RequestContext): Promise<void> {
  if (charge === undefined) return
  throw new Error('Paid tools are not supported yet.')
}
