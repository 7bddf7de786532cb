import type { Chain, Hex, PublicClient, Transport } from 'viem'
import { newApprovals } from './approvals.js'
import { type BlockEnvironment, rpcTransaction } from './blockEnvironment.js'
import { SimulationUnavailableError } from './errors.js'
import { revertReason } from './revertReason.js'
import {
  isInvalidTransaction,
  isRevert,
  isUnsupportedMethod,
  jsonRpcErrorOf,
  revertDataOf,
} from './rpcErrors.js'
import { sortApprovals, sortDeltas } from './sortEffects.js'
import type { AssetDelta, Simulation, SimulationCall } from './types.js'
import { type RawLog, walletLogEffects } from './walletLogs.js'

/** A frame of geth's `callTracer` with `withLog: true` (the fields used here). */
type Frame = {
  type?: unknown
  from?: unknown
  to?: unknown
  value?: unknown
  gasUsed?: unknown
  output?: unknown
  error?: unknown
  revertReason?: unknown
  calls?: unknown
  logs?: unknown
}

const valueMoving = new Set(['CALL', 'CREATE', 'CREATE2', 'SELFDESTRUCT'])
const maxDepth = 1100

const quantity = (value: unknown): bigint =>
  typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value) ? BigInt(value) : 0n

const lower = (value: unknown): string => (typeof value === 'string' ? value.toLowerCase() : '')

/**
 * The fallback for endpoints without `eth_simulateV1`: `eth_call` with the same block values says whether the
 * call reverts, and `debug_traceCall` with geth's `callTracer` gives the logs and value moves of the frames that
 * did not revert. Deltas then come from logs and call values alone (flag `deltas-from-logs`): a token that moves
 * more than it logs is not caught here, which is why `eth_simulateV1` is preferred.
 *
 * @example const simulation = await simulateWithTrace(client, env, call, 'base')
 * @throws {SimulationUnavailableError} the endpoint offers neither method (or only `eth_call`, for a call that
 *   does not revert: no effects can be known)
 */
export async function simulateWithTrace(
  client: PublicClient<Transport, Chain>,
  env: BlockEnvironment,
  call: SimulationCall,
  chainName: string,
): Promise<Simulation> {
  const tx = rpcTransaction(env, call)
  const request = client.request as (args: { method: string; params: unknown[] }) => Promise<unknown>
  const [callOutcome, traceOutcome] = await Promise.allSettled([
    request({ method: 'eth_call', params: [tx, env.tag, {}, env.overrides] }),
    request({
      method: 'debug_traceCall',
      params: [
        tx,
        env.tag,
        { tracer: 'callTracer', tracerConfig: { withLog: true }, blockOverrides: env.overrides },
      ],
    }),
  ])

  const base = {
    method: 'eth_call+debug_traceCall' as const,
    blockNumber: env.number,
    gasUsed: 0n,
    deltas: [],
    approvals: [],
  }
  // What eth_call says: undefined when it could not say (unsupported).
  let callReverted: { reason: string } | false | undefined
  if (callOutcome.status === 'fulfilled') callReverted = false
  else if (isUnsupportedMethod(callOutcome.reason)) callReverted = undefined
  else if (isInvalidTransaction(callOutcome.reason))
    return {
      ...base,
      reverted: true,
      revertReason: revertReason(undefined, jsonRpcErrorOf(callOutcome.reason)?.message),
      flags: ['invalid-transaction'],
    }
  else if (isRevert(callOutcome.reason)) {
    const data = revertDataOf(callOutcome.reason)
    const message = jsonRpcErrorOf(callOutcome.reason)?.message
    callReverted = { reason: revertReason(data, message) }
  } else throw callOutcome.reason

  if (traceOutcome.status === 'rejected') {
    if (!isUnsupportedMethod(traceOutcome.reason)) throw traceOutcome.reason
    // A revert is a complete answer; anything else needs the effects that only a trace gives.
    if (callReverted)
      return { ...base, reverted: true, revertReason: callReverted.reason, flags: ['no-trace'] }
    throw new SimulationUnavailableError({ chain: chainName })
  }

  const top = traceOutcome.value as Frame | null
  if (!top || typeof top !== 'object') throw new SimulationUnavailableError({ chain: chainName })
  const topError = typeof top.error === 'string' ? top.error : undefined
  const reverted = callReverted ? true : callReverted === false ? false : topError !== undefined
  const gasUsed = quantity(top.gasUsed)
  if (reverted) {
    const reason = callReverted
      ? callReverted.reason
      : revertReason(
          typeof top.output === 'string' ? (top.output as Hex) : undefined,
          typeof top.revertReason === 'string' ? top.revertReason : topError,
        )
    return { ...base, reverted: true, revertReason: reason, gasUsed, flags: ['deltas-from-logs'] }
  }

  const logs: RawLog[] = []
  const me = call.from.toLowerCase()
  let native = 0n
  const walk = (frame: Frame, depth: number) => {
    if (depth > maxDepth || frame.error !== undefined) return
    const type = typeof frame.type === 'string' ? frame.type.toUpperCase() : ''
    const value = quantity(frame.value)
    if (value !== 0n && valueMoving.has(type)) {
      if (lower(frame.from) === me) native -= value
      if (lower(frame.to) === me) native += value
    }
    const children = Array.isArray(frame.calls) ? (frame.calls as Frame[]) : []
    const own = Array.isArray(frame.logs) ? (frame.logs as (RawLog & { position?: unknown })[]) : []
    // A log's position is the number of child calls made before it: interleave to keep the order of events.
    let next = 0
    for (let i = 0; i <= children.length; i++) {
      while (next < own.length && Number(quantity(own[next]?.position)) <= i) logs.push(own[next++] as RawLog)
      const child = children[i]
      if (child && typeof child === 'object') walk(child, depth + 1)
    }
    while (next < own.length) logs.push(own[next++] as RawLog)
  }
  walk(top, 0)

  const effects = walletLogEffects(logs, call.from)
  const deltas: AssetDelta[] = []
  if (native !== 0n) deltas.push({ kind: 'native', raw: native })
  for (const [token, { token: address, raw }] of effects.erc20)
    if (raw !== 0n && !effects.collections.has(token)) deltas.push({ kind: 'erc20', token: address, raw })
  for (const item of effects.erc721.values())
    if (item.raw !== 0n)
      deltas.push({ kind: 'erc721', token: item.token, tokenId: item.tokenId, raw: item.raw > 0n ? 1n : -1n })
  for (const item of effects.erc1155.values())
    if (item.raw !== 0n)
      deltas.push({ kind: 'erc1155', token: item.token, tokenId: item.tokenId, raw: item.raw })
  return {
    ...base,
    reverted: false,
    gasUsed,
    deltas: sortDeltas(deltas),
    // No prior state is read here: every non-zero approval counts as a grant, which over-reports, never under.
    approvals: sortApprovals(newApprovals(effects.approvals.values(), () => undefined)),
    flags: ['deltas-from-logs'],
  }
}
