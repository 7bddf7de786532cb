import { type Address, type Hex, numberToHex, zeroAddress } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { RpcError } from '../errors/index.js'
import type { SimulationCall } from './types.js'

/** Block values for the simulated block, in the JSON-RPC shape `eth_simulateV1`, `eth_call` and `debug_traceCall` take. */
export type BlockOverrides = {
  number: Hex
  time: Hex
  gasLimit: Hex
  feeRecipient: Address
  prevRandao: Hex
  baseFeePerGas: Hex
}

/** The block a simulation is pinned to and the fees its transaction pays. Shared by every endpoint asked. */
export type BlockEnvironment = {
  /** The state block (the simulated block is the next one). */
  number: bigint
  tag: Hex
  overrides: BlockOverrides
  baseFee: bigint
  /** The state block's own base fee (what wallets price a transaction's fee cap from). */
  latestBaseFee: bigint
  /** Priority fee of the simulated transaction when the call brings no fees of its own. */
  tip: bigint
  gasLimit: bigint
  /**
   * The wallet's native balance at the state block: caps the gas of a simulated transaction that brings no gas
   * limit of its own. Not read (undefined) when the caller said the call will bring one.
   */
  balance?: bigint | undefined
}

/** Options of {@link readBlockEnvironment}. */
export type ReadBlockEnvironmentOptions = {
  /**
   * Read the wallet's balance too (default true). Only a call without its own gas limit needs it: the pipeline's
   * calls bring the gas and fees they will be signed with, so it skips the read.
   */
  balance?: boolean | undefined
}

const maxTip = 1_000_000_000n

type RawBlock = {
  number?: unknown
  timestamp?: unknown
  gasLimit?: unknown
  baseFeePerGas?: unknown
  gasUsed?: unknown
  miner?: unknown
}

const quantity = (value: unknown, field: string, chain: string): bigint => {
  if (typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value)) return BigInt(value)
  throw new RpcError({
    message: `the block header from chain "${chain}" has no valid ${field}`,
    details: 'eth_getBlockByNumber answered a malformed block.',
  })
}

function randomWord(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  bytes[31] ||= 1
  return `0x${Buffer.from(bytes).toString('hex')}`
}

/**
 * The base fee of the block after `parent`, by EIP-1559: what the real next block charges, so `block.basefee` and
 * `tx.gasprice` in the simulation are the values the mined transaction will most likely see.
 *
 * @example nextBaseFee({ baseFee: 1_000_000_000n, gasUsed: 0n, gasLimit: 30_000_000n }) // 875_000_000n
 */
export function nextBaseFee(parent: { baseFee: bigint; gasUsed: bigint; gasLimit: bigint }): bigint {
  const target = parent.gasLimit / 2n
  if (target === 0n || parent.gasUsed === target) return parent.baseFee
  if (parent.gasUsed > target) {
    const up = (parent.baseFee * (parent.gasUsed - target)) / target / 8n
    return parent.baseFee + (up > 1n ? up : 1n)
  }
  return parent.baseFee - (parent.baseFee * (target - parent.gasUsed)) / target / 8n
}

/**
 * Reads the block to pin a simulation to (the latest, or `blockNumber`) and, unless `options.balance` is false,
 * the wallet's balance in the same round trip, and derives the values of the real next block, so a contract cannot tell the simulation from execution
 * by them: number + 1, a later timestamp, the chain's own fee recipient (the latest block's, even when that is
 * the zero address, as on a devnet: inventing one would itself be a tell), a random non-zero `prevRandao`, the
 * EIP-1559 next base fee and the real gas limit.
 *
 * @example const env = await readBlockEnvironment(chain, call) // env.overrides.number === latest + 1
 * @throws {RpcError} the endpoint answered no block or a malformed one
 */
