import { type Address, type Hex, numberToHex } from 'viem'
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
  /** Priority fee of the simulated transaction; its price per gas is `baseFee + tip`. */
  tip: bigint
  gasLimit: bigint
  /** The wallet's native balance at the state block: caps the gas the transaction can pay for. */
  balance: bigint
}

// Used when the latest block names no fee recipient (devnets): any real block has one.
const fallbackFeeRecipient: Address = '0x7a3e5a1d9c2b8f4e6017d3c5b9a8e2f1c4d6b0e9'
const maxTip = 1_000_000_000n
// Real chains never have a zero base fee after London; some devnets do. 7 wei is EIP-1559's floor elsewhere.
const minBaseFee = 7n

type RawBlock = {
  number?: unknown
  timestamp?: unknown
  gasLimit?: unknown
  baseFeePerGas?: unknown
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
 * Reads the block to pin a simulation to (the latest, or `blockNumber`) and the wallet's balance in one round
 * trip, and derives block values a contract cannot tell from a real next block: number + 1, a later timestamp,
 * a non-zero fee recipient, a random `prevRandao`, the real base fee and gas limit.
 *
 * @example const env = await readBlockEnvironment(chain, call) // env.overrides.number === latest + 1
 * @throws {RpcError} the endpoint answered no block or a malformed one
 */
export async function readBlockEnvironment(
  chain: ChainContext,
  call: SimulationCall,
  blockNumber?: bigint,
): Promise<BlockEnvironment> {
  const at = blockNumber === undefined ? 'latest' : numberToHex(blockNumber)
  const request = chain.client.request as (args: { method: string; params: unknown[] }) => Promise<unknown>
  const [block, balanceHex] = await Promise.all([
    request({ method: 'eth_getBlockByNumber', params: [at, false] }) as Promise<RawBlock | null>,
    request({ method: 'eth_getBalance', params: [call.from, at] }),
  ])
  if (!block || typeof block !== 'object')
    throw new RpcError({ message: `chain "${chain.name}" has no block ${blockNumber ?? 'latest'}` })
  const number = quantity(block.number, 'number', chain.name)
  const timestamp = quantity(block.timestamp, 'timestamp', chain.name)
  const gasLimit = quantity(block.gasLimit, 'gasLimit', chain.name)
  const latestBaseFee =
    block.baseFeePerGas === undefined || block.baseFeePerGas === null
      ? 0n
      : quantity(block.baseFeePerGas, 'baseFeePerGas', chain.name)
  const baseFee = latestBaseFee > minBaseFee ? latestBaseFee : minBaseFee
  const tip = baseFee / 10n > maxTip ? maxTip : baseFee / 10n > 0n ? baseFee / 10n : 1n
  const balance = quantity(balanceHex, 'balance', chain.name)

  const miner = typeof block.miner === 'string' && /^0x[0-9a-fA-F]{40}$/.test(block.miner) ? block.miner : ''
  const feeRecipient =
    miner && BigInt(miner) !== 0n && miner.toLowerCase() !== call.from.toLowerCase()
      ? (miner as Address)
      : fallbackFeeRecipient
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
    tip,
    gasLimit,
    balance,
  }
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
  const affordable = env.balance > call.value ? (env.balance - call.value) / maxFee : 0n
  let gas = env.gasLimit - reserved
  if (gas > maxTxGas) gas = maxTxGas
  if (gas > affordable) gas = affordable
  return gas < intrinsicGas ? intrinsicGas : gas
}
