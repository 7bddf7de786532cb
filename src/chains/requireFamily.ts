import type { ChainContext, ChainFamily } from '../context/chain.js'
import { ChainFamilyError } from './errors.js'

/**
 * The chain, narrowed to one family, or a clear error for a tool that only makes sense on that family
 * (`read_contract`, ENS, NFTs on EVM). Every chain the registry serves today is EVM; this is the check a tool
 * makes once Solana clusters resolve too.
 *
 * @example
 * const c = requireFamily(ctx.chains.resolve(chain), 'evm', 'resolve_ens')
 * @throws {ChainFamilyError} INVALID_INPUT: the chain is of another family
 */
export function requireFamily<C extends ChainContext, F extends ChainFamily>(
  chain: C,
  family: F,
  tool?: string,
): C & { readonly family: F } {
  if (chain.family !== family)
    throw new ChainFamilyError({ chain: chain.name, family: chain.family, expected: family, tool })
  return chain as C & { readonly family: F }
}
