import { z } from 'zod'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { WriteResult } from './shared/write.js'

export const IntentId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an intent id as returned by a write tool')

export const GetIntentInput = z.object({ intentId: IntentId }).strict()

/**
 * One intent: status, transaction hash, receipt. In-flight intents are re-checked against the chain first.
 * @example await client.callTool({ name: 'get_intent', arguments: { intentId } })
 */
export const getIntent = defineTool({
  name: 'get_intent',
  title: 'Get an intent',
  description: 'Where a write (intent) stands.',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: GetIntentInput,
  output: WriteResult,
  async run({ intentId }, ctx, request) {
    return requireCapability(ctx.intents).get(intentId, request.caller)
  },
})
