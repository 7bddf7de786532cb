import { type Address, decodeAbiParameters, getAddress, type Hex, toEventSelector } from 'viem'

/** A log as RPC methods return it (only the fields decoding needs). */
export type RawLog = { address: Hex; topics: readonly Hex[]; data: Hex }

/** Permit2's canonical address (same on every chain it is deployed to). */
export const permit2Address: Address = '0x000000000022D473030F116dDEE9F6B43aC78BA3'

/** The pseudo-address `traceTransfers` logs native value moves from (ERC-7528). */
export const nativeLogAddress = '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'

const topics = {
  transfer: toEventSelector('Transfer(address,address,uint256)'),
  approval: toEventSelector('Approval(address,address,uint256)'),
  approvalForAll: toEventSelector('ApprovalForAll(address,address,bool)'),
  transferSingle: toEventSelector('TransferSingle(address,address,address,uint256,uint256)'),
  transferBatch: toEventSelector('TransferBatch(address,address,address,uint256[],uint256[])'),
  permit2Approval: toEventSelector('Approval(address,address,address,uint160,uint48)'),
  permit2Permit: toEventSelector('Permit(address,address,address,uint160,uint48,uint48)'),
}

/**
 * An approval the logs say the wallet granted (or revoked: `amount` 0, `approved` false, spender zero). Whether
 * it raises what was there before is decided against a read of the prior state, see {@link approvalPreRead}.
 */
export type ApprovalEvent =
  | { kind: 'erc20'; token: Address; spender: Address; amount: bigint }
  | { kind: 'erc721'; token: Address; spender: Address; tokenId: bigint }
  | { kind: 'erc721-all'; token: Address; spender: Address; approved: boolean }
  | { kind: 'permit2'; token: Address; spender: Address; amount: bigint; expiration: bigint }

/** What a call's logs say about one wallet. Keys of the maps are lowercase addresses (plus `:tokenId`). */
export type WalletLogEffects = {
  /** Native value moved, from `traceTransfers` pseudo-logs (or call frames in the fallback). */
  native: bigint
  /** Net ERC-20 `Transfer` amounts per token. */
  erc20: Map<string, { token: Address; raw: bigint }>
  /** Tokens that emitted ERC-721 or ERC-1155 transfers: their `balanceOf` counts items, not an ERC-20 balance. */
  collections: Set<string>
  erc721: Map<string, { token: Address; tokenId: bigint; raw: bigint }>
  erc1155: Map<string, { token: Address; tokenId: bigint; raw: bigint }>
  /** The last approval event per (kind, token, spender or tokenId), in log order. */
  approvals: Map<string, ApprovalEvent>
}

const word = (data: Hex, index: number): bigint | undefined => {
  const start = 2 + index * 64
  if (data.length < start + 64) return undefined
  return BigInt(`0x${data.slice(start, start + 64)}`)
}

const hex32 = /^0x[0-9a-fA-F]{64}$/
const hexData = /^0x(?:[0-9a-fA-F]{2})*$/

// An endpoint's answer is untrusted input too: anything that is not a plain log is ignored.
function wellFormed(log: RawLog): boolean {
  return (
    typeof log === 'object' &&
    log !== null &&
    typeof log.address === 'string' &&
    /^0x[0-9a-fA-F]{40}$/.test(log.address) &&
    Array.isArray(log.topics) &&
    log.topics.length > 0 &&
    log.topics.length <= 4 &&
    log.topics.every((t) => typeof t === 'string' && hex32.test(t)) &&
    typeof log.data === 'string' &&
    hexData.test(log.data)
  )
}

const topicAddress = (topic: Hex | undefined): string | undefined =>
  topic && topic.length === 66 ? `0x${topic.slice(26).toLowerCase()}` : undefined

/**
 * The key an approval is tracked under: a later event on the same key replaces an earlier one.
 *
 * @example approvalKey({ kind: 'erc20', token, spender, amount: 1n }) // 'erc20:0x…:0x…'
 */
export function approvalKey(event: ApprovalEvent): string {
  const token = event.token.toLowerCase()
  return event.kind === 'erc721'
    ? `erc721:${token}:${event.tokenId}`
    : `${event.kind}:${token}:${event.spender.toLowerCase()}`
}

/**
 * Reads a call's logs in order and keeps what concerns `wallet`: token moves in and out, and approvals it grants.
 * Malformed logs (short data, odd topic counts) are skipped, never trusted. Anyone can emit any event, so these
 * are claims; balance reads decide the ERC-20 and native deltas where they exist.
 *
 * @example
 * const effects = walletLogEffects(logs, wallet)
 * effects.erc20.get(usdc.toLowerCase())?.raw // -1500000n
 */
