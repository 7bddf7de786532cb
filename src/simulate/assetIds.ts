import { erc20AssetId, nftAssetId } from '../chains/caip19.js'
import type { AssetId } from '../context/chain.js'
import type { ApprovalExposure, AssetDelta } from './types.js'

/** The chain facts an asset id needs: its CAIP-2 id and its native coin's CAIP-19 id. */
export type AssetIdChain = { caip2: string; native: { assetId: AssetId } }

/**
 * The CAIP-19 id of what a delta moves.
 *
 * @example deltaAssetId(chain, { kind: 'erc20', token: usdc, raw: -1n }) // 'eip155:8453/erc20:0x8335…'
 */
export function deltaAssetId(chain: AssetIdChain, delta: AssetDelta): AssetId {
  switch (delta.kind) {
    case 'native':
      return chain.native.assetId
    case 'erc20':
      return erc20AssetId(chain.caip2, delta.token)
    case 'spl':
      return `${chain.caip2}/token:${delta.token}`
    default:
      return nftAssetId(chain.caip2, delta.kind, delta.token, delta.tokenId)
  }
}

/**
 * The CAIP-19 id of what an approval covers: the token, the one NFT, or (`erc721-all`) the whole collection.
 *
 * @example approvalAssetId(chain, { kind: 'erc721-all', token: nft, spender, amount: null, unlimited: true }) // 'eip155:1/erc721:0x…'
 */
export function approvalAssetId(chain: AssetIdChain, approval: ApprovalExposure): AssetId {
  if (approval.kind === 'erc20' || approval.kind === 'permit2')
    return erc20AssetId(chain.caip2, approval.token)
  if (approval.kind === 'erc721' && approval.tokenId !== undefined)
    return nftAssetId(chain.caip2, 'erc721', approval.token, approval.tokenId)
  return `${chain.caip2}/erc721:${approval.token.toLowerCase()}`
}

/**
 * Effects with the CAIP-19 id of every delta and approval added (new objects; every other field as it was).
 *
 * @example const { deltas, approvals } = withAssetIds(chain, simulation)
 */
export function withAssetIds<T extends { deltas: AssetDelta[]; approvals: ApprovalExposure[] }>(
  chain: AssetIdChain,
  effects: T,
): T {
  return {
    ...effects,
    deltas: effects.deltas.map((d) => ({ ...d, assetId: deltaAssetId(chain, d) })),
    approvals: effects.approvals.map((a) => ({ ...a, assetId: approvalAssetId(chain, a) })),
  }
}
