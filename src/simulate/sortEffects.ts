import { stringifyJson } from '../context/json.js'
import type { ApprovalExposure, AssetDelta, Simulation } from './types.js'

const kindOrder = { native: 0, erc20: 1, spl: 1, erc721: 2, erc1155: 3 } as const

const tokenOf = (d: AssetDelta): string => (d.kind === 'native' ? '' : d.token.toLowerCase())
const idOf = (d: AssetDelta): bigint => (d.kind === 'erc721' || d.kind === 'erc1155' ? d.tokenId : 0n)

/**
 * Deltas in one stable order (native, ERC-20, ERC-721, ERC-1155; then token, then token id), so that two
 * simulations of the same effects look the same and hash the same.
 *
 * @example sortDeltas([{ kind: 'erc20', token, raw: -1n }, { kind: 'native', raw: -5n }])[0].kind // 'native'
 */
export function sortDeltas(deltas: AssetDelta[]): AssetDelta[] {
  return deltas.sort(
    (a, b) =>
      kindOrder[a.kind] - kindOrder[b.kind] ||
      (tokenOf(a) < tokenOf(b) ? -1 : tokenOf(a) > tokenOf(b) ? 1 : 0) ||
      (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0),
  )
}

const approvalKey = (a: ApprovalExposure): string =>
  `${a.kind}:${a.token.toLowerCase()}:${a.spender.toLowerCase()}:${a.tokenId ?? ''}`

/**
 * Approvals in one stable order (kind, token, spender, token id).
 *
 * @example sortApprovals(simulation.approvals)
 */
export function sortApprovals(approvals: ApprovalExposure[]): ApprovalExposure[] {
  return approvals.sort((a, b) =>
    approvalKey(a) < approvalKey(b) ? -1 : approvalKey(a) > approvalKey(b) ? 1 : 0,
  )
}

const json = stringifyJson

/**
 * Where two simulations of one call disagree on what it does, or undefined when they agree: whether it reverts,
 * the asset changes, the approvals. Gas and revert wording are not compared (clients word and meter differently).
 * When the two came from different methods only the revert and the approvals are compared, as a log-based
 * simulation cannot see what balance reads see.
 *
 * @example effectsDifference(a, b) // 'asset changes'
 */
export function effectsDifference(a: Simulation, b: Simulation): string | undefined {
  if (a.reverted !== b.reverted) return 'whether it reverts'
  const sameMethod = a.method === b.method
  const deltas = (s: Simulation) => json(sortDeltas([...s.deltas]))
  if (sameMethod && deltas(a) !== deltas(b)) return 'asset changes'
  if (json(sortApprovals([...a.approvals])) !== json(sortApprovals([...b.approvals]))) return 'approvals'
  return undefined
}
