import { z } from 'zod'

/**
 * One spend budget as get_limits shows it: a windowed limit of an allow rule, amounts in display units (USD for
 * `outflowUsd`). The one definition of the shape: the guard builds it, the write path returns it, the tool
 * declares it.
 */
export const Budget = z.object({
  limit: z.string(),
  rule: z.string(),
  metric: z.enum(['outflow', 'outflowUsd', 'count']),
  token: z.string().optional().describe('Token address or "native"'),
  assetId: z.string().optional().describe('CAIP-19 id of that asset'),
  window: z.string(),
  max: z.string(),
  used: z.string(),
  remaining: z.string(),
})

/** A {@link Budget} value. */
export type BudgetValue = z.infer<typeof Budget>
