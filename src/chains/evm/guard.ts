import {
  type Abi,
  type Address,
  concatHex,
  decodeErrorResult,
  encodeFunctionData,
  getContractAddress,
  type Hash,
  type Hex,
  isAddressEqual,
  keccak256,
  zeroHash,
} from 'viem'
// The guard's own artifact (written with contracts/artifacts.json by `npm run contracts`): small, so every start can
// load it; the full artifacts file is loaded only where a devnet is deployed.
import guardArtifact from '../../../contracts/guard.json' with { type: 'json' }
import type { ChainContext } from '../chains.js'

/**
 * Airlock's post-condition guard (contracts/AirlockGuard.sol, DESIGN §11): the gateway wallet delegates its code
 * to it with EIP-7702 and sends each guarded write to itself as `execute(calls, conditions)`; the transaction
 * reverts when what the calls did breaks a condition.
 */
const artifact = guardArtifact as unknown as { abi: Abi; bytecode: Hex; runtime: Hex }

/** The guard's ABI. */
export const guardAbi = artifact.abi

/** Its creation code (no constructor arguments: the same on every chain). */
export const guardCreationCode: Hex = artifact.bytecode

/** keccak256 of its runtime code: what a chain must hold at {@link guardAddress} before a wallet delegates to it. */
export const guardCodeHash: Hex = keccak256(artifact.runtime)

/**
 * The deterministic deployment proxy (CREATE2 factory) present on most EVM chains and on anvil: called with
 * `salt ‖ creation code`, it deploys at an address fixed by those two.
 */
export const create2Factory: Address = '0x4e59b44847b379578588920cA78FbF26c0B4956C'

/** The CREATE2 salt of the guard's deployment. */
export const guardSalt: Hex = zeroHash

/** Where the guard lives on every chain where it is deployed through {@link create2Factory}. */
export const guardAddress: Address = getContractAddress({
  opcode: 'CREATE2',
  from: create2Factory,
  salt: guardSalt,
  bytecode: guardCreationCode,
})

/**
 * The code an EOA has while it delegates to `target` under EIP-7702: `0xef0100 ‖ target`.
 *
 * @example delegationCode(guardAddress) // '0xef0100…'
 */
export function delegationCode(target: Address): Hex {
  return concatHex(['0xef0100', target.toLowerCase() as Hex])
}

/**
 * The first topic of the guard's `Executed()` event, which the wallet emits when its guarded write ran: a receipt
 * of a guarded write without it did not run through the guard (the wallet no longer delegated to it).
 */
export const guardExecutedTopic: Hex = '0x68f46c45a243a0e9065a97649faf9a5afe1692f2679e650c2f853b9cd734cc0e'

/** What a post-condition checks (the numbering is the contract's). */
export const conditionKinds = {
  nativeMaxOutflow: 0,
  tokenMaxOutflow: 1,
  tokenMinInflow: 2,
  maxAllowance: 3,
  multiMaxOutflow: 4,
  multiMinInflow: 5,
  nftOwned: 6,
  noOperator: 7,
  nativeMinInflow: 8,
} as const

/** The name of a condition kind. */
export type ConditionKind = keyof typeof conditionKinds

/** One post-condition, as the guard checks it after the call (amounts in base units). */
export type PostCondition = {
  kind: ConditionKind
  /** The token or collection; absent for the native coin. */
  token?: Address | undefined
  /** The spender or operator (allowance and operator conditions). */
  spender?: Address | undefined
  /** The token id (ERC-721 and ERC-1155). */
  id?: bigint | undefined
  /** The bound: a maximum outflow or allowance, a minimum inflow. */
  amount: bigint
}

const zeroAddress: Address = '0x0000000000000000000000000000000000000000'

/**
 * The calldata of a guarded write: the wallet calls itself with `execute([call], conditions)`.
 *
 * @example const data = encodeGuardedCall({ to: usdc, data, value: 0n }, conditions)
 */
export function encodeGuardedCall(
  call: { to: Address; data: Hex; value: bigint },
  conditions: readonly PostCondition[],
): Hex {
  return encodeFunctionData({
    abi: guardAbi,
    functionName: 'execute',
    args: [
      [{ target: call.to, value: call.value, data: call.data }],
      conditions.map((c) => ({
        kind: conditionKinds[c.kind],
        token: c.token ?? zeroAddress,
        spender: c.spender ?? zeroAddress,
        id: c.id ?? 0n,
        amount: c.amount,
      })),
    ],
  })
}

