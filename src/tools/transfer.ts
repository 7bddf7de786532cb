import { encodeFunctionData, erc20Abi } from 'viem'
import { z } from 'zod'
import { addressOnChain } from '../chains/addressOnChain.js'
import { InvalidAmountError } from '../errors/index.js'
import { AmountString, amountOut, parseAmount } from '../schemas/amount.js'
import { ChainRef } from '../schemas/chainRef.js'
import { ChainAddress } from '../schemas/solanaAddress.js'
import { tokenPhrase } from '../untrusted/quoteUntrusted.js'
import { RecipientInput, resolveRecipient } from './shared/recipient.js'
import { defineWriteTool, WriteOptions } from './shared/write.js'

export const TransferInput = z
  .object({
    chain: ChainRef,
    to: RecipientInput,
    amount: AmountString,
    token: ChainAddress.optional().describe('ERC-20 or SPL mint; omit for native'),
    ...WriteOptions,
  })
  .strict()

/**
 * Sends native tokens or an ERC-20 from the gateway wallet. `to` may be an ENS name; the result shows both.
 * @example await client.callTool({ name: 'transfer', arguments: { chain: 'devnet', to: 'alice.eth', amount: '1.5', token: usdc } })
 */
export const transfer = defineWriteTool({
  name: 'transfer',
  title: 'Transfer',
  description: 'Sends native tokens or an ERC-20 from the gateway wallet.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: TransferInput,
  async build({ chain, to, amount, token: tokenInput }, ctx) {
    const c = ctx.chains.resolve(chain, 'transfer')
    const token = tokenInput === undefined ? undefined : addressOnChain(c, tokenInput, 'token')
    const recipient = await resolveRecipient(to, ctx, { token })
    const shown = recipient.ens ? `${recipient.ens} (${recipient.address})` : recipient.address
    if (!token) {
      const { decimals, symbol } = c.chain.nativeCurrency
      const raw = parseAmount(amount, decimals)
      if (raw === 0n)
        throw new InvalidAmountError({ reason: 'it must be greater than zero', field: 'amount' })
      const formatted = amountOut(raw, decimals)
      return {
        operation: 'transfer',
        chain: c,
        call: { to: recipient.address, data: '0x', value: raw },
        summary: `Send ${formatted.formatted} ${symbol} to ${shown} on ${c.name}.`,
        details: { to: recipient.address, ens: recipient.ens, token: null, symbol, amount: formatted },
      }
    }
    const facts = await ctx.tokens.get(c, token)
    const raw = parseAmount(amount, facts.decimals)
    if (raw === 0n) throw new InvalidAmountError({ reason: 'it must be greater than zero', field: 'amount' })
    const formatted = amountOut(raw, facts.decimals)
    return {
      operation: 'transfer',
      chain: c,
      call: {
        to: token,
        data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [recipient.address, raw] }),
        value: 0n,
      },
      summary: `Send ${formatted.formatted} ${tokenPhrase(token, facts)} to ${shown} on ${c.name}.`,
      details: {
        to: recipient.address,
        ens: recipient.ens,
        token,
        symbol: facts.symbol,
        verified: facts.verified,
        amount: formatted,
      },
    }
  },
})
