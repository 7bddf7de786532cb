import type { Address } from 'viem'
import type { ChainContext } from '../context/chain.js'
import { InvalidAddressError } from '../errors/index.js'

/**
 * An address (already checked by `ChainAddress`) that must belong to the chain's family: an EVM address on a
 * Solana cluster, or a Solana address on an EVM chain, is refused with both named (ADVERSARIAL 59).
 *
 * @example addressOnChain(chains.resolveAny('solana-local'), '0xd8dA…', 'to') // throws INVALID_ADDRESS
 */
export function addressOnChain<C extends ChainContext>(
  chain: C,
  address: string,
  field: string,
): C['family'] extends 'evm' ? Address : string {
  const evm = address.startsWith('0x')
  if (chain.family === 'solana' && evm)
    throw new InvalidAddressError({
      reason: `"${field}" is an EVM address, and ${chain.name} is a Solana chain (base58 addresses)`,
      field,
      family: 'solana',
    })
  if (chain.family === 'evm' && !evm)
    throw new InvalidAddressError({
      reason: `"${field}" is a Solana address, and ${chain.name} is an EVM chain (0x addresses)`,
      field,
    })
  return address as C['family'] extends 'evm' ? Address : string
}