/**
 * Gas the guard adds to a call's own gas (`callGas`): the delegated code, the call frame (with a value transfer to
 * a new account, the worst case: 25,000 of it), the calldata, two balance reads and a comparison per condition (a
 * token behind a proxy included), and the 1/64 of the gas left that a call frame keeps back (EIP-150). An upper
 * bound (measured by `npm run bench`): unused gas is not paid for.
 *
 * @example const gas = fees.gas + guardGasOverhead(conditions, fees.gas)
 */
export function guardGasOverhead(conditions: readonly PostCondition[], callGas = 0n): bigint {
  return 45_000n + 16_000n * BigInt(conditions.length) + callGas / 63n + 1n
}

/** Why the guard reverted, decoded; undefined when the revert data is not the guard's. */
export type GuardRevert =
  | {
      error: 'ConditionFailed'
      index: number
      kind: ConditionKind | 'unknown'
      token: Address
      bound: bigint
      actual: bigint
    }
  | { error: 'Unreadable'; index: number; token: Address }
  | { error: 'NotWallet' }
  | { error: 'UnknownCondition'; index: number }
  /** A call itself reverted (its own revert data, wrapped): not a post-condition. */
  | { error: 'CallFailed'; index: number; reason: Hex }
  | { error: 'CallToWallet'; index: number }

/**
 * Decodes the guard's own revert data (`ConditionFailed`, `Unreadable`, `NotWallet`, `UnknownCondition`,
 * `CallFailed`, `CallToWallet`). A call's own revert reaches the top wrapped in `CallFailed`, so a contract cannot
 * make its revert pass for a failed post-condition.
 *
 * @example decodeGuardRevert('0x…') // { error: 'ConditionFailed', index: 1, kind: 'tokenMaxOutflow', … }
 */
export function decodeGuardRevert(data: Hex | undefined): GuardRevert | undefined {
  if (!data || data.length < 10) return undefined
  let decoded: { errorName: string; args?: readonly unknown[] | undefined }
  try {
    decoded = decodeErrorResult({ abi: guardAbi, data })
  } catch {
    return undefined
  }
  const args = decoded.args ?? []
  switch (decoded.errorName) {
    case 'ConditionFailed': {
      const [index, kind, token, bound, actual] = args as [bigint, number, Address, bigint, bigint]
      const name = (Object.keys(conditionKinds) as ConditionKind[]).find((k) => conditionKinds[k] === kind)
      return { error: 'ConditionFailed', index: Number(index), kind: name ?? 'unknown', token, bound, actual }
    }
    case 'Unreadable': {
      const [index, token] = args as [bigint, Address]
      return { error: 'Unreadable', index: Number(index), token }
    }
    case 'NotWallet':
      return { error: 'NotWallet' }
    case 'UnknownCondition':
      return { error: 'UnknownCondition', index: Number((args as [bigint])[0]) }
    case 'CallFailed': {
      const [index, reason] = args as [bigint, Hex]
      return { error: 'CallFailed', index: Number(index), reason }
    }
    case 'CallToWallet':
      return { error: 'CallToWallet', index: Number((args as [bigint])[0]) }
    default:
      return undefined
  }
}

/**
 * Where a wallet stands with the guard on a chain:
 * - `enforced`: the wallet delegates to the guard, and the guard's code is the expected one;
 * - `off`: the wallet has no code (a plain EOA), so writes go out unwrapped and are settled on their receipts;
 * - `foreign`: the wallet has other code, or delegates elsewhere, or the guard's address holds other code.
 */
export type GuardMode = 'enforced' | 'off' | 'foreign'

/** The guard's state for a wallet on a chain, as read from the chain. */
export type GuardStatus = {
  mode: GuardMode
  /** Whether the guard's code is at {@link guardAddress} with the expected code hash. */
  deployed: boolean
  /** Where the wallet delegates to, when it does. */
  delegatesTo?: Address | undefined
}

/**
 * Reads the wallet's code (and, when it delegates to the guard's address, the guard's code) from the chain.
 *
 * @example const { mode } = await readGuardStatus(chain, wallet) // 'enforced'
 */
export async function readGuardStatus(
  chain: Pick<ChainContext, 'client'>,
  wallet: Address,
): Promise<GuardStatus> {
  const [code, guardCode] = await Promise.all([
    chain.client.getCode({ address: wallet }),
    chain.client.getCode({ address: guardAddress }),
  ])
  const deployed = guardCode !== undefined && guardCode !== '0x' && keccak256(guardCode) === guardCodeHash
  if (!code || code === '0x') return { mode: 'off', deployed }
  const delegatesTo = delegationTarget(code)
  const mode = delegatesTo && isAddressEqual(delegatesTo, guardAddress) && deployed ? 'enforced' : 'foreign'
  return { mode, deployed, delegatesTo }
}

