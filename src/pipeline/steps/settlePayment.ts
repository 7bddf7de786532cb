import type { RequestContext } from '../../context/requestContext.js'
import type { ToolResult } from '../../context/tool.js'
import type { Charge, Charging } from '../../payments/charging.js'

/**
 * Step 5: settle the call's payment, only after the tool succeeded (DESIGN §9). The answer then carries
 * `_meta["x402/payment-response"]`; when settlement fails the tool's output is withheld and the payment
 * requirement is the answer. A tool that failed is not charged: its payment is released.
 *
 * @example const answer = await settlePayment(charging, charge, output, ctx)
 */
export async function settlePayment(
  charging: Charging,
  charge: Charge,
  output: ToolResult,
  ctx: RequestContext,
): Promise<ToolResult> {
  if (output.isError) {
    await charging.release(charge)
    return output
  }
  const settled = await charging.settle(charge, ctx)
  if ('result' in settled) return settled.result
  return { ...output, _meta: { ...output._meta, 'x402/payment-response': settled.response } }
}
