import { z } from 'zod'
import { NotFoundError } from '../errors/index.js'
import { UntrustedText, untrustedText } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'
import { EnsChainInput, EnsNameInput, ensChain, normalizeName } from './shared/ensName.js'

export const ResolveEnsInput = z.object({ name: EnsNameInput, chain: EnsChainInput }).strict()

export const ResolveEnsOutput = z.object({
  chain: z.string(),
  caip2: z.string(),
  name: z.string().describe('Normalized'),
  address: z.string(),
  avatar: UntrustedText.nullable().describe('Raw record, untrusted'),
})

/**
 * Forward-resolves an ENS name to an address.
 * @example await client.callTool({ name: 'resolve_ens', arguments: { name: 'alice.eth' } })
 * @throws {NotFoundError} the name has no address record
 */
export const resolveEns = defineTool({
  name: 'resolve_ens',
  title: 'Resolve ENS name',
  description: 'Address and avatar record of an ENS name.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: ResolveEnsInput,
  output: ResolveEnsOutput,
  async run({ name, chain }, ctx) {
    const c = ensChain(chain, ctx)
    const normalized = normalizeName(name)
    const [address, avatar] = await Promise.all([
      c.ensClient.getEnsAddress({ name: normalized }),
      c.ensClient.getEnsText({ name: normalized, key: 'avatar' }).catch(() => null),
    ])
    if (!address)
      throw new NotFoundError(`The ENS name ${normalized} has no address record on ${c.name}.`, {
        field: 'name',
        metaMessages: ['Check the spelling; the name may be unregistered or expired.'],
      })
    return {
      chain: c.name,
      caip2: c.caip2,
      name: normalized,
      address,
      avatar: avatar ? untrustedText(avatar, { maxLength: 512 }) : null,
    }
  },
})