/** The address an EIP-7702 delegation designator points to; undefined for other code. */
export function delegationTarget(code: Hex): Address | undefined {
  const lower = code.toLowerCase()
  if (lower.length !== 2 + 2 * 23 || !lower.startsWith('0xef0100')) return undefined
  return `0x${lower.slice(8)}` as Address
}

/**
 * Why a mined transaction reverted, when it was the guard: the top call frame's output from `debug_traceTransaction`
 * (geth's callTracer), or, where the endpoint has no tracing, the transaction replayed on its parent block.
 * Undefined when the revert was not the guard's own (the inner call's revert, out of gas) or cannot be told.
 *
 * @example const why = await readGuardRevert(chain, hash, receipt.blockNumber)
 */
export async function readGuardRevert(
  chain: Pick<ChainContext, 'client'>,
  hash: Hash,
  blockNumber: bigint,
): Promise<GuardRevert | undefined> {
  const request = chain.client.request as (args: { method: string; params: unknown[] }) => Promise<unknown>
  const trace = (await request({
    method: 'debug_traceTransaction',
    params: [hash, { tracer: 'callTracer', tracerConfig: { onlyTopCall: true } }],
  }).catch(() => undefined)) as { output?: Hex } | undefined
  if (trace) return decodeGuardRevert(trace.output)
  const [tx, block] = await Promise.all([
    chain.client.getTransaction({ hash }).catch(() => undefined),
    chain.client.getBlock({ blockNumber }).catch(() => undefined),
  ])
  if (!tx?.to) return undefined
  try {
    // On the parent block's state, with the mined block's number and time: a contract that turns on a block or a
    // time does again what it did.
    await chain.client.call({
      account: tx.from,
      to: tx.to,
      data: tx.input,
      value: tx.value,
      gas: tx.gas,
      blockNumber: blockNumber - 1n,
      ...(block ? { blockOverrides: { number: block.number, time: block.timestamp } } : {}),
    })
    return undefined
  } catch (error) {
    let data: Hex | undefined
    let cause = error as { data?: unknown; cause?: unknown } | undefined
    for (let depth = 0; cause && depth < 8; depth++, cause = cause.cause as typeof cause)
      if (typeof cause.data === 'string' && cause.data.startsWith('0x')) {
        data = cause.data as Hex
        break
      }
    return decodeGuardRevert(data)
  }
}

/**
 * One sentence about a failed post-condition, in the gateway's words (token addresses and numbers only).
 *
 * @example describeGuardRevert(revert, conditions) // 'condition 2 failed: token 0x… may leave at most 10000000, 1000000000 would have'
 */
export function describeGuardRevert(revert: GuardRevert): string {
  if (revert.error === 'NotWallet') return 'the guard was called by an account other than the wallet'
  if (revert.error === 'UnknownCondition')
    return `condition ${revert.index} has a kind the guard does not know`
  if (revert.error === 'CallFailed') return `call ${revert.index} reverted`
  if (revert.error === 'CallToWallet') return `call ${revert.index} targets the wallet itself`
  if (revert.error === 'Unreadable')
    return `condition ${revert.index} could not read token ${revert.token} (no balance or allowance answer)`
  const { index, kind, token, bound, actual } = revert
  switch (kind) {
    case 'nativeMaxOutflow':
      return `condition ${index} failed: at most ${bound} wei of the native coin may leave the wallet, ${actual} would have`
    case 'tokenMaxOutflow':
    case 'multiMaxOutflow':
      return `condition ${index} failed: at most ${bound} (base units) of token ${token} may leave the wallet, ${actual} would have`
    case 'nativeMinInflow':
      return `condition ${index} failed: at least ${bound} wei of the native coin must arrive, ${actual} would have`
    case 'tokenMinInflow':
    case 'multiMinInflow':
      return `condition ${index} failed: at least ${bound} (base units) of token ${token} must arrive, ${actual} would have`
    case 'maxAllowance':
      return `condition ${index} failed: the allowance of token ${token} may be at most ${bound}, it would have been ${actual}`
    case 'nftOwned':
      return `condition ${index} failed: NFT ${bound} of ${token} must be the wallet's afterwards, and would not have been`
    case 'noOperator':
      return `condition ${index} failed: an operator would have stayed approved for all of ${token}`
    default:
      return `condition ${index} failed on token ${token}`
  }
}
