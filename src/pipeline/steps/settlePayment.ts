import type { RequestContext } from '../../context/requestContext.js'
import type { ToolResult } from '../../context/tool.js'
import type { Charge, Charging } from '../../payments/charging.js'

/**
 * Step 5: settle the call's payment, once the tool succeeded (DESIGN §9; a tool that failed is not charged: the
 * pipeline releases its payment). The answer then carries `_meta["x402/payment-response"]`; when settlement fails
 * the tool's output is withheld and the payment requirement is the answer.
 *
 * @example const answer = await settlePayment(charging, charge, output, ctx)
 */
export async function settlePayment(
  charging: Charging,
  charge: Charge,
  output: ToolResult,
  ctx: RequestContext,
): Promise<ToolResult> {
  const settled = await charging.settle(charge, ctx)
  if ('result' in settled) return settled.result
  return { ...output, _meta: { ...output._meta, 'x402/payment-response': settled.response } }
}
