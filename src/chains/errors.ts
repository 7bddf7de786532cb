import { BaseError } from '../errors/index.js'

/** Registry names of the Solana clusters (DESIGN §3): known names, not served until the Solana issue lands. */
export const solanaChainNames: readonly string[] = ['solana', 'solana-devnet', 'solana-local']

/**
 * The chain reference names a Solana cluster (`solana`, `solana-devnet`, `solana-local`, or CAIP-2 `solana:…`).
 * Solana is a known family, but this gateway does not serve it yet: it lands with its own adapter later.
 */
export class ChainNotServedError extends BaseError {
  override name = 'ChainNotServedError'
  constructor({ chain, field }: { chain: string; field?: string | undefined }) {
    super('CHAIN_NOT_FOUND', `Chain "${chain}" is a Solana cluster, and Solana is not served yet.`, {
      ...(field === undefined ? {} : { field }),
      metaMessages: [
        'Solana support lands in a later release, under the same tools; this gateway serves EVM chains today.',
        'Call list_chains to see the chains this gateway serves.',
      ],
    })
  }
}

/** Every endpoint of a Solana cluster reported another cluster's genesis hash (ADVERSARIAL 60): none is used. */
export class ClusterMismatchError extends BaseError {
  override name = 'ClusterMismatchError'
  constructor({ chain, details }: { chain: string; details: string }) {
    super('CHAIN_ID_MISMATCH', `Every endpoint of "${chain}" serves another Solana cluster: ${details}.`, {
      metaMessages: [
        `Fix the endpoint URLs for ${chain}; an endpoint whose genesis hash differs is never used.`,
      ],
    })
  }
}

/** A tool that only makes sense on one chain family was given a chain of another (DESIGN §8). */
export class ChainFamilyError extends BaseError {
  override name = 'ChainFamilyError'
  constructor({
    chain,
    family,
    expected,
    tool,
  }: {
    chain: string
    family: string
    expected: string
    tool?: string | undefined
  }) {
    const what = tool ? `${tool} works` : 'This works'
    super(
      'INVALID_INPUT',
      `${what} only on ${familyName(expected)} chains; "${chain}" is a ${familyName(family)} chain.`,
      {
        field: 'chain',
        metaMessages: [`Pass an ${familyName(expected)} chain; list_chains shows each chain's family.`],
      },
    )
  }
}

function familyName(family: string): string {
  return family === 'evm' ? 'EVM' : family === 'solana' ? 'Solana' : family
}
