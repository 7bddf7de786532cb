import { z } from 'zod'
import { InvalidInputError, toBaseError } from '../errors/index.js'
import { EvmAddress } from '../schemas/address.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { UntrustedJson, untrustedJson } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'
import { CallArgs, coerceArgs, FunctionRef, parseFunction, toJson } from './shared/abi.js'

export const MulticallInput = z
  .object({
    chain: ChainRef,
    calls: z
      .array(z.object({ address: EvmAddress, function: FunctionRef, args: CallArgs }).strict())
      .min(1)
      .max(200),
  })
  .strict()

export const MulticallOutput = z.object({
  ...ChainOut,
  results: z.array(
    z.union([
      z.object({ status: z.literal('success'), result: UntrustedJson }),
      z.object({ status: z.literal('failure'), error: z.object({ code: z.string(), message: z.string() }) }),
    ]),
  ),
})

/**
 * Several reads in one round trip (Multicall3 `aggregate3`); each call succeeds or fails on its own.
 * @example await client.callTool({ name: 'multicall', arguments: { chain: 'devnet', calls: [{ address, function: 'decimals() returns (uint8)' }] } })
 */
export const multicall = defineTool({
  name: 'multicall',
  title: 'Batch reads',
  description: 'Up to 200 read_contract calls at once; each may fail alone; results untrusted.',
  annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
  input: MulticallInput,
  output: MulticallOutput,
  async run({ chain, calls }, { chains }) {
    const c = chains.resolve(chain)
    const contracts = calls.map((call, i) => {
      const fn = parseFunction(call.function, `calls.${i}.function`)
      if (!fn.outputs.length)
        throw new InvalidInputError(`Call ${i} declares no return values.`, { field: `calls.${i}.function` })
      return {
        address: call.address,
        abi: [fn],
        functionName: fn.name,
        args: coerceArgs(fn.inputs, call.args ?? [], `calls.${i}.args`),
      }
    })
    const results = await c.client.multicall({ contracts, allowFailure: true, batchSize: 0 })
    return {
      chain: c.name,
      caip2: c.caip2,
      results: results.map((r) => {
        if (r.status === 'success')
          return { status: 'success' as const, result: untrustedJson(toJson(r.result)) }
        const e = toBaseError(r.error)
        return { status: 'failure' as const, error: { code: e.code, message: e.shortMessage } }
      }),
    }
  },
})
