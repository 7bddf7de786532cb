import { z } from 'zod'
import { ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'
import { requireWrites } from './shared/requireWrites.js'

export const GetLimitsInput = z.object({ chain: ChainRef }).strict()

export const GetLimitsOutput = z.object({
  chain: z.string(),
  caip2: z.string(),
  wallet: z.string(),
  policyHash: z.string().describe('Version of the policy in force ("none": no policy, reads only).'),
  killSwitch: z.enum(['engaged', 'off', 'unknown']),
  limits: z.array(
    z.object({
      limit: z.string(),
      rule: z.string(),
      metric: z.enum(['outflow', 'outflowUsd', 'count']),
      token: z.string().optional().describe('Token address, or "native".'),
      window: z.string(),
      max: z.string(),
      used: z.string(),
      remaining: z.string(),
    }),
  ),
  perWrite: z
    .array(
      z.object({
        rule: z.string(),
        operations: z.array(z.string()),
        field: z.enum(['match.amount', 'match.value', 'match.simulation.outflowUsd']),
        tokens: z
          .array(z.string())
          .optional()
          .describe('Token addresses (or "native") the amount is counted in.'),
        bounds: z.object({
          lte: z.string().optional(),
          lt: z.string().optional(),
          gte: z.string().optional(),
          gt: z.string().optional(),
        }),
        limits: z.array(z.string()).describe('The windowed limits of the same rule, which apply as well.'),
        description: z.string(),
      }),
    )
    .describe(
      'Caps on a single write (amount, native value, USD worth) of the allow rules that can apply on this chain. A write over every applicable cap is denied whatever the windows have left.',
    ),
})

/**
 * The agent's budgets on a chain: every limit of the policy in force, with what is used and what is left in its
 * window, and the per-write caps of the allow rules (what one transfer may move).
 * @example await client.callTool({ name: 'get_limits', arguments: { chain: 'devnet' } })
 */
export const getLimits = defineTool({
  name: 'get_limits',
  title: 'Get spend limits',
  description:
    'Your spend budgets on a chain under the operator’s policy: each limit with its window, maximum, used and remaining amounts (reserved in-flight writes count), and the caps on a single write (per-transfer amounts, USD worth). Also says whether the kill switch is engaged.',
  annotations: { readOnlyHint: true, openWorldHint: false },
  input: GetLimitsInput,
  output: GetLimitsOutput,
  async run({ chain }, ctx) {
    return requireWrites(ctx).limits(chain)
  },
})
