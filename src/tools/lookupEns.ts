import { z } from 'zod'
import { toBaseError } from '../errors/index.js'
import { EvmAddress } from '../schemas/address.js'
import { UntrustedText, untrustedText } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'
import { EnsChainInput, ensChain } from './shared/ensName.js'

export const LookupEnsInput = z.object({ address: EvmAddress, chain: EnsChainInput }).strict()

export const LookupEnsOutput = z.object({
  chain: z.string(),
  caip2: z.string(),
  address: z.string(),
  name: UntrustedText.nullable().describe('Untrusted; null unless it resolves back'),
  verified: z.boolean().describe('Resolves back to the address'),
})

/**
 * Reverse lookup: the primary ENS name of an address, forward-verified.
 * @example await client.callTool({ name: 'lookup_ens', arguments: { address } })
 */
export const lookupEns = defineTool({
  name: 'lookup_ens',
  title: 'Look up ENS name',
  description: 'Primary ENS name of an address, if it resolves back.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: LookupEnsInput,
  output: LookupEnsOutput,
  async run({ address, chain }, ctx) {
    const c = ensChain(chain, ctx)
    const base = { chain: c.name, caip2: c.caip2, address }
    const name = await c.ensClient.getEnsName({ address }).catch((error: unknown) => {
      // The Universal Resolver reverts on a reverse record that does not resolve back: treat as no name.
      if (toBaseError(error).code === 'CONTRACT_REVERTED') return null
      throw error
    })
    if (!name) return { ...base, name: null, verified: false }
    const forward = await c.ensClient.getEnsAddress({ name }).catch(() => null)
    if (forward !== address) return { ...base, name: null, verified: false }
    return { ...base, name: untrustedText(name, { maxLength: 255 }), verified: true }
  },
})
