import {
  type Address,
  decodeFunctionResult,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  hexToBigInt,
  multicall3Abi,
  padHex,
} from 'viem'
import { z } from 'zod'
import type { ChainContext } from '../../chains/chains.js'
import { metadataCalls, type RawTokenMetadata, type TokenFactsService } from '../../chains/tokenFacts.js'
import { BaseError, toBaseError } from '../../errors/index.js'
import { AmountOut, amountOut } from '../../schemas/amount.js'
import { UntrustedText } from '../../untrusted/untrusted.js'

/** One token's line in a balance listing: a balance, or the reason it could not be read. */
export const TokenBalance = z.union([
  z.object({
    token: z.string(),
    symbol: UntrustedText,
    name: UntrustedText,
    decimals: z.number(),
    balance: AmountOut,
    verified: z
      .boolean()
      .describe(
        'Address and decimals match the built-in registry and the symbol has no lookalike characters.',
      ),
  }),
  z.object({ token: z.string(), error: z.object({ code: z.string(), message: z.string() }) }),
])

type Call = { target: Address; allowFailure: true; callData: Hex }
type Decode = (returnData: Hex) => unknown

const balanceOfSelector = '0x70a08231'
const getEthBalanceSelector = '0x4d2301cc'

/**
 * Native balance plus ERC-20 balances of `owner` in ONE `eth_call` (Multicall3 `aggregate3`), whatever the number
 * of tokens: uncached token metadata (decimals, symbol, name) rides in the same call. The calldata is built once
 * (every `balanceOf(owner)` is the same bytes) and balances are read straight from the 32-byte return words.
 *
 * @example const { native, tokens } = await readBalances(chain, owner, [usdc], tokenFacts)
 */
export async function readBalances(
  chain: ChainContext,
  owner: Address,
  tokens: readonly Address[],
  facts: TokenFactsService,
): Promise<{ native: bigint; tokens: z.infer<typeof TokenBalance>[] }> {
  const multicall3 = chain.chain.contracts?.multicall3?.address
  if (!multicall3)
    throw new BaseError('INTERNAL', `Chain ${chain.name} has no Multicall3 address configured.`, {
      metaMessages: ['Query the tokens one by one with read_contract.'],
    })
  const ownerWord = padHex(owner, { size: 32 }).slice(2)
  const calls: Call[] = [
    { target: multicall3, allowFailure: true, callData: `${getEthBalanceSelector}${ownerWord}` },
  ]
  const metaDecoders: (Decode[] | undefined)[] = []
  for (const token of tokens) {
    calls.push({ target: token, allowFailure: true, callData: `${balanceOfSelector}${ownerWord}` })
    if (facts.cached(chain.id, token)) {
      metaDecoders.push(undefined)
      continue
    }
    const meta = metadataCalls(token)
    metaDecoders.push(
      meta.map((m) => {
        calls.push({ target: token, allowFailure: true, callData: encodeFunctionData(m) })
        return (data: Hex) => decodeFunctionResult({ abi: erc20Abi, functionName: m.functionName, data })
      }),
    )
  }
  const { data } = await chain.client.call({
    to: multicall3,
    data: encodeFunctionData({ abi: multicall3Abi, functionName: 'aggregate3', args: [calls] }),
  })
  if (!data) throw new BaseError('RPC_ERROR', `Multicall3 on ${chain.name} returned no data.`)
  const results = decodeFunctionResult({ abi: multicall3Abi, functionName: 'aggregate3', data })

  let cursor = 0
  const next = () => results[cursor++]!
  const word = (r: { success: boolean; returnData: Hex }) =>
    r.success && r.returnData.length === 66 ? hexToBigInt(r.returnData) : undefined
  const native = word(next())
  if (native === undefined)
    throw new BaseError('RPC_ERROR', `Multicall3 getEthBalance failed on ${chain.name}.`)
  const lines = tokens.map((token, i): z.infer<typeof TokenBalance> => {
    const balance = word(next())
    const decoders = metaDecoders[i]
    try {
      const f = decoders
        ? facts.fromRaw(chain.id, token, decodeMetadata(decoders.map((d) => [d, next()] as const)))
        : facts.cached(chain.id, token)!
      if (balance === undefined)
        return {
          token,
          error: { code: 'CONTRACT_REVERTED', message: 'balanceOf() failed; is this an ERC-20 token?' },
        }
      return {
        token,
        symbol: f.symbol,
        name: f.name,
        decimals: f.decimals,
        balance: amountOut(balance, f.decimals),
        verified: f.verified,
      }
    } catch (error) {
      const e = toBaseError(error)
      return { token, error: { code: e.code, message: e.shortMessage } }
    }
  })
  return { native, tokens: lines }
}

function decodeMetadata(
  parts: (readonly [Decode, { success: boolean; returnData: Hex }])[],
): RawTokenMetadata {
  const [decimals, symbol, name] = parts.map(([decode, r]) => {
    if (!r.success) return { status: 'failure' as const, error: new Error('reverted') }
    try {
      return { status: 'success' as const, result: decode(r.returnData) }
    } catch (error) {
      return { status: 'failure' as const, error }
    }
  })
  return { decimals: decimals!, symbol: symbol!, name: name! }
}
