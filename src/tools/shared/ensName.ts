import { normalize } from 'viem/ens'
import { z } from 'zod'
import type { ChainContext } from '../../chains/chains.js'
import { InvalidInputError } from '../../errors/index.js'
import { ChainRef } from '../../schemas/chainRef.js'
import { describeHiddenCharacter, findHiddenCharacter } from '../../untrusted/rejectHiddenCharacters.js'
import type { ToolContext } from '../context.js'

/** An ENS name as input: no invisible characters, normalized (ENSIP-15) by the tool. */
export const EnsNameInput = z
  .string()
  .min(3)
  .max(255)
  .superRefine((v, ctx) => {
    if (v.length > 255) return // refused by max(); not worth scanning
    const hidden = findHiddenCharacter(v)
    if (hidden)
      ctx.addIssue({
        code: 'custom',
        message: `it contains ${describeHiddenCharacter(hidden)}; retype the name`,
      })
    else if (!v.includes('.'))
      ctx.addIssue({ code: 'custom', message: 'an ENS name has a dot, like "alice.eth"' })
  })

/** Optional chain of the ENS registry (default: ethereum, or the devnet in demo mode). */
export const EnsChainInput = ChainRef.optional().describe('ENS registry chain (default ethereum)')

/**
 * ENSIP-15 normalization with a clear error.
 * @example normalizeName('Alice.eth') // 'alice.eth'
 * @throws {InvalidInputError} the name is not valid ENS
 */
export function normalizeName(name: string, field = 'name'): string {
  try {
    return normalize(name)
  } catch (error) {
    throw new InvalidInputError(`"${name.slice(0, 80)}" is not a valid ENS name.`, {
      field,
      details: (error as Error).message.split('\n')[0],
      metaMessages: ['ENS names are lowercase labels separated by dots, like "alice.eth".'],
    })
  }
}

/** The chain whose ENS deployment to use; it must have a Universal Resolver. */
export function ensChain(ref: string | number | undefined, ctx: ToolContext): ChainContext {
  const c = ctx.chains.resolve(ref ?? ctx.ensChain)
  if (!c.chain.contracts?.ensUniversalResolver)
    throw new InvalidInputError(`Chain ${c.name} has no ENS deployment known to the gateway.`, {
      field: 'chain',
      metaMessages: [`Use chain "${ctx.ensChain}" (or leave it out).`],
    })
  return c
}
