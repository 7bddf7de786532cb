import type { AssetId } from '../context/chain.js'
import { builtinChains } from './registry.js'

/**
 * CAIP-19 asset ids for EVM chains (`eip155:<chain id>/<namespace>:<reference>`), the ids assets carry in policy
 * facts, simulations and limits next to their addresses.
 *
 * Spelling decisions, so that one asset always has exactly one id and ids compare as plain strings:
 * - Token and NFT contract addresses are **lowercase**. CAIP-10/CAIP-19 accept either case for `eip155`
 *   addresses (EIP-55 is a display checksum, not part of the identity), and the CAIP-19 examples themselves mix
 *   both; an id is a key here, so one case is chosen. Outputs keep showing EIP-55 addresses beside it.
 * - The native coin is `slip44:<coin type>` with the coin's SLIP-44 number: 60 for ETH (also on L2s and testnets
 *   whose native coin is ETH), 966 for POL, 714 for BNB, … (see {@link evmNativeSlip44}). 60 is *not* used for a
 *   native coin that is not ETH. Testnets use their coin's number (`eip155:11155111/slip44:60`), as wallets do;
 *   the chain part already tells them apart (SLIP-44 coin type 1, "all testnets", is a key-derivation convention).
 * - A native coin whose SLIP-44 number we do not know (MNT, METIS, S, …: not registered, or not confirmed here)
 *   gets `native:<symbol>`. `native` is not a registered CAIP-19 namespace: it is an honest placeholder rather
 *   than a wrong `slip44:60`, and it will change to `slip44:<n>` once the number is known.
 */

const caip2Pattern = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/
const evmAddressPattern = /^0x[0-9a-fA-F]{40}$/
const assetIdPattern =
  /^([-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32})\/([-a-z0-9]{3,8}):([-.%a-zA-Z0-9]{1,128})(?:\/([-.%a-zA-Z0-9]{1,78}))?$/

/**
 * SLIP-44 coin types of the native coins of the registry's chains, by native symbol (upper case). Only numbers
 * taken from the SLIP-44 registry are listed; a symbol not here has no `slip44` id (see the module comment).
 */
const slip44BySymbol: Readonly<Record<string, number>> = {
  ETH: 60,
  POL: 966,
  MATIC: 966,
  BNB: 714,
  TBNB: 714,
  AVAX: 9000,
  XDAI: 700,
  CELO: 52752,
  'A-CELO': 52752,
  FTM: 1007,
  GLMR: 1284,
  MOVR: 1285,
  CRO: 394,
  KAVA: 459,
}

/**
 * The SLIP-44 coin type of an EVM chain's native coin, from its symbol; undefined when not known here.
 *
 * @example evmNativeSlip44('ETH') // 60
 * @example evmNativeSlip44('POL') // 966
 * @example evmNativeSlip44('MNT') // undefined
 */
export function evmNativeSlip44(symbol: string): number | undefined {
  return slip44BySymbol[symbol.toUpperCase()]
}

/**
 * The CAIP-19 id of an EVM chain's native coin: `slip44:<n>` when its SLIP-44 number is known, else the
 * placeholder `native:<symbol>` (never a wrong `slip44:60`).
 *
 * @example evmNativeAssetId('eip155:1', 'ETH') // 'eip155:1/slip44:60'
 * @example evmNativeAssetId('eip155:137', 'POL') // 'eip155:137/slip44:966'
 * @example evmNativeAssetId('eip155:5000', 'MNT') // 'eip155:5000/native:MNT'
 * @throws {TypeError} `caip2` is not a CAIP-2 id
 */
export function evmNativeAssetId(caip2: string, symbol: string): AssetId {
  checkCaip2(caip2)
  const slip44 = evmNativeSlip44(symbol)
  if (slip44 !== undefined) return `${caip2}/slip44:${slip44}`
  const reference = symbol.replace(/[^-.a-zA-Z0-9]/g, '').slice(0, 128) || 'unknown'
  return `${caip2}/native:${reference}`
}

