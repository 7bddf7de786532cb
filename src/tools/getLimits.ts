import { z } from 'zod'
import { withBudgetAssetIds } from '../policy/limits.js'
import { Budget } from '../schemas/budget.js'
import { ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'

export const GetLimitsInput = z.object({ chain: ChainRef }).strict()

/** Where a chain stands with the on-chain guard (shared with list_chains). */
export const GuardModeOutput = z
  .object({
    mode: z.enum(['enforced', 'off', 'foreign', 'unknown']),
    address: z.string().describe('The guard contract (same address on every chain)'),
    description: z.string(),
  })
  .describe('"enforced": a write that would move more than was checked reverts on chain')

export const GetLimitsOutput = z.object({
  chain: z.string(),
  caip2: z.string(),
  wallet: z.string(),
  policyHash: z.string().describe('"none": no policy, reads only'),
  killSwitch: z.enum(['engaged', 'off', 'unknown']),
  stoppedContracts: z
    .array(z.object({ address: z.string(), since: z.string() }))
    .optional()
    .describe('Contracts writes may not touch until the operator releases them'),
  guard: GuardModeOutput,
  limits: z.array(Budget),
  perWrite: z
    .array(
      z.object({
        rule: z.string(),
        operations: z.array(z.string()),
        field: z.enum(['match.amount', 'match.value', 'match.simulation.outflowUsd']),
        tokens: z.array(z.string()).optional().describe('Token addresses or "native"'),
        bounds: z.object({
          lte: z.string().optional(),
          lt: z.string().optional(),
          gte: z.string().optional(),
          gt: z.string().optional(),
        }),
        limits: z.array(z.string()).describe('Windowed limits of the same rule'),
        description: z.string(),
      }),
    )
    .describe('Caps on one write; a write over every applicable cap is denied'),
})

/**
 * The agent's budgets on a chain: every limit of the policy in force, with what is used and what is left in its
 * window, and the per-write caps of the allow rules (what one transfer may move).
 * @example await client.callTool({ name: 'get_limits', arguments: { chain: 'devnet' } })
 */
export const getLimits = defineTool({
  name: 'get_limits',
  title: 'Spend limits',
  description: 'Your budgets on a chain (used, remaining), per-write caps, kill switch, on-chain guard.',
  annotations: { readOnlyHint: true, openWorldHint: false },
  input: GetLimitsInput,
  output: GetLimitsOutput,
  async run({ chain }, ctx) {
    const out = await requireCapability(ctx.budgets).limits(chain)
    // Each outflow budget also names its asset by CAIP-19 id.
    return { ...out, limits: withBudgetAssetIds(ctx.chains.resolve(chain), out.limits) }
  },
})
