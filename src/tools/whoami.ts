import { z } from 'zod'
import { actorOf } from '../context/caller.js'
import { defineTool } from './defineTool.js'

export const WhoamiInput = z.object({}).strict()

export const WhoamiOutput = z.object({
  kind: z.enum(['operator', 'agent', 'order']),
  id: z.string(),
  actor: z.string(),
  passport: z
    .object({
      id: z.string().optional(),
      developer: z.string().optional(),
      user: z.string().optional(),
      codeHash: z.string().optional(),
    })
    .optional(),
  scopes: z
    .object({
      tools: z.array(z.string()),
      chains: z.array(z.string()),
      payees: z.array(z.string()),
      amountRange: z.object({ min: z.string(), max: z.string() }),
      expiresAt: z.string(),
    })
    .optional(),
  budget: z
    .object({ max: z.string(), used: z.string(), remaining: z.string(), window: z.string() })
    .optional(),
  note: z.string(),
})

/**
 * Who the gateway takes the caller to be: the local operator, or an agent with its passport (developer, user, code
 * hash), the scopes its user granted and what is left of its budget.
 *
 * @example await client.callTool({ name: 'whoami', arguments: {} })
 */
export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description: 'You to the gateway: operator, or agent with its scopes and USD budget left.',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
  input: WhoamiInput,
  output: WhoamiOutput,
  async run(_input, ctx, request) {
    const caller = request.caller
    const base = { kind: caller.kind, id: caller.id, actor: actorOf(caller) }
    if (caller.kind !== 'agent')
      return {
        ...base,
        note:
          caller.kind === 'operator'
            ? 'The local operator: every tool, within the operator’s policy.'
            : 'A standing order, acting for the agent that created it.',
      }
    const grant = caller.grant
    const budget = grant && ctx.identity ? await ctx.identity.budget(caller.id, grant) : undefined
    return {
      ...base,
      passport: {
        ...(caller.passport ? { id: caller.passport } : {}),
        ...(caller.developer ? { developer: caller.developer } : {}),
        ...(caller.user ? { user: caller.user } : {}),
        ...(caller.codeHash ? { codeHash: caller.codeHash } : {}),
      },
      ...(grant
        ? {
            scopes: {
              tools: [...grant.tools],
              chains: [...grant.chains],
              payees: [...grant.payees],
              amountRange: { min: grant.amountRange.min, max: grant.amountRange.max },
              expiresAt: new Date(grant.expiry * 1000).toISOString(),
            },
          }
        : {}),
      ...(budget ? { budget } : {}),
      note: grant
        ? 'An agent with a passport: only the tools and chains above, and writes within the operator’s policy, the payees, the per-write range and the budget.'
        : 'An agent with a passport but no grant: only whoami.',
    }
  },
})
