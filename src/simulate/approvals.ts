import { type Address, encodeFunctionData, getAddress, type Hex, parseAbi } from 'viem'
import type { ApprovalExposure, SimulationCall } from './types.js'
import { type ApprovalEvent, approvalKey, permit2Address } from './walletLogs.js'

const abi = parseAbi([
  'function approve(address spender, uint256 amount)',
  'function increaseAllowance(address spender, uint256 added)',
  'function setApprovalForAll(address operator, bool approved)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function getApproved(uint256 tokenId) view returns (address)',
  'function isApprovedForAll(address owner, address operator) view returns (bool)',
])
const permit2Abi = parseAbi([
  'function approve(address token, address spender, uint160 amount, uint48 expiration)',
  'function allowance(address owner, address token, address spender) view returns (uint160, uint48, uint48)',
])

const unlimitedErc20 = 2n ** 255n
const unlimitedPermit2 = 2n ** 160n - 1n
const zeroAddress = '0x0000000000000000000000000000000000000000'

/** A read of what an approval was before the call: the state it must exceed to count as a grant. */
export type PreRead = { key: string; to: Address; data: Hex }

/**
 * The read that tells whether `event` raises what the wallet had granted before: `allowance`, `getApproved`,
 * `isApprovedForAll`, or Permit2's `allowance`.
 *
 * @example approvalPreRead({ kind: 'erc20', token, spender, amount: 5n }, wallet).data // allowance(wallet, spender)
 */
export function approvalPreRead(event: ApprovalEvent, wallet: Address): PreRead {
  const key = approvalKey(event)
  switch (event.kind) {
    case 'erc20':
      return {
        key,
        to: event.token,
        data: encodeFunctionData({ abi, functionName: 'allowance', args: [wallet, event.spender] }),
      }
    case 'erc721':
      return {
        key,
        to: event.token,
        data: encodeFunctionData({ abi, functionName: 'getApproved', args: [event.tokenId] }),
      }
    case 'erc721-all':
      return {
        key,
        to: event.token,
        data: encodeFunctionData({ abi, functionName: 'isApprovedForAll', args: [wallet, event.spender] }),
      }
    case 'permit2':
      return {
        key,
        to: permit2Address,
        data: encodeFunctionData({
          abi: permit2Abi,
          functionName: 'allowance',
          args: [wallet, event.token, event.spender],
        }),
      }
  }
}

/**
 * The prior-state reads a call's own calldata announces (`approve`, `increaseAllowance`, `setApprovalForAll`,
 * Permit2 `approve`), so the common approval needs no second simulation round. `approve(address,uint256)` is the
 * same selector for ERC-20 and ERC-721, so both reads are made; the one that does not apply fails harmlessly.
 *
 * @example predictedPreReads({ from, to: usdc, data: approveCalldata, value: 0n }) // [allowance read, getApproved read]
 */
export function predictedPreReads(call: SimulationCall): PreRead[] {
  const selector = call.data.slice(0, 10).toLowerCase()
  const word = (i: number) => call.data.slice(10 + i * 64, 10 + (i + 1) * 64)
  if (call.data.length < 10 + 64) return []
  const address = (i: number) => getAddress(`0x${word(i).slice(24)}`)
  const uint = (i: number) => BigInt(`0x${word(i) || '0'}`)
  try {
    if (call.to.toLowerCase() === permit2Address.toLowerCase() && selector === '0x87517c45')
      return [
        approvalPreRead(
          { kind: 'permit2', token: address(0), spender: address(1), amount: 0n, expiration: 0n },
          call.from,
        ),
      ]
    if (selector === '0x095ea7b3' || selector === '0x39509351') {
      const reads = [
        approvalPreRead({ kind: 'erc20', token: call.to, spender: address(0), amount: 0n }, call.from),
      ]
      if (selector === '0x095ea7b3')
        reads.push(
          approvalPreRead(
            { kind: 'erc721', token: call.to, spender: address(0), tokenId: uint(1) },
            call.from,
          ),
        )
      return reads
    }
    if (selector === '0xa22cb465')
      return [
        approvalPreRead(
          { kind: 'erc721-all', token: call.to, spender: address(0), approved: true },
          call.from,
        ),
      ]
  } catch {
    // Calldata too short or not hex: nothing to predict, a second round reads what the logs show.
  }
  return []
}

const wordAt = (data: Hex | undefined, i: number): bigint | undefined => {
  if (!data || data.length < 2 + (i + 1) * 64) return undefined
  return BigInt(`0x${data.slice(2 + i * 64, 2 + (i + 1) * 64)}`)
}

/**
 * The approvals that grant something new or more than before, as exposures. A revoke (0, `false`, the zero
 * address), a lowered allowance (a `transferFrom` spending it) or an unchanged one is not exposure. A prior state
 * that could not be read counts as nothing granted, so the approval is reported.
 *
 * @example newApprovals(effects.approvals.values(), (key) => before.get(key))
 */
export function newApprovals(
  events: Iterable<ApprovalEvent>,
  before: (key: string) => Hex | undefined,
): ApprovalExposure[] {
  const out: ApprovalExposure[] = []
  for (const event of events) {
    const prior = before(approvalKey(event))
    switch (event.kind) {
      case 'erc20': {
        if (event.amount === 0n || event.amount <= (wordAt(prior, 0) ?? 0n)) break
        out.push({
          kind: 'erc20',
          token: event.token,
          spender: event.spender,
          amount: event.amount,
          unlimited: event.amount >= unlimitedErc20,
        })
        break
      }
      case 'erc721': {
        const was = wordAt(prior, 0)
        if (event.spender === zeroAddress || (was !== undefined && was === BigInt(event.spender))) break
        out.push({
          kind: 'erc721',
          token: event.token,
          spender: event.spender,
          amount: 1n,
          tokenId: event.tokenId,
          unlimited: false,
        })
        break
      }
      case 'erc721-all': {
        if (!event.approved || (wordAt(prior, 0) ?? 0n) !== 0n) break
        out.push({
          kind: 'erc721-all',
          token: event.token,
          spender: event.spender,
          amount: null,
          unlimited: true,
        })
        break
      }
      case 'permit2': {
        const amount = wordAt(prior, 0) ?? 0n
        const expiration = wordAt(prior, 1) ?? 0n
        if (event.amount === 0n || (event.amount <= amount && event.expiration <= expiration)) break
        out.push({
          kind: 'permit2',
          token: event.token,
          spender: event.spender,
          amount: event.amount,
          unlimited: event.amount >= unlimitedPermit2,
        })
        break
      }
    }
  }
  return out
}
