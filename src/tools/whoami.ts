import { z } from 'zod'
import { actorOf } from '../context/caller.js'
import { defineTool } from './defineTool.js'

export const WhoamiInput = z.object({}).strict()

const Usd = z.string().describe('USD, display units')

export const WhoamiOutput = z.object({
  kind: z.enum(['operator', 'agent', 'order']),
  id: z.string().describe('The operator ("local"), the agent’s did:key, or the order id'),
  actor: z.string().describe('How intents and the audit log name this caller'),
  transport: z.string(),
  passport: z
    .object({
      id: z.string().optional(),
      developer: z.string().optional(),
      user: z.string().optional().describe('The wallet that signed the grant'),
      codeHash: z.string().optional(),
    })
    .optional(),
  scopes: z
    .object({
      tools: z.array(z.string()),
      chains: z.array(z.string()).describe('CAIP-2'),
      payees: z.array(z.string()).describe('Empty: any payee the operator’s policy allows'),
      amountRange: z.object({ min: Usd, max: Usd }),
      expiresAt: z.string(),
    })
    .optional()
    .describe('What the user’s grant allows; the operator’s policy still applies within it'),
  budget: z
    .object({ max: Usd, used: Usd, remaining: Usd, window: z.string() })
    .optional()
    .describe('The grant’s budget, per agent, over a rolling window'),
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
  description: 'Your identity to the gateway: operator or agent passport, granted scopes, remaining budget.',
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
  input: WhoamiInput,
  output: WhoamiOutput,
  async run(_input, ctx, request) {
    const caller = request.caller
    const base = { kind: caller.kind, id: caller.id, actor: actorOf(caller), transport: request.transport }
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
