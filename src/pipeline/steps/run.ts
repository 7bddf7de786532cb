import type { RequestContext } from '../../context/requestContext.js'
import { BaseError } from '../../errors/index.js'
import type { ToolContext } from '../../tools/context.js'
import type { ToolDefinition } from '../../tools/defineTool.js'
import type { WriteToolDefinition } from '../../tools/shared/write.js'
import type { WritePath } from '../write.js'

/**
 * Step 4: run the tool. A read answers from its handler; a write tool only builds a draft, which the write path
 * carries through journal, simulation, policy, approval, kill switch, signer, broadcast, tracking and settlement.
 *
 * @example await runTool(getBalance, input, tools, writes, ctx)
 */
export function runTool(
  tool: ToolDefinition | WriteToolDefinition,
  input: Record<string, unknown>,
  context: ToolContext,
  writes: WritePath | undefined,
  ctx: RequestContext,
): Promise<unknown> {
  if (!('kind' in tool)) return tool.run(input, context, ctx)
  if (!writes)
    throw new BaseError('WALLET_NOT_CONFIGURED', 'This gateway has no write path (no wallet or no store).', {
      metaMessages: ['Start it with a wallet (see the README, "Wallets and writes"), or on the devnet.'],
    })
  return writes.execute(tool, input, ctx)
}
