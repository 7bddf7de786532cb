import { toFunctionSignature } from 'viem'
import { z } from 'zod'
import { EvmAddress } from '../schemas/address.js'
import { AmountString, amountOut, parseAmount } from '../schemas/amount.js'
import { ChainRef } from '../schemas/chainRef.js'
import { CallArgs, coerceArgs, encodeCall, FunctionRef, parseFunction, toJson } from './shared/abi.js'
import { defineWriteTool, WriteOptions } from './shared/write.js'

export const WriteContractInput = z
  .object({
    chain: ChainRef,
    address: EvmAddress,
    function: FunctionRef,
    args: CallArgs,
    value: AmountString.optional().describe('Native value, display units'),
    ...WriteOptions,
  })
  .strict()

/**
 * Calls a state-changing contract function from the gateway wallet.
 * @example await client.callTool({ name: 'write_contract', arguments: { chain: 'devnet', address: weth, function: 'deposit() payable', value: '1' } })
 */
export const writeContract = defineWriteTool({
  name: 'write_contract',
  title: 'Call a contract',
  description: 'Calls a contract function that changes state (as read_contract).',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: WriteContractInput,
  async build({ chain, address, function: ref, args = [], value }, ctx) {
    const c = ctx.chains.resolve(chain)
    const fn = parseFunction(ref)
    const values = coerceArgs(fn.inputs, args)
    const { decimals, symbol } = c.chain.nativeCurrency
    const raw = value === undefined ? 0n : parseAmount(value, decimals, 'value')
    const signature = toFunctionSignature(fn)
    return {
      operation: 'write_contract',
      chain: c,
      call: {
        to: address,
        data: encodeCall(fn, values),
        value: raw,
      },
      summary: `Call ${signature} on ${address}${raw ? ` sending ${amountOut(raw, decimals).formatted} ${symbol}` : ''} on ${c.name}.`,
      details: { address, function: signature, args: toJson(values), value: amountOut(raw, decimals) },
    }
  },
})
