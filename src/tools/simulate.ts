import { z } from 'zod'
import { BaseError } from '../errors/index.js'
import { inputError } from '../errors/inputError.js'
import { FormattedEffects } from '../simulate/formatEffects.js'
import { approve } from './approve.js'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import type { WriteToolDefinition } from './shared/write.js'
import { swap } from './swap.js'
import { transfer } from './transfer.js'
import { writeContract } from './writeContract.js'

const previewable = { transfer, approve, write_contract: writeContract, swap } as unknown as Record<
  string,
  WriteToolDefinition
>

export const SimulateInput = z
  .object({
    tool: z.enum(['transfer', 'approve', 'write_contract', 'swap']),
    arguments: z.record(z.string(), z.unknown()).describe("The tool's arguments"),
  })
  .strict()

export const SimulateOutput = z.object({
  chain: z.string(),
  caip2: z.string(),
  operation: z.string(),
  summary: z.string().describe("In the gateway's words"),
  details: z.record(z.string(), z.unknown()),
  from: z.string(),
  call: z.object({ to: z.string(), data: z.string(), value: z.string() }),
  simulation: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('Raw asset changes (negative = out), approvals, revert'),
  effects: FormattedEffects.nullable().describe('Display units; symbols untrusted'),
  simulationUnavailable: z.string().optional(),
  policy: z.object({
    effect: z.enum(['allow', 'deny', 'require_approval']),
    reasons: z.array(z.string()),
    ruleIds: z.array(z.string()),
    limits: z.array(
      z.object({
        limit: z.string(),
        rule: z.string(),
        needs: z.string(),
        remaining: z.string(),
        fits: z.boolean(),
      }),
    ),
  }),
})

/**
 * Previews a write: builds it as the named tool would, simulates it and asks the policy, without recording,
 * reserving, signing or sending anything.
 * @example await client.callTool({ name: 'simulate', arguments: { tool: 'transfer', arguments: { chain: 'devnet', to, amount: '1' } } })
 */
export const simulate = defineTool({
  name: 'simulate',
  title: 'Simulate a write',
  description: 'Previews a write: simulated effects and the policy decision. Signs nothing.',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: SimulateInput,
  output: SimulateOutput,
  async run({ tool, arguments: args }, ctx, request) {
    const definition = previewable[tool]
    if (!definition)
      throw new BaseError('INVALID_INPUT', `simulate cannot preview ${tool}.`, { field: 'tool' })
    const parsed = definition.input.safeParse(args)
    if (!parsed.success) {
      const error = inputError(parsed.error, Object.keys((definition.input as z.ZodObject).shape))
      throw new BaseError(error.code, error.shortMessage, {
        field: error.field ? `arguments.${error.field}` : 'arguments',
        metaMessages: error.metaMessages,
      })
    }
    return (await requireCapability(ctx.preview).preview(definition, parsed.data, request)) as z.infer<
      typeof SimulateOutput
    >
  },
})