export async function readBlockEnvironment(
  chain: ChainContext,
  call: Pick<SimulationCall, 'from'>,
  blockNumber?: bigint,
  options: ReadBlockEnvironmentOptions = {},
): Promise<BlockEnvironment> {
  const at = blockNumber === undefined ? 'latest' : numberToHex(blockNumber)
  const request = chain.client.request as (args: { method: string; params: unknown[] }) => Promise<unknown>
  const [block, balanceHex] = await Promise.all([
    request({ method: 'eth_getBlockByNumber', params: [at, false] }) as Promise<RawBlock | null>,
    options.balance === false ? undefined : request({ method: 'eth_getBalance', params: [call.from, at] }),
  ])
  if (!block || typeof block !== 'object')
    throw new RpcError({ message: `chain "${chain.name}" has no block ${blockNumber ?? 'latest'}` })
  const number = quantity(block.number, 'number', chain.name)
  const timestamp = quantity(block.timestamp, 'timestamp', chain.name)
  const gasLimit = quantity(block.gasLimit, 'gasLimit', chain.name)
  const gasUsed = block.gasUsed === undefined ? 0n : quantity(block.gasUsed, 'gasUsed', chain.name)
  const parentBaseFee =
    block.baseFeePerGas === undefined || block.baseFeePerGas === null
      ? 0n
      : quantity(block.baseFeePerGas, 'baseFeePerGas', chain.name)
  const baseFee = nextBaseFee({ baseFee: parentBaseFee, gasUsed, gasLimit })
  const tip = baseFee / 10n > maxTip ? maxTip : baseFee / 10n > 0n ? baseFee / 10n : 1n
  const balance = balanceHex === undefined ? undefined : quantity(balanceHex, 'balance', chain.name)

  const miner = typeof block.miner === 'string' && /^0x[0-9a-fA-F]{40}$/.test(block.miner) ? block.miner : ''
  const feeRecipient = (miner || zeroAddress) as Address
  // The next block comes one block time later, and never before now (a devnet's last block may be old).
  const step = BigInt(Math.max(1, Math.round((chain.chain.blockTime ?? 12_000) / 1000)))
  const now = BigInt(Math.floor(Date.now() / 1000))
  const time = timestamp + step > now ? timestamp + step : now

  return {
    number,
    tag: numberToHex(number),
    overrides: {
      number: numberToHex(number + 1n),
      time: numberToHex(time),
      gasLimit: numberToHex(gasLimit),
      feeRecipient,
      prevRandao: randomWord(),
      baseFeePerGas: numberToHex(baseFee),
    },
    baseFee,
    latestBaseFee: parentBaseFee,
    tip,
    gasLimit,
    balance,
  }
}

/**
 * The simulated transaction in the JSON-RPC shape `eth_simulateV1`, `eth_call` and `debug_traceCall` take, with the
 * gas and fees of {@link transactionFees}.
 *
 * @example const tx = rpcTransaction(env, call) // { from, to, input, value, gas, maxFeePerGas, maxPriorityFeePerGas }
 */
export function rpcTransaction(env: BlockEnvironment, call: SimulationCall) {
  const fees = transactionFees(env, call, 0n)
  return {
    from: call.from,
    to: call.to,
    input: call.data,
    value: numberToHex(call.value),
    gas: numberToHex(fees.gas),
    maxFeePerGas: numberToHex(fees.maxFeePerGas),
    maxPriorityFeePerGas: numberToHex(fees.maxPriorityFeePerGas),
  }
}

/**
 * Gas and fee fields of the simulated transaction: the ones it will be signed with when the call carries them
 * (the pipeline estimates fees before simulating, so `gasleft()` and `tx.gasprice` match execution), else a
 * realistic derivation from the block. `price` is what one unit of gas costs the wallet in the simulated block.
 *
 * @example const { gas, maxFeePerGas, maxPriorityFeePerGas, price } = transactionFees(env, call, 0n)
 */
export function transactionFees(
  env: BlockEnvironment,
  call: SimulationCall,
  reserved: bigint,
): { gas: bigint; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; price: bigint } {
  const maxFeePerGas = call.maxFeePerGas ?? env.baseFee + env.tip
  const maxPriorityFeePerGas = call.maxPriorityFeePerGas ?? env.tip
  const gas = call.gas ?? transactionGas(env, call, reserved)
  // EIP-1559: the wallet pays the base fee plus its tip, never more than its fee cap.
  let price = env.baseFee + maxPriorityFeePerGas
  if (price > maxFeePerGas) price = maxFeePerGas
  return { gas, maxFeePerGas, maxPriorityFeePerGas, price }
}

// EIP-7825 (Osaka) caps a transaction's gas; a simulation asking for more would be refused as invalid.
const maxTxGas = 16_777_216n
const intrinsicGas = 21_000n

/**
 * The gas limit the simulated transaction gets: what is left of the block after `reserved` (the reads around
 * it), capped by EIP-7825 and by what the wallet can pay for after `value`. A realistic limit, so a contract that
 * looks at `gasleft()` sees about what the real transaction will have, and a wallet that cannot pay fails as it
 * would on chain.
 *
 * @example transactionGas(env, call, 6n * 150_000n)
 */
export function transactionGas(env: BlockEnvironment, call: SimulationCall, reserved: bigint): bigint {
  const maxFee = env.baseFee + env.tip
  // Unread (the caller promised a gas limit of its own): no cap from it.
  const balance = env.balance ?? 2n ** 255n
  const affordable = balance > call.value ? (balance - call.value) / maxFee : 0n
  let gas = env.gasLimit - reserved
  if (gas > maxTxGas) gas = maxTxGas
  if (gas > affordable) gas = affordable
  return gas < intrinsicGas ? intrinsicGas : gas
}
