import { z } from 'zod'
import { defineTool } from './defineTool.js'
import { IntentId } from './getIntent.js'
import { requireCapability } from './shared/requireCapability.js'
import { WriteOptions, WriteResult } from './shared/write.js'

export const CancelIntentInput = z
  .object({ intentId: IntentId, wait: WriteOptions.wait, idempotencyKey: WriteOptions.idempotencyKey })
  .strict()

/**
 * Cancels an intent: before signing it is withdrawn; once sent, a 0-value self-transfer with the same nonce and
 * higher fees replaces it.
 * @example await client.callTool({ name: 'cancel_intent', arguments: { intentId } })
 */
export const cancelIntent = defineTool({
  name: 'cancel_intent',
  title: 'Cancel an intent',
  description: 'Cancels an intent; a sent, unmined one is replaced by a 0-value self-transfer (returned).',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: CancelIntentInput,
  output: WriteResult,
  async run({ intentId, ...options }, ctx, request) {
    return requireCapability(ctx.intents).cancel(intentId, options, request)
  },
})
