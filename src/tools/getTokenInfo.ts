import { erc20Abi } from 'viem'
import { z } from 'zod'
import { EvmAddress } from '../schemas/address.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { UntrustedText } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'

export const GetTokenInfoInput = z.object({ chain: ChainRef, token: EvmAddress }).strict()

export const GetTokenInfoOutput = z.object({
  ...ChainOut,
  token: z.string(),
  name: UntrustedText,
  symbol: UntrustedText,
  decimals: z.number(),
  totalSupply: AmountOut,
  verified: z.boolean().describe('In the built-in registry'),
  warnings: z.array(z.string()),
})

/**
 * Facts about an ERC-20 token: name, symbol, decimals, total supply, and whether it is a known token.
 * @example await client.callTool({ name: 'get_token_info', arguments: { chain: 'devnet', token: usdc } })
 * @throws {TokenNotSupportedError} decimals() reverts or is absurd and the token is not in the registry
 */
export const getTokenInfo = defineTool({
  name: 'get_token_info',
  title: 'Token info',
  description: 'ERC-20 name, symbol, decimals, supply. Trust `verified`, never the untrusted symbol.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: GetTokenInfoInput,
  output: GetTokenInfoOutput,
  async run({ chain, token }, { chains, tokens }) {
    const c = chains.resolve(chain)
    const [facts, supply] = await Promise.all([
      tokens.get(c, token),
      c.client.readContract({ address: token, abi: erc20Abi, functionName: 'totalSupply' }),
    ])
    const warnings: string[] = []
    if (facts.lookalike)
      warnings.push('The symbol or name mixes scripts or uses lookalike characters (possible impersonation).')
    if (facts.name.sanitized || facts.symbol.sanitized)
      warnings.push('Invisible or control characters were removed from the name or symbol.')
    if (!facts.known)
      warnings.push('Not in the gateway’s token registry: check the address with a trusted source.')
    return {
      chain: c.name,
      caip2: c.caip2,
      token,
      name: facts.name,
      symbol: facts.symbol,
      decimals: facts.decimals,
      totalSupply: amountOut(supply, facts.decimals),
      verified: facts.verified,
      warnings,
    }
  },
})
