import type { Caller, GrantScope } from '../../context/caller.js'
import type { RequestContext } from '../../context/requestContext.js'
import { BaseError } from '../../errors/index.js'

/** Tools an agent may always call, whatever its grant: they tell it about itself and touch no chain. */
const alwaysAllowed = new Set(['whoami'])

/**
 * Step 2: who is calling, and may it call this. The transport edge put the caller into the request context (the
 * local operator on stdio and on loopback HTTP without credentials; an agent whose passport, token and request
 * signature it verified). An agent is held to its user's grant here, before the tool runs: the tool must be one
 * the grant names, and every chain the call names must be one of its chains (DESIGN §7). Fails closed: a caller
 * kind that cannot be verified is refused, never treated as the operator.
 *
 * @example identify(requestContext({ transport: 'stdio' }), 'get_balance', input, caip2Of) // the local operator
 * @throws {BaseError} UNAUTHORIZED: a caller it cannot verify; FORBIDDEN: outside the agent's grant
 */
export function identify(
  ctx: RequestContext,
  tool: string,
  input: Record<string, unknown>,
  /** The CAIP-2 id of a chain reference, or undefined when it names no known chain (the tool then says so). */
  caip2Of: (ref: string | number) => string | undefined,
): Caller {
  const caller = ctx.caller
  if (caller.kind === 'operator' || (caller.kind === 'order' && ctx.transport === 'internal')) return caller
  if (caller.kind !== 'agent')
    throw new BaseError('UNAUTHORIZED', 'This caller cannot be verified.', {
      metaMessages: ['Call as the local operator (stdio, or loopback HTTP), or as an agent with a passport.'],
    })
  if (alwaysAllowed.has(tool)) return caller
  const grant = caller.grant
  if (!grant)
    throw new BaseError('FORBIDDEN', 'This agent holds no grant from a user, so it may call only whoami.', {
      metaMessages: [
        'Its user signs a grant (`airlock passport grant`) and the operator issues a passport with it.',
      ],
    })
  if (Date.now() >= grant.expiry * 1000)
    throw new BaseError(
      'FORBIDDEN',
      `The user's grant to this agent expired at ${new Date(grant.expiry * 1000).toISOString()}.`,
      {
        metaMessages: ['Its user signs a new grant and the operator issues a new passport.'],
      },
    )
  if (!grant.tools.includes(tool))
    throw new BaseError('FORBIDDEN', `The user's grant does not let this agent call ${tool}.`, {
      metaMessages: [`It allows: ${shortList(grant.tools)}. Call whoami for the agent's scopes.`],
    })
  for (const ref of chainRefs(input)) {
    const caip2 = caip2Of(ref)
    if (caip2 !== undefined && !grant.chains.includes(caip2))
      throw new BaseError(
        'FORBIDDEN',
        `The user's grant does not let this agent use chain ${String(ref).slice(0, 40)} (${caip2}).`,
        {
          field: 'chain',
          metaMessages: [`It allows: ${shortList(grant.chains)}.`],
        },
      )
  }
  return caller
}

/** The chains a tool call names: `chain`, and each of `chains`. */
function chainRefs(input: Record<string, unknown>): (string | number)[] {
  const refs: (string | number)[] = []
  const one = (v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number') refs.push(v)
  }
  one(input.chain)
  if (Array.isArray(input.chains)) for (const c of input.chains) one(c)
  return refs
}

function shortList(items: GrantScope['tools']): string {
  return items.length > 12
    ? `${items.slice(0, 12).join(', ')} and ${items.length - 12} more`
    : items.join(', ')
}
