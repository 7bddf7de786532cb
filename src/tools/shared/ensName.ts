import type { Address } from 'viem'
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

const plainAsciiName = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)+$/

/**
 * ENSIP-15 normalization with a clear error.
 * @example normalizeName('Alice.eth') // 'alice.eth'
 * @throws {InvalidInputError} the name is not valid ENS
 */
export function normalizeName(name: string, field = 'name'): string {
  // Lowercase ASCII letters and digits, single hyphens inside labels: ENSIP-15 leaves such a name as it is, so it
  // needs none of the Unicode tables (built on first use, about 0.4 s of CPU). Anything else is normalized in full.
  if (plainAsciiName.test(name)) return name
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

/**
 * How long a resolved name is reused. ENS records change seldom, and an agent often sends several writes to one
 * name in a row: half a minute spares the chain those reads, yet an owner who moves a name (a lost key, a new
 * wallet) is followed within 30 s. The resolved address is what the simulation, the policy and any human see, so
 * a cached answer is checked exactly like a fresh one.
 */
export const ensCacheTtlMs = 30_000
/** Names kept per ENS client at most; the oldest goes first. */
const ensCacheSize = 512

type EnsClient = { getEnsAddress(args: { name: string }): Promise<Address | null> }
const resolved = new WeakMap<EnsClient, Map<string, { at: number; address: Promise<Address | null> }>>()

/**
 * The address record of an already normalized name, reused for {@link ensCacheTtlMs}. Concurrent look-ups of one
 * name share one request; a name without an address and a failed look-up are not kept (asked again next time).
 *
 * @example const address = await ensAddress(chain.ensClient, 'alice.eth') // '0x7099…' or null
 * @throws whatever the client throws (the look-up failed)
 */
export async function ensAddress(client: EnsClient, name: string): Promise<Address | null> {
  let names = resolved.get(client)
  if (!names) {
    names = new Map()
    resolved.set(client, names)
  }
  const now = Date.now()
  const hit = names.get(name)
  if (hit && now - hit.at < ensCacheTtlMs) return hit.address
  names.delete(name)
  const address = client.getEnsAddress({ name })
  const entry = { at: now, address }
  names.set(name, entry)
  if (names.size > ensCacheSize) names.delete(names.keys().next().value as string)
  const forget = () => {
    if (names.get(name) === entry) names.delete(name)
  }
  address.then((a) => (a ? undefined : forget()), forget)
  return address
}

let warmed = false

/**
 * Builds the ENSIP-15 normalization tables (about 0.4 s, once per process) off the request path, so the first
 * Unicode name an agent sends does not wait for them (plain ASCII names never need them). A few seconds after the
 * gateway is up, not at once: a write already waiting for the store goes first. Later calls do nothing.
 *
 * @example warmEnsNormalization() // at gateway start
 */
export function warmEnsNormalization(): void {
  if (warmed) return
  warmed = true
  setTimeout(() => {
    try {
      normalize('airlock.eth')
    } catch {}
  }, 3000).unref()
}
