import {
  type Address,
  type Chain,
  encodeFunctionData,
  getAddress,
  type Hex,
  numberToHex,
  type PublicClient,
  parseAbi,
  type Transport,
} from 'viem'
import { RpcError } from '../errors/index.js'
import { approvalPreRead, newApprovals, type PreRead, predictedPreReads } from './approvals.js'
import { type BlockEnvironment, rpcTransaction, transactionFees } from './blockEnvironment.js'
import { revertReason } from './revertReason.js'
import { isInvalidTransaction, jsonRpcErrorOf } from './rpcErrors.js'
import { sortApprovals, sortDeltas } from './sortEffects.js'
import type { AssetDelta, Simulation, SimulationCall } from './types.js'
import { type RawLog, walletLogEffects } from './walletLogs.js'

const multicall3: Address = '0xcA11bde05977b3631167028862bE2a173976CA11'
const readAbi = parseAbi([
  'function balanceOf(address owner) view returns (uint256)',
  'function getEthBalance(address addr) view returns (uint256)',
])

// Sends the balance reads before and after the simulated transaction, never in its block. A fixed address without
// code or history, given a balance by a state override in the reads' own blocks only (the transaction never sees
// it), so the reads cost the wallet nothing and change no nonce.
const reader: Address = '0x5e1a7ed0c0ffee00000000000000000000a1f10c'
const readerBalance = numberToHex(10n ** 30n)
// Each read is its own call with its own gas: a token whose balanceOf burns gas starves only its own read.
const readGas = 150_000n
/** ERC-20 balances read at most per simulation; more tokens in the logs fall back to what the logs say. */
const maxTokens = 48

type CallResult = {
  status?: unknown
  returnData?: unknown
  gasUsed?: unknown
  logs?: unknown
  error?: { message?: unknown; data?: unknown } | null
}

type Reads = { tokens: string[]; pre: PreRead[] }

type Round = {
  tx: CallResult
  /** What one unit of gas cost the wallet in the simulated block. */
  price: bigint
  logs: RawLog[]
  before: (Hex | undefined)[]
  after: (Hex | undefined)[]
  pre: Map<string, Hex>
}

const hexValue = (value: unknown): Hex | undefined =>
  typeof value === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(value) ? (value as Hex) : undefined

const quantity = (value: unknown): bigint =>
  typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value) ? BigInt(value) : 0n

const word = (data: Hex | undefined): bigint | undefined =>
  data !== undefined && data.length === 66 ? BigInt(data) : undefined

/**
 * Simulates `call` with `eth_simulateV1` (validation on, transfers traced) in the block of `env`, with the
 * wallet's balances read in the same block just before and just after it. Balance reads decide the ERC-20 and
 * native deltas; the logs give NFT moves and approvals and are checked against the balances. When the logs name
 * a token or an approval that was not read, a second round reads it too (at most two rounds).
 *
 * @example const simulation = await simulateWithSimulateV1(client, env, call, [usdc])
 * @throws {RpcError} the endpoint answered a malformed result
 * @throws whatever the endpoint's error is when it refuses the request (unsupported method included)
 */
