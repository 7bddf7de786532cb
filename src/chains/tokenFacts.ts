import { type Address, erc20Abi } from 'viem'
import { TokenNotSupportedError } from '../errors/index.js'
import { detectHomoglyphs } from '../untrusted/sanitizeText.js'
import { type UntrustedText, untrustedText } from '../untrusted/untrusted.js'
import type { ChainContext } from './chains.js'
import type { KnownContracts, KnownToken } from './knownContracts.js'

/** What the gateway knows about an ERC-20. Name and symbol are chain text, kept only in sanitized, marked form. */
export type TokenFacts = {
  address: Address
  decimals: number
  symbol: UntrustedText
  name: UntrustedText
  /** Address and decimals match the built-in registry. */
  known: boolean
  /** The symbol or name mixes scripts or uses lookalike characters (`USDС` with a Cyrillic С). */
  lookalike: boolean
  /** Known, no lookalikes, nothing had to be stripped from the name or symbol. */
  verified: boolean
}

/** Raw results of the three metadata calls, as multicall returns them with `allowFailure`. */
export type RawTokenMetadata = {
  decimals: { status: 'success'; result: unknown } | { status: 'failure'; error: unknown }
  symbol: { status: 'success'; result: unknown } | { status: 'failure'; error: unknown }
  name: { status: 'success'; result: unknown } | { status: 'failure'; error: unknown }
}

/** Token facts with a cache; decimals never change, so they are cached for the process lifetime. */
export type TokenFactsService = {
  /** Reads (or recalls) the facts of `address`. @throws {TokenNotSupportedError} */
  get(chain: ChainContext, address: Address): Promise<TokenFacts>
  /** Cached facts, without I/O. */
  cached(chainId: number, address: Address): TokenFacts | undefined
  /** Turns raw metadata results (from a caller's own multicall) into facts, and caches them. */
  fromRaw(chainId: number, address: Address, raw: RawTokenMetadata): TokenFacts
  /** The registry's tokens of a chain. */
  known(chainId: number): readonly KnownToken[]
  /** The registry entry of a chain. */
  contracts(chainId: number): KnownContracts | undefined
}

/** The three metadata calls for a token, ready to put into a multicall. */
export function metadataCalls(address: Address) {
  return [
    { address, abi: erc20Abi, functionName: 'decimals' },
    { address, abi: erc20Abi, functionName: 'symbol' },
    { address, abi: erc20Abi, functionName: 'name' },
  ] as const
}

/**
 * Creates the token facts service over a registry of known contracts.
 * Decimals that revert or are absurd (0 or more than 36) fall back to the registry value, else the token is refused.
 *
 * @example
 * const tokens = createTokenFacts(knownContracts)
 * const usdc = await tokens.get(chains.resolve('base'), '0x8335…')
 */
export function createTokenFacts(registry: Readonly<Record<number, KnownContracts>>): TokenFactsService {
  const cache = new Map<string, TokenFacts>()
  const key = (chainId: number, address: Address) => `${chainId}:${address}`
  const knownToken = (chainId: number, address: Address) =>
    registry[chainId]?.tokens.find((t) => t.address === address)

  const fromRaw: TokenFactsService['fromRaw'] = (chainId, address, raw) => {
    const entry = knownToken(chainId, address)
    const reported = raw.decimals.status === 'success' ? Number(raw.decimals.result) : undefined
    let decimals: number
    if (reported !== undefined && Number.isInteger(reported) && reported >= 1 && reported <= 36)
      decimals = reported
    else if (entry) decimals = entry.decimals
    else
      throw new TokenNotSupportedError({
        token: address,
        reason:
          reported === undefined
            ? 'its decimals() call failed (is it an ERC-20 token on this chain?)'
            : `its decimals() returned ${String(reported).slice(0, 20)}, outside 1–36`,
      })
    const text = (r: RawTokenMetadata['name']) =>
      r.status === 'success' && typeof r.result === 'string' ? r.result : ''
    // Sanitized once, when the facts are learned: every later listing reuses the marked values.
    const symbol = untrustedText(text(raw.symbol), { maxLength: 32 })
    const name = untrustedText(text(raw.name), { maxLength: 64 })
    const lookalike = detectHomoglyphs(text(raw.symbol)) || detectHomoglyphs(text(raw.name))
    const known = entry !== undefined && entry.decimals === decimals
    const facts: TokenFacts = {
      address,
      decimals,
      symbol,
      name,
      known,
      lookalike,
      verified: known && !lookalike && !symbol.sanitized && !name.sanitized,
    }
    cache.set(key(chainId, address), facts)
    return facts
  }

  return {
    cached: (chainId, address) => cache.get(key(chainId, address)),
    known: (chainId) => registry[chainId]?.tokens ?? [],
    contracts: (chainId) => registry[chainId],
    fromRaw,
    async get(chain, address) {
      const hit = cache.get(key(chain.id, address))
      if (hit) return hit
      const [decimals, symbol, name] = await chain.client.multicall({
        contracts: metadataCalls(address),
        allowFailure: true,
      })
      return fromRaw(chain.id, address, { decimals, symbol, name } as RawTokenMetadata)
    },
  }
}
