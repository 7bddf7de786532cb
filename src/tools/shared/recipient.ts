import { type Address, zeroAddress } from 'viem'
import { z } from 'zod'
import { BaseError, InvalidAddressError, NotFoundError } from '../../errors/index.js'
import { addressProblem, EvmAddress } from '../../schemas/address.js'
import { solanaAddressProblem } from '../../schemas/solanaAddress.js'
import { describeHiddenCharacter, findHiddenCharacter } from '../../untrusted/rejectHiddenCharacters.js'
import { ensAddress, ensChain, normalizeName } from './ensName.js'
import type { WriteContext } from './write.js'

/** A recipient: an address, or an ENS name (resolved by the gateway and shown with the address it resolved to). */
export const RecipientInput = z
  .string()
  .min(3)
  .max(255)
  .superRefine((v, ctx) => {
    if (v.length > 255) return // refused by max(); not worth scanning
    const hidden = findHiddenCharacter(v)
    if (hidden)
      ctx.addIssue({
        code: 'custom',
        message: `it contains ${describeHiddenCharacter(hidden)}; retype it`,
        params: { airlock: 'INVALID_ADDRESS' },
      })
    else if (!v.includes('.')) {
      // A Solana address on a Solana cluster; the tool checks it belongs to the chain's family.
      const problem =
        v.startsWith('0x') || /^[0-9a-fA-F]{40}$/.test(v) ? addressProblem(v) : solanaAddressProblem(v)
      if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { airlock: 'INVALID_ADDRESS' } })
    }
  })
  .describe('Address (0x…, or base58 on Solana) or ENS name')

/**
 * Resolves a recipient to an address and refuses the recipients that are always a mistake (ADVERSARIAL 4):
 * the zero address, the gateway's own wallet, and the token contract itself. A name's address is reused for
 * `ensCacheTtlMs` (30 s).
 *
 * @example const { address, ens } = await resolveRecipient('alice.eth', ctx, { token })
 * @throws {BaseError} POLICY_DENIED for a refused recipient; NOT_FOUND for a name without an address
 */
export async function resolveRecipient(
  value: string,
  ctx: WriteContext,
  guard: { token?: Address | undefined; field?: string },
): Promise<{ address: Address; ens: string | null }> {
  const field = guard.field ?? 'to'
  let address: Address
  let ens: string | null = null
  if (value.includes('.')) {
    ens = normalizeName(value, field)
    const c = ensChain(undefined, ctx)
    // Reused for a short time (see ensCacheTtlMs): the address is shown and checked like a fresh answer.
    const resolved = await ensAddress(c.ensClient, ens)
    if (!resolved)
      throw new NotFoundError(`The ENS name ${ens} has no address record on ${c.name}.`, {
        field,
        metaMessages: ['Check the spelling, or give the address.'],
      })
    address = resolved
  } else {
    if (!value.startsWith('0x') && !solanaAddressProblem(value))
      throw new InvalidAddressError({
        reason: `"${field}" is a Solana address, and this is an EVM chain (0x addresses)`,
        field,
      })
    const parsed = EvmAddress.safeParse(value)
    if (!parsed.success) throw new InvalidAddressError({ reason: parsed.error.issues[0]!.message, field })
    address = parsed.data
  }
  const deny = (why: string) =>
    new BaseError('POLICY_DENIED', `Refused: the recipient is ${why}.`, {
      field,
      metaMessages: ['Check the recipient address; nothing was signed.'],
    })
  if (address === zeroAddress) throw deny('the zero address (funds sent there are lost)')
  if (address === ctx.wallet) throw deny("the gateway's own wallet")
  if (guard.token && address === guard.token)
    throw deny('the token contract itself (tokens sent there are lost)')
  return { address, ens }
}
