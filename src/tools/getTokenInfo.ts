import { erc20Abi } from 'viem'
import { z } from 'zod'
import { addressOnChain } from '../chains/addressOnChain.js'
import { AmountOut, amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { ChainAddress } from '../schemas/solanaAddress.js'
import { UntrustedText } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'
import { solanaTokenInfo } from './shared/solanaReads.js'

export const GetTokenInfoInput = z.object({ chain: ChainRef, token: ChainAddress }).strict()

export const GetTokenInfoOutput = z.object({
  ...ChainOut,
  token: z.string(),
  name: UntrustedText,
  symbol: UntrustedText,
  decimals: z.number(),
  totalSupply: AmountOut,
  verified: z.boolean().describe('In the built-in registry'),
  warnings: z.array(z.string()),
  risks: z.array(z.string()).optional(),
  solana: z.record(z.string(), z.unknown()).optional().describe('Program, authorities, extensions'),
})

/**
 * Facts about an ERC-20 token: name, symbol, decimals, total supply, and whether it is a known token.
 * @example await client.callTool({ name: 'get_token_info', arguments: { chain: 'devnet', token: usdc } })
 * @throws {TokenNotSupportedError} decimals() reverts or is absurd and the token is not in the registry
 */
export const getTokenInfo = defineTool({
  name: 'get_token_info',
  title: 'Token info',
  description: 'Token name, symbol, decimals, supply, risks. Trust `verified`.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: GetTokenInfoInput,
  output: GetTokenInfoOutput,
  async run({ chain, token: input }, { chains, tokens, solanaDevnet }) {
    const any = chains.resolveAny(chain)
    if (any.family === 'solana')
      return solanaTokenInfo(any, addressOnChain(any, input, 'token'), solanaDevnet)
    const c = any
    const token = addressOnChain(c, input, 'token')
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
