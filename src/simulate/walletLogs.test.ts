import { type Address, encodeAbiParameters, type Hex, maxUint256, pad, toEventSelector } from 'viem'
import { describe, expect, it } from 'vitest'
import { newApprovals } from './approvals.js'
import { permit2Address, type RawLog, walletLogEffects } from './walletLogs.js'

const wallet: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const other: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const token: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const nft: Address = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'
const topic = (a: Address | bigint): Hex => (typeof a === 'bigint' ? pad(`0x${a.toString(16)}`) : pad(a))
const word = (v: bigint): Hex => encodeAbiParameters([{ type: 'uint256' }], [v])
const sig = {
  transfer: toEventSelector('Transfer(address,address,uint256)'),
  approval: toEventSelector('Approval(address,address,uint256)'),
  approvalForAll: toEventSelector('ApprovalForAll(address,address,bool)'),
  transferBatch: toEventSelector('TransferBatch(address,address,address,uint256[],uint256[])'),
  permit2: toEventSelector('Approval(address,address,address,uint160,uint48)'),
}

describe('walletLogEffects', () => {
  it('nets ERC-20 transfers in and out of the wallet and ignores others', () => {
    const logs: RawLog[] = [
      { address: token, topics: [sig.transfer, topic(wallet), topic(other)], data: word(100n) },
      { address: token, topics: [sig.transfer, topic(other), topic(wallet)], data: word(30n) },
      { address: token, topics: [sig.transfer, topic(other), topic(other)], data: word(999n) },
    ]
    expect(walletLogEffects(logs, wallet).erc20.get(token.toLowerCase())?.raw).toBe(-70n)
  })

  it('tells ERC-721 (4 topics) from ERC-20 and marks the collection; decodes ERC-1155 batches', () => {
    const batch = encodeAbiParameters(
      [{ type: 'uint256[]' }, { type: 'uint256[]' }],
      [
        [1n, 2n],
        [5n, 6n],
      ],
    )
    const effects = walletLogEffects(
      [
        { address: nft, topics: [sig.transfer, topic(wallet), topic(other), topic(7n)], data: '0x' },
        {
          address: token,
          topics: [sig.transferBatch, topic(other), topic(other), topic(wallet)],
          data: batch,
        },
      ],
      wallet,
    )
    expect([...effects.erc721.values()]).toEqual([{ token: nft, tokenId: 7n, raw: -1n }])
    expect([...effects.erc1155.values()].map((e) => [e.tokenId, e.raw])).toEqual([
      [1n, 5n],
      [2n, 6n],
    ])
    expect(effects.collections.has(nft.toLowerCase())).toBe(true)
    expect(effects.erc20.size).toBe(0)
  })

  it('skips malformed logs instead of trusting or crashing on them', () => {
    const logs = [
      { address: token, topics: [sig.transfer, topic(wallet), topic(other)], data: '0x12' },
      { address: 'nope', topics: [sig.transfer], data: '0x' },
      { address: token, topics: ['0xzz'], data: '0x' },
      null,
    ] as unknown as RawLog[]
    const effects = walletLogEffects(logs, wallet)
    expect(effects.erc20.size + effects.approvals.size).toBe(0)
  })

  it('keeps the last approval per spender; a revoke, a lowered or an unchanged allowance is no exposure', () => {
    const effects = walletLogEffects(
      [
        { address: token, topics: [sig.approval, topic(wallet), topic(other)], data: word(maxUint256) },
        { address: token, topics: [sig.approval, topic(wallet), topic(other)], data: word(0n) },
        { address: nft, topics: [sig.approvalForAll, topic(wallet), topic(other)], data: word(1n) },
      ],
      wallet,
    )
    expect(newApprovals(effects.approvals.values(), () => undefined)).toEqual([
      { kind: 'erc721-all', token: nft, spender: other, amount: null, unlimited: true },
    ])
    const raise = walletLogEffects(
      [{ address: token, topics: [sig.approval, topic(wallet), topic(other)], data: word(50n) }],
      wallet,
    )
    expect(newApprovals(raise.approvals.values(), () => word(100n))).toEqual([])
    expect(newApprovals(raise.approvals.values(), () => word(10n))).toEqual([
      { kind: 'erc20', token, spender: other, amount: 50n, unlimited: false },
    ])
  })

  it('reads Permit2 approvals only from the Permit2 contract; uint160 max is unlimited', () => {
    const data = encodeAbiParameters([{ type: 'uint160' }, { type: 'uint48' }], [2n ** 160n - 1n, 2 ** 40])
    const log = (address: Address): RawLog => ({
      address,
      topics: [sig.permit2, topic(wallet), topic(token), topic(other)],
      data,
    })
    expect(walletLogEffects([log(nft)], wallet).approvals.size).toBe(0)
    const effects = walletLogEffects([log(permit2Address)], wallet)
    expect(newApprovals(effects.approvals.values(), () => undefined)).toEqual([
      { kind: 'permit2', token, spender: other, amount: 2n ** 160n - 1n, unlimited: true },
    ])
  })
})