/**
 * The native coin's CAIP-19 id of a built-in registry chain, by chain id; undefined for a chain the registry does
 * not define (the devnet, a custom chain: ask its chain context, `native.assetId`).
 *
 * @example registryNativeAssetId(137) // 'eip155:137/slip44:966'
 */
export function registryNativeAssetId(chainId: number): AssetId | undefined {
  const entry = builtinChains.find((e) => e.chain.id === chainId)
  return entry && evmNativeAssetId(`eip155:${chainId}`, entry.chain.nativeCurrency.symbol)
}

/**
 * The CAIP-19 id of an ERC-20 token: `eip155:<id>/erc20:<lowercase address>`.
 *
 * @example erc20AssetId('eip155:1', '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48') // 'eip155:1/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'
 * @throws {TypeError} not a CAIP-2 id or not an EVM address
 */
export function erc20AssetId(caip2: string, token: string): AssetId {
  checkCaip2(caip2)
  return `${caip2}/erc20:${evmReference(token)}`
}

/**
 * The CAIP-19 id of one NFT: `eip155:<id>/erc721:<lowercase address>/<token id>` (or `erc1155`).
 *
 * @example nftAssetId('eip155:1', 'erc721', '0x06012c8cf97BEaD5deAe237070F9587f8E7A266d', 771769n) // 'eip155:1/erc721:0x06012c8cf97bead5deae237070f9587f8e7a266d/771769'
 * @throws {TypeError} not a CAIP-2 id, not an EVM address, or a negative token id
 */
export function nftAssetId(
  caip2: string,
  standard: 'erc721' | 'erc1155',
  token: string,
  tokenId: bigint,
): AssetId {
  checkCaip2(caip2)
  if (tokenId < 0n) throw new TypeError('A token id is never negative.')
  return `${caip2}/${standard}:${evmReference(token)}/${tokenId.toString()}`
}

/**
 * The CAIP-19 id of an EVM asset as policy and limits name it: a token address, or `native` for the native coin
 * (whose id the chain knows: pass it as `nativeAssetId`).
 *
 * @example evmAssetId('eip155:1', 'native', 'eip155:1/slip44:60') // 'eip155:1/slip44:60'
 * @example evmAssetId('eip155:1', '0xA0b8…', 'eip155:1/slip44:60') // 'eip155:1/erc20:0xa0b8…'
 */
export function evmAssetId(caip2: string, asset: string, nativeAssetId: AssetId): AssetId {
  return asset.toLowerCase() === 'native' ? nativeAssetId : erc20AssetId(caip2, asset)
}

/** The parts of a CAIP-19 id. */
export type ParsedAssetId = {
  /** The CAIP-2 chain id. */
  chain: string
  namespace: string
  reference: string
  tokenId?: string | undefined
}

/**
 * Splits a CAIP-19 id into its parts; undefined when it is not one (checks the CAIP-2 and CAIP-19 syntax only).
 *
 * @example parseAssetId('eip155:1/slip44:60') // { chain: 'eip155:1', namespace: 'slip44', reference: '60' }
 */
export function parseAssetId(id: string): ParsedAssetId | undefined {
  const m = assetIdPattern.exec(id)
  if (!m) return undefined
  return {
    chain: m[1] as string,
    namespace: m[2] as string,
    reference: m[3] as string,
    ...(m[4] === undefined ? {} : { tokenId: m[4] }),
  }
}

function checkCaip2(caip2: string): void {
  if (!caip2Pattern.test(caip2)) throw new TypeError(`Not a CAIP-2 chain id: ${caip2.slice(0, 80)}`)
}

function evmReference(address: string): string {
  if (!evmAddressPattern.test(address)) throw new TypeError(`Not an EVM address: ${address.slice(0, 80)}`)
  return address.toLowerCase()
}
