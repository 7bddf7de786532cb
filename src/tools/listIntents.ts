import { z } from 'zod'
import { ChainRef } from '../schemas/chainRef.js'
import { intentStatuses } from '../txs/intentStatus.js'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { WriteResult } from './shared/write.js'

export const ListIntentsInput = z
  .object({
    chain: ChainRef.optional(),
    status: z.enum(intentStatuses).optional(),
    limit: z.number().int().min(1).max(100).optional().describe('Default 20, max 100'),
  })
  .strict()

/**
 * The gateway wallet's intents, newest first.
 * @example await client.callTool({ name: 'list_intents', arguments: { status: 'broadcast' } })
 */
export const listIntents = defineTool({
  name: 'list_intents',
  title: 'List intents',
  description: "The gateway wallet's writes (intents), newest first.",
  annotations: { readOnlyHint: true, openWorldHint: false },
  input: ListIntentsInput,
  output: z.object({ intents: z.array(WriteResult) }),
  async run({ chain, status, limit }, ctx, request) {
    const chainId = chain === undefined ? undefined : ctx.chains.resolveAny(chain).id
    return {
      intents: await requireCapability(ctx.intents).list({ caller: request.caller, chainId, status, limit }),
    }
  },
})
