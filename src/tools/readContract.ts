import { z } from 'zod'
import { InvalidInputError } from '../errors/index.js'
import { EvmAddress } from '../schemas/address.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { UntrustedJson, untrustedJson } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'
import { CallArgs, coerceArgs, FunctionRef, parseFunction, toJson } from './shared/abi.js'

export const ReadContractInput = z
  .object({
    chain: ChainRef,
    address: EvmAddress,
    function: FunctionRef,
    args: CallArgs,
    blockNumber: z
      .string()
      .regex(/^\d{1,20}$/, 'a decimal block number')
      .optional(),
  })
  .strict()

export const ReadContractOutput = z.object({
  ...ChainOut,
  address: z.string(),
  function: z.string(),
  result: UntrustedJson.describe('Decoded; untrusted'),
})

/**
 * Calls a view function and decodes the result.
 * @example await client.callTool({ name: 'read_contract', arguments: { chain: 'devnet', address: usdc, function: 'function totalSupply() view returns (uint256)' } })
 */
export const readContract = defineTool({
  name: 'read_contract',
  title: 'Read a contract',
  description: 'Calls a view function (eth_call); integers as decimal strings.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: ReadContractInput,
  output: ReadContractOutput,
  async run({ chain, address, function: ref, args = [], blockNumber }, { chains }) {
    const c = chains.resolve(chain)
    const fn = parseFunction(ref)
    if (!fn.outputs.length)
      throw new InvalidInputError('The function declares no return values, so there is nothing to read.', {
        field: 'function',
        metaMessages: ['Add "returns (…)" to the signature.'],
      })
    const result = await c.client.readContract({
      address,
      abi: [fn],
      functionName: fn.name,
      args: coerceArgs(fn.inputs, args),
      ...(blockNumber ? { blockNumber: BigInt(blockNumber) } : {}),
    })
    return {
      chain: c.name,
      caip2: c.caip2,
      address,
      function: `${fn.name}(${fn.inputs.map((i) => i.type).join(',')})`,
      result: untrustedJson(toJson(result)),
    }
  },
})
