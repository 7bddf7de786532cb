import type { Caller } from '../../context/caller.js'
import type { RequestContext } from '../../context/requestContext.js'
import { BaseError } from '../../errors/index.js'

/**
 * Step 2: who is calling. The transport edge puts what it knows into the request context (the local operator on
 * stdio and on loopback HTTP); passports (DESIGN §7) will verify an agent here. Fails closed: a caller kind this
 * gateway cannot verify yet is refused, never treated as the operator.
 *
 * @example identify(requestContext({ transport: 'stdio' })) // { kind: 'operator', id: 'local' }
 */
export function identify(ctx: RequestContext): Caller {
  if (ctx.caller.kind === 'operator' || (ctx.caller.kind === 'order' && ctx.transport === 'internal'))
    return ctx.caller
  throw new BaseError('UNAUTHORIZED', 'This gateway cannot verify agent passports yet.', {
    metaMessages: ['Call it as the local operator (stdio, or HTTP on loopback without credentials).'],
  })
}
