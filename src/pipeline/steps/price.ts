import type { RequestContext } from '../../context/requestContext.js'

/** What a paid tool costs (DESIGN §9): an amount of an asset on a network, split between payees. */
export type Price = {
  amount: string
  asset: string
  network: string
  payees: readonly { address: string; share: number }[]
}

/**
 * Step 3: the price of this call, if the tool has one. No tool carries a price until x402 charging lands, so every
 * call is free here; the step exists so a price is checked before the tool runs and settled only after it succeeded.
 *
 * @example price('get_balance', ctx) // undefined: free
 */
export function price(_tool: string, _ctx: RequestContext): Price | undefined {
  return undefined
}
