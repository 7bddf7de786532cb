import { type Address, erc20Abi, multicall3Abi } from 'viem'
import { z } from 'zod'
import type { ChainContext } from '../../chains/chains.js'
import { metadataCalls, type RawTokenMetadata, type TokenFactsService } from '../../chains/tokenFacts.js'
import { BaseError, toBaseError } from '../../errors/index.js'
import { AmountOut, amountOut } from '../../schemas/amount.js'
import { detectHomoglyphs } from '../../untrusted/sanitizeText.js'
import { UntrustedText, untrustedText } from '../../untrusted/untrusted.js'

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

type Result = { status: 'success'; result: unknown } | { status: 'failure'; error: unknown }

/**
 * Native balance plus ERC-20 balances of `owner` in ONE `eth_call` (Multicall3 `aggregate3`), whatever the number
 * of tokens: uncached token metadata (decimals, symbol, name) rides in the same call.
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
  const needMeta = tokens.map((t) => facts.cached(chain.id, t) === undefined)
  const contracts: {
    address: Address
    abi: typeof erc20Abi | typeof multicall3Abi
    functionName: string
    args?: readonly unknown[]
  }[] = [{ address: multicall3, abi: multicall3Abi, functionName: 'getEthBalance', args: [owner] }]
  tokens.forEach((token, i) => {
    contracts.push({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [owner] })
    if (needMeta[i]) contracts.push(...metadataCalls(token))
  })
  const results = (await chain.client.multicall({
    contracts: contracts as never,
    allowFailure: true,
    batchSize: 0,
    multicallAddress: multicall3,
  })) as Result[]

  let cursor = 0
  const next = () => results[cursor++]!
  const nativeResult = next()
  if (nativeResult.status === 'failure') throw toBaseError(nativeResult.error)
  const lines = tokens.map((token, i): z.infer<typeof TokenBalance> => {
    const balance = next()
    const meta = needMeta[i] ? { decimals: next(), symbol: next(), name: next() } : undefined
    try {
      const f = meta
        ? facts.fromRaw(chain.id, token, meta as RawTokenMetadata)
        : facts.cached(chain.id, token)!
      if (balance.status === 'failure' || typeof balance.result !== 'bigint')
        return {
          token,
          error: { code: 'CONTRACT_REVERTED', message: 'balanceOf() failed; is this an ERC-20 token?' },
        }
      const symbol = untrustedText(f.symbol, { maxLength: 32 })
      return {
        token,
        symbol,
        name: untrustedText(f.name, { maxLength: 64 }),
        decimals: f.decimals,
        balance: amountOut(balance.result, f.decimals),
        verified: f.known && !detectHomoglyphs(f.symbol) && !symbol.sanitized,
      }
    } catch (error) {
      const e = toBaseError(error)
      return { token, error: { code: e.code, message: e.shortMessage } }
    }
  })
  return { native: nativeResult.result as bigint, tokens: lines }
}