export async function simulateWithSimulateV1(
  client: PublicClient<Transport, Chain>,
  env: BlockEnvironment,
  call: SimulationCall,
  tokens: readonly Address[],
): Promise<Simulation> {
  const reads: Reads = {
    tokens: [...new Set([...tokens, call.to].map((t) => t.toLowerCase()))].slice(0, maxTokens),
    pre: predictedPreReads(call),
  }
  let round = await simulateRound(client, env, call, reads)
  if ('invalid' in round) return invalid(env, round.invalid)
  let effects = walletLogEffects(round.logs, call.from)

  const unreadTokens = [...effects.erc20.keys()].filter(
    (t) => !reads.tokens.includes(t) && !effects.collections.has(t),
  )
  const unreadApprovals = [...effects.approvals.entries()].filter(
    ([key]) => !reads.pre.some((p) => p.key === key),
  )
  if ((unreadTokens.length && reads.tokens.length < maxTokens) || unreadApprovals.length) {
    reads.tokens = [...reads.tokens, ...unreadTokens].slice(0, maxTokens)
    reads.pre = [...reads.pre, ...unreadApprovals.map(([, event]) => approvalPreRead(event, call.from))]
    const second = await simulateRound(client, env, call, reads)
    if ('invalid' in second) return invalid(env, second.invalid)
    round = second
    effects = walletLogEffects(round.logs, call.from)
  }

  const flags: string[] = []
  const deltas: AssetDelta[] = []
  const gasUsed = quantity(round.tx.gasUsed)
  const reverted = round.tx.status !== '0x1'

  // Native: the balance change plus what the wallet paid for gas (gas is the fee, not an asset change).
  const nativeBefore = word(round.before[0])
  const nativeAfter = word(round.after[0])
  let native = effects.native
  if (nativeBefore !== undefined && nativeAfter !== undefined) {
    const read = nativeAfter - nativeBefore + gasUsed * round.price
    if (read !== effects.native) flags.push('native-differs-from-logs')
    // As for tokens: the larger outflow counts; where both say it came in, the balance.
    native = read
    if ((read < 0n || effects.native < 0n) && effects.native < read) native = effects.native
  } else flags.push('native-from-logs')
  if (native !== 0n) deltas.push({ kind: 'native', raw: native })

  const seen = new Set<string>()
  for (const [i, token] of reads.tokens.entries()) {
    seen.add(token)
    if (effects.collections.has(token)) continue
    const fromLogs = effects.erc20.get(token)?.raw ?? 0n
    const before = word(round.before[i + 1])
    const after = word(round.after[i + 1])
    if (before === undefined || after === undefined) {
      if (fromLogs !== 0n) {
        deltas.push({ kind: 'erc20', token: getAddress(token), raw: fromLogs })
        flags.push(`balance-unreadable:${getAddress(token)}`)
      }
      continue
    }
    const read = after - before
    if (read === 0n && fromLogs === 0n) continue
    if (read === fromLogs) deltas.push({ kind: 'erc20', token: getAddress(token), raw: read })
    else {
      // The two disagree (fee-on-transfer, a token that takes more than it logs, or one whose balanceOf lies):
      // the larger outflow (the smaller inflow) counts, whichever of them says it.
      // (Where both say it came in, the balance counts, as it always has: a WETH deposit logs no Transfer.)
      const raw = read < 0n || fromLogs < 0n ? (read < fromLogs ? read : fromLogs) : read
      deltas.push({ kind: 'erc20', token: getAddress(token), raw, fromLogs, fromBalance: read })
      flags.push(`balance-differs-from-logs:${getAddress(token)}`)
    }
  }
  for (const [token, { token: address, raw }] of effects.erc20) {
    if (seen.has(token) || effects.collections.has(token) || raw === 0n) continue
    deltas.push({ kind: 'erc20', token: address, raw })
    flags.push(`balance-unread:${address}`)
  }
  for (const item of effects.erc721.values())
    if (item.raw !== 0n)
      deltas.push({ kind: 'erc721', token: item.token, tokenId: item.tokenId, raw: item.raw > 0n ? 1n : -1n })
  for (const item of effects.erc1155.values())
    if (item.raw !== 0n)
      deltas.push({ kind: 'erc1155', token: item.token, tokenId: item.tokenId, raw: item.raw })

  const approvals = newApprovals(effects.approvals.values(), (key) => round.pre.get(key))
  const simulation: Simulation = {
    method: 'eth_simulateV1',
    blockNumber: env.number,
    reverted,
    gasUsed,
    deltas: sortDeltas(deltas),
    approvals: sortApprovals(approvals),
    flags,
  }
  if (reverted) simulation.revertReason = txRevertReason(round.tx)
  return simulation
}

function txRevertReason(tx: CallResult): string {
  const data = hexValue(tx.returnData)
  if (data && data.length >= 10) return revertReason(data)
  const errorData = hexValue(tx.error?.data)
  if (errorData && errorData.length >= 10) return revertReason(errorData)
  const message = typeof tx.error?.message === 'string' ? tx.error.message : undefined
  // anvil says "execution failed" for every plain revert; it adds nothing.
  return revertReason(
    undefined,
    message && !/^execution (?:failed|reverted)$/i.test(message) ? message : undefined,
  )
}

