import { z } from 'zod'
import { defineTool } from './defineTool.js'
import { IntentId } from './getIntent.js'
import { requireCapability } from './shared/requireCapability.js'
import { WriteOptions, WriteResult } from './shared/write.js'

export const SpeedUpIntentInput = z
  .object({
    intentId: IntentId,
    feeBumpPercent: z.number().int().min(10).max(300).optional().describe('Percent, 10-300 (default 15)'),
    wait: WriteOptions.wait,
    idempotencyKey: WriteOptions.idempotencyKey,
  })
  .strict()

/**
 * Re-sends a sent-but-unmined intent's transaction with higher fees (same nonce); returns the replacement intent.
 * @example await client.callTool({ name: 'speed_up_intent', arguments: { intentId, feeBumpPercent: 25 } })
 */
export const speedUpIntent = defineTool({
  name: 'speed_up_intent',
  title: 'Speed up an intent',
  description: 'Resends an unmined transaction at higher fees, same nonce.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  input: SpeedUpIntentInput,
  output: WriteResult,
  async run({ intentId, ...options }, ctx, request) {
    return requireCapability(ctx.intents).speedUp(intentId, options, request)
  },
})
