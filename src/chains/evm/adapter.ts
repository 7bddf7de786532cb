import {
  type Address,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  type Hash,
  type Hex,
  type TransactionSerializableEIP1559,
} from 'viem'
import type { AssetId, ChainAdapter, DeliveryOutcome, TrackState } from '../../context/chain.js'
import { BaseError, InvalidAddressError, SigningRefusedError } from '../../errors/index.js'
import { addressProblem } from '../../schemas/address.js'
import type { Signer } from '../../signer/signer.js'
import { type SimulateWriteOptions, simulateWrite } from '../../simulate/simulate.js'
import type { Simulation, SimulationCall } from '../../simulate/types.js'
import { sendRaw } from '../../txs/sendRaw.js'
import { erc20AssetId } from '../caip19.js'
import type { EvmChainContext } from '../chains.js'
import type { TokenFacts, TokenFactsService } from '../tokenFacts.js'

/** A call the EVM pipeline carries: what the transaction will do, before fees, nonce and signature. */
export type EvmCall = { to: Address; data: Hex; value: bigint }

/** The types the EVM adapter works in (see {@link ChainAdapter}). */
export type EvmAdapterTypes = {
  chain: EvmChainContext
  address: Address
  tokenFacts: TokenFacts
  /** A transfer as a call, with the CAIP-19 id of the asset it moves. */
  draft: EvmCall & { assetId: AssetId }
  simulateInput: { call: SimulationCall; options?: SimulateWriteOptions | undefined }
  simulation: Simulation
  unsigned: TransactionSerializableEIP1559
  signed: Hex
  handle: Hash
}

/** The EVM family's adapter. */
export type EvmAdapter = ChainAdapter<EvmAdapterTypes> & { readonly family: 'evm' }

/** Options of {@link createEvmAdapter}. */
export type CreateEvmAdapterOptions = {
  /** Token facts (decimals, sanitized symbol and name), cached for the process. */
  tokens: TokenFactsService
  /** The gateway wallet's signer; without one, `sign` says no wallet is configured. */
  signer?: Signer | undefined
}

/**
 * The EVM adapter: the family-neutral {@link ChainAdapter} over today's EVM code — viem clients behind Airlock's RPC
 * transport, the token facts service, `simulateWrite` (`src/simulate/`), the signer (`src/signer/`) and `sendRaw`
 * (`src/txs/`). It wraps them and adds nothing to what they decide; the write path's journal, nonces, fees and
 * tracking keep working on them directly until the draft executor calls the adapter.
 *
 * @example
 * const evm = createEvmAdapter({ tokens, signer })
 * const draft = await evm.buildTransfer(chain, { from: wallet, to: bob, amount: 1_500_000n, token: usdc })
 * const simulation = await evm.simulate(chain, { call: { from: wallet, ...draft } })
 */
export function createEvmAdapter(options: CreateEvmAdapterOptions): EvmAdapter {
  const { tokens } = options
  return {
    family: 'evm',

    parseAddress(text, field) {
      const problem = addressProblem(text)
      if (problem)
        throw new InvalidAddressError({ reason: problem, ...(field === undefined ? {} : { field }) })
      return getAddress(text)
    },

    async nativeBalance(chain, address) {
      const raw = await chain.client.getBalance({ address })
      const { assetId, decimals, symbol } = chain.native
      return { assetId, raw, decimals, symbol }
    },

    async tokenBalances(chain, address, list) {
      if (!list.length) return []
      const results = await chain.client.multicall({
        contracts: list.map((token) => ({
          address: token,
          abi: erc20Abi,
          functionName: 'balanceOf' as const,
          args: [address] as const,
        })),
        allowFailure: true,
      })
      const out: Awaited<ReturnType<EvmAdapter['tokenBalances']>> = []
      for (const [i, token] of list.entries()) {
        const result = results[i]
        if (result?.status !== 'success') continue
        const facts = await tokens.get(chain, token).catch(() => undefined)
        if (!facts) continue // not a token we can count in: left out, never guessed
        out.push({
          token,
          assetId: erc20AssetId(chain.caip2, token),
          raw: result.result as bigint,
          decimals: facts.decimals,
          symbol: facts.symbol.value,
        })
      }
      return out
    },

    tokenFacts: (chain, token) => tokens.get(chain, token),

    async buildTransfer(chain, { to, amount, token }) {
      if (amount < 0n) throw new TypeError('A transfer amount is never negative.')
      if (!token) return { to, data: '0x', value: amount, assetId: chain.native.assetId }
      return {
        to: token,
        data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, amount] }),
        value: 0n,
        assetId: erc20AssetId(chain.caip2, token),
      }
    },

    simulate: (chain, { call, options: simulateOptions }) => simulateWrite(chain, call, simulateOptions),

    async sign(chain, unsigned) {
      const signer = options.signer
      if (!signer)
        throw new BaseError(
          'WALLET_NOT_CONFIGURED',
          'No wallet is configured, so this gateway cannot sign.',
          {
            metaMessages: ['Create or import a wallet (airlock wallet …) and start the gateway with it.'],
          },
        )
      if (unsigned.chainId !== chain.id)
        throw new SigningRefusedError({
          reason: `the transaction is for chain id ${String(unsigned.chainId)}, not ${chain.name} (${chain.id})`,
        })
      return signer.signTransaction(unsigned)
    },

    send: (chain, signed): Promise<DeliveryOutcome> => sendRaw(chain, signed),

    async track(chain, hash): Promise<TrackState> {
      const receipt = await chain.client.getTransactionReceipt({ hash }).catch(() => null)
      if (receipt)
        return { state: 'mined', success: receipt.status === 'success', block: receipt.blockNumber }
      const known = await chain.client.getTransaction({ hash }).catch(() => null)
      return known ? { state: 'pending' } : { state: 'unknown' }
    },
  }
}
