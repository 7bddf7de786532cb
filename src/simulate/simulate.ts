import type { Address, Chain, PublicClient, Transport } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { withAssetIds } from './assetIds.js'
import { type BlockEnvironment, readBlockEnvironment } from './blockEnvironment.js'
import { EndpointDisagreementError, SimulationUnavailableError } from './errors.js'
import { isUnsupportedMethod } from './rpcErrors.js'
import { simulateWithSimulateV1 } from './simulateV1.js'
import { simulateWithTrace } from './simulateWithTrace.js'
import { effectsDifference } from './sortEffects.js'
import type { Simulation, SimulationCall } from './types.js'

/** Options of {@link simulateWrite}. */
export type SimulateWriteOptions = {
  /** ERC-20 tokens whose balance to read before and after, besides the call's `to` and the tokens in its logs. */
  tokens?: readonly Address[] | undefined
  /** Pin to this block instead of the latest. */
  blockNumber?: bigint | undefined
  /**
   * The block to pin to, already read (the pipeline read it to price the transaction's fees): used instead of
   * reading one, so the fees the transaction is signed with and the simulated block come from the same block. A
   * call without its own gas limit still gets a fresh read when this one carries no balance.
   */
  environment?: BlockEnvironment | undefined
}

/**
 * Simulates a write as the wallet would send it and says what it does to the wallet: native, ERC-20, ERC-721
 * and ERC-1155 changes (balance reads win over logs), approvals it grants, and whether it reverts (reason
 * sanitized). Every delta and approval carries its asset's CAIP-19 id (`assetId`). Pinned to one block, with block values a contract cannot tell from the real next block.
 *
 * - `eth_simulateV1` (validation on) in one round trip after one block read (none when `options.environment`
 *   brings it); a second round only when the logs name a token or an approval that was not read.
 * - Endpoints without it: `eth_call` + `debug_traceCall` (deltas from logs, flag `deltas-from-logs`).
 * - Chains with two or more endpoints: two of them simulate the same block and must agree (flag
 *   `endpoints-agree`); with one, flag `single-endpoint`. When one of the two fails, the other's answer is used
 *   with flag `endpoints-unchecked`.
 *
 * @example
 * const simulation = await simulateWrite(chains.resolve('base'), { from, to: usdc, data, value: 0n }, { tokens: [usdc] })
 * simulation.deltas // [{ kind: 'erc20', token: usdc, raw: -1500000n }]
 * @throws {SimulationUnavailableError} the endpoint offers neither `eth_simulateV1` nor `eth_call` + `debug_traceCall`
 * @throws {EndpointDisagreementError} two endpoints described different effects (never names an endpoint)
 * @throws {RpcUnavailableError} no endpoint answered
 */
export async function simulateWrite(
  chain: ChainContext,
  call: SimulationCall,
  options: SimulateWriteOptions = {},
): Promise<Simulation> {
  // Ids are added after the endpoints' answers were compared: they follow from the chain, not from an endpoint.
  return withAssetIds(chain, await simulateAcrossEndpoints(chain, call, options))
}

async function simulateAcrossEndpoints(
  chain: ChainContext,
  call: SimulationCall,
  options: SimulateWriteOptions,
): Promise<Simulation> {
  const given = options.environment
  const env =
    given && (given.balance !== undefined || call.gas !== undefined)
      ? given
      : await readBlockEnvironment(chain, call, options.blockNumber)
  const tokens = options.tokens ?? []
  const pair = endpointPair(chain)
  if (!pair) {
    const simulation = await simulateOn(chain.client, env, call, tokens, chain.name)
    simulation.flags.push(chain.endpoints().length > 1 ? 'endpoints-unchecked' : 'single-endpoint')
    return simulation
  }
  const [a, b] = await Promise.allSettled([
    simulateOn(pair[0], env, call, tokens, chain.name),
    simulateOn(pair[1], env, call, tokens, chain.name),
  ])
  if (a.status === 'fulfilled' && b.status === 'fulfilled') {
    const difference = effectsDifference(a.value, b.value)
    if (difference) throw new EndpointDisagreementError({ chain: chain.name, difference })
    // Prefer the balance-read answer when the two endpoints answered by different methods.
    const chosen =
      b.value.method === 'eth_simulateV1' && a.value.method !== 'eth_simulateV1' ? b.value : a.value
    chosen.flags.push('endpoints-agree')
    return chosen
  }
  const answered = a.status === 'fulfilled' ? a.value : b.status === 'fulfilled' ? b.value : undefined
  if (answered) {
    answered.flags.push('endpoints-unchecked')
    return answered
  }
  throw a.status === 'rejected' ? a.reason : undefined
}

/** Two distinct endpoints to cross-check with, or undefined when the chain has fewer than two usable ones. */
function endpointPair(
  chain: ChainContext,
): [PublicClient<Transport, Chain>, PublicClient<Transport, Chain>] | undefined {
  const health = chain.endpoints()
  if (health.length < 2 || !chain.endpointClients) return undefined
  const clients = chain.endpointClients()
  const usable = clients.filter((_, i) => {
    const state = health[i]?.state
    return state !== undefined && state !== 'open' && state !== 'wrong-chain'
  })
  const [first, second] = usable
  return first && second ? [first, second] : undefined
}

async function simulateOn(
  client: PublicClient<Transport, Chain>,
  env: BlockEnvironment,
  call: SimulationCall,
  tokens: readonly Address[],
  chainName: string,
): Promise<Simulation> {
  try {
    return await simulateWithSimulateV1(client, env, call, tokens)
  } catch (error) {
    if (!isUnsupportedMethod(error)) throw error
  }
  try {
    return await simulateWithTrace(client, env, call, chainName)
  } catch (error) {
    if (isUnsupportedMethod(error)) throw new SimulationUnavailableError({ chain: chainName, cause: error })
    throw error
  }
}
