import { BaseError, type BaseErrorParameters } from '../errors/index.js'

type Extra = Pick<BaseErrorParameters, 'cause' | 'details'>

/**
 * The chain's endpoint offers no way to simulate a write: neither `eth_simulateV1` nor `eth_call` with
 * `debug_traceCall`. The pipeline then asks a human instead of allowing the write on its own.
 *
 * @example throw new SimulationUnavailableError({ chain: 'base' })
 */
export class SimulationUnavailableError extends BaseError {
  override name = 'SimulationUnavailableError'
  constructor({ chain, ...rest }: Extra & { chain: string }) {
    super(
      'SIMULATION_UNAVAILABLE',
      `The RPC endpoint of chain "${chain}" offers neither eth_simulateV1 nor eth_call with debug_traceCall, so the write cannot be simulated.`,
      {
        ...rest,
        metaMessages: [
          'Without a simulation the write needs a human approval.',
          `Configure an endpoint for ${chain} that supports eth_simulateV1 (geth, reth, anvil and most providers do).`,
        ],
      },
    )
  }
}

/**
 * Two endpoints of one chain, asked to simulate the same call on the same block, described different effects.
 * One of them is faulty or lying; the message names the chain and what differed, never an endpoint URL.
 *
 * @example throw new EndpointDisagreementError({ chain: 'base', difference: 'erc20 deltas' })
 */
export class EndpointDisagreementError extends BaseError {
  override name = 'EndpointDisagreementError'
  constructor({ chain, difference, ...rest }: Extra & { chain: string; difference: string }) {
    super(
      'ENDPOINT_DISAGREEMENT',
      `Two RPC endpoints of chain "${chain}" disagree on what this write would do (${difference}).`,
      {
        ...rest,
        metaMessages: [
          'Nothing was signed. One endpoint is faulty or serving false state.',
          `Check the endpoints configured for ${chain} (airlock://chains shows their health) and remove the bad one.`,
        ],
      },
    )
  }
}