/** The endpoint refused the transaction as invalid (funds, fees): the write would fail the same way. */
function invalid(env: BlockEnvironment, reason: string): Simulation {
  return {
    method: 'eth_simulateV1',
    blockNumber: env.number,
    reverted: true,
    revertReason: revertReason(undefined, reason || 'the transaction is invalid'),
    gasUsed: 0n,
    deltas: [],
    approvals: [],
    flags: ['invalid-transaction'],
  }
}

/**
 * One simulation round, as two requests pinned to the same state block: the reads of the wallet's balances and
 * allowances before, alone in a simulated block of their own; and the transaction alone in its block (the block
 * values of the real next one, and exactly its gas limit and fees), followed by a second block with the reads of
 * after. Nothing the transaction can observe differs from execution because of the reads: no reader runs before
 * it in its block, no state override exists until the block after it, and no contract it calls was called first.
 */
async function simulateRound(
  client: PublicClient<Transport, Chain>,
  env: BlockEnvironment,
  call: SimulationCall,
  reads: Reads,
): Promise<Round | { invalid: string }> {
  const balanceReads = [
    {
      to: multicall3,
      data: encodeFunctionData({ abi: readAbi, functionName: 'getEthBalance', args: [call.from] }),
    },
    ...reads.tokens.map((token) => ({
      to: token as Address,
      data: encodeFunctionData({ abi: readAbi, functionName: 'balanceOf', args: [call.from] }),
    })),
  ]
  const readCall = (r: { to: Address; data: Hex }) => ({
    from: reader,
    to: r.to,
    input: r.data,
    gas: numberToHex(readGas),
    maxFeePerGas: numberToHex(env.baseFee),
    maxPriorityFeePerGas: '0x0',
  })
  const fees = transactionFees(env, call, 0n)
  const readerFunds = { [reader]: { balance: readerBalance } }
  const afterBlock = {
    ...env.overrides,
    number: numberToHex(BigInt(env.overrides.number) + 1n),
    time: numberToHex(BigInt(env.overrides.time) + 1n),
  }
  const request = (blockStateCalls: unknown[]) =>
    client.request({
      method: 'eth_simulateV1',
      params: [{ blockStateCalls, validation: true, traceTransfers: true }, env.tag],
    } as never)
  let before: unknown
  let executed: unknown
  try {
    ;[before, executed] = await Promise.all([
      request([
        {
          blockOverrides: env.overrides,
          stateOverrides: readerFunds,
          calls: [...balanceReads.map(readCall), ...reads.pre.map(readCall)],
        },
      ]),
      request([
        {
          blockOverrides: env.overrides,
          calls: [rpcTransaction(env, call)],
        },
        { blockOverrides: afterBlock, stateOverrides: readerFunds, calls: balanceReads.map(readCall) },
      ]),
    ])
  } catch (error) {
    if (!isInvalidTransaction(error)) throw error
    return { invalid: jsonRpcErrorOf(error)?.message ?? '' }
  }
  const n = balanceReads.length
  const p = reads.pre.length
  const beforeCalls = blockCalls(before, 0, n + p)
  const txCalls = blockCalls(executed, 0, 1)
  const afterCalls = blockCalls(executed, 1, n)
  const okData = (r: CallResult | undefined) => (r?.status === '0x1' ? hexValue(r.returnData) : undefined)
  const tx = txCalls[0] as CallResult
  const pre = new Map<string, Hex>()
  for (const [i, read] of reads.pre.entries()) {
    const data = okData(beforeCalls[n + i])
    if (data && data.length >= 66) pre.set(read.key, data)
  }
  return {
    tx,
    price: fees.price,
    logs: Array.isArray(tx.logs) ? (tx.logs as RawLog[]) : [],
    before: beforeCalls.slice(0, n).map(okData),
    after: afterCalls.map(okData),
    pre,
  }
}

/** The call results of one simulated block, checked for shape. */
function blockCalls(result: unknown, block: number, expected: number): CallResult[] {
  const calls = Array.isArray(result) ? (result[block] as { calls?: unknown } | undefined)?.calls : undefined
  if (!Array.isArray(calls) || calls.length !== expected || calls.some((r) => !r || typeof r !== 'object'))
    throw new RpcError({ message: 'eth_simulateV1 answered a malformed result (wrong number of calls)' })
  return calls as CallResult[]
}