export function walletLogEffects(logs: readonly RawLog[], wallet: Address): WalletLogEffects {
  const me = wallet.toLowerCase()
  const effects: WalletLogEffects = {
    native: 0n,
    erc20: new Map(),
    collections: new Set(),
    erc721: new Map(),
    erc1155: new Map(),
    approvals: new Map(),
  }
  for (const log of logs) {
    if (!wellFormed(log)) continue
    const address = log.address.toLowerCase()
    const [topic0, t1, t2, t3] = log.topics
    const from = topicAddress(t1)
    const to = topicAddress(t2)
    if (topic0 === topics.transfer && log.topics.length === 3) {
      const value = word(log.data, 0)
      if (value === undefined || !from || !to || (from !== me && to !== me)) continue
      const signed = (from === me ? -value : 0n) + (to === me ? value : 0n)
      if (address === nativeLogAddress) effects.native += signed
      else {
        const entry = effects.erc20.get(address) ?? { token: getAddress(address), raw: 0n }
        entry.raw += signed
        effects.erc20.set(address, entry)
      }
    } else if (topic0 === topics.transfer && log.topics.length === 4 && address !== nativeLogAddress) {
      effects.collections.add(address)
      if (!from || !to || !t3 || (from !== me && to !== me)) continue
      const tokenId = BigInt(t3)
      addItem(effects.erc721, address, tokenId, (from === me ? -1n : 0n) + (to === me ? 1n : 0n))
    } else if (topic0 === topics.transferSingle && log.topics.length === 4) {
      effects.collections.add(address)
      const [src, dst] = [topicAddress(t2), topicAddress(t3)]
      const id = word(log.data, 0)
      const value = word(log.data, 1)
      if (id === undefined || value === undefined || (src !== me && dst !== me)) continue
      addItem(effects.erc1155, address, id, (src === me ? -value : 0n) + (dst === me ? value : 0n))
    } else if (topic0 === topics.transferBatch && log.topics.length === 4) {
      effects.collections.add(address)
      const [src, dst] = [topicAddress(t2), topicAddress(t3)]
      if (src !== me && dst !== me) continue
      let decoded: readonly [readonly bigint[], readonly bigint[]]
      try {
        decoded = decodeAbiParameters([{ type: 'uint256[]' }, { type: 'uint256[]' }], log.data)
      } catch {
        continue
      }
      const [ids, values] = decoded
      for (const [i, id] of ids.entries()) {
        const value = values[i] ?? 0n
        addItem(effects.erc1155, address, id, (src === me ? -value : 0n) + (dst === me ? value : 0n))
      }
    } else if (topic0 === topics.approval && from === me && to) {
      const token = getAddress(address)
      if (log.topics.length === 3) {
        const amount = word(log.data, 0)
        if (amount !== undefined) track(effects, { kind: 'erc20', token, spender: getAddress(to), amount })
      } else if (log.topics.length === 4 && t3) {
        track(effects, { kind: 'erc721', token, spender: getAddress(to), tokenId: BigInt(t3) })
      }
    } else if (topic0 === topics.approvalForAll && log.topics.length === 3 && from === me && to) {
      const approved = word(log.data, 0)
      if (approved === undefined) continue
      track(effects, {
        kind: 'erc721-all',
        token: getAddress(address),
        spender: getAddress(to),
        approved: approved !== 0n,
      })
    } else if (
      (topic0 === topics.permit2Approval || topic0 === topics.permit2Permit) &&
      log.topics.length === 4 &&
      address === permit2Address.toLowerCase() &&
      from === me
    ) {
      const token = to
      const spender = topicAddress(t3)
      const amount = word(log.data, 0)
      const expiration = word(log.data, 1)
      if (!token || !spender || amount === undefined || expiration === undefined) continue
      track(effects, {
        kind: 'permit2',
        token: getAddress(token),
        spender: getAddress(spender),
        amount,
        expiration,
      })
    }
  }
  return effects
}

function addItem(
  map: Map<string, { token: Address; tokenId: bigint; raw: bigint }>,
  token: string,
  tokenId: bigint,
  raw: bigint,
): void {
  if (raw === 0n) return
  const key = `${token}:${tokenId}`
  const entry = map.get(key) ?? { token: getAddress(token), tokenId, raw: 0n }
  entry.raw += raw
  map.set(key, entry)
}

function track(effects: WalletLogEffects, event: ApprovalEvent): void {
  const key = approvalKey(event)
  // Re-insert so the map's order is the order of the last event per key.
  effects.approvals.delete(key)
  effects.approvals.set(key, event)
}
