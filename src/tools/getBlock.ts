import { z } from 'zod'
import { NotFoundError } from '../errors/index.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { defineTool } from './defineTool.js'

export const GetBlockInput = z
  .object({
    chain: ChainRef,
    block: z
      .union([
        z.enum(['latest', 'safe', 'finalized', 'earliest', 'pending']),
        z.string().regex(/^\d{1,20}$/, 'a decimal block number'),
        z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte block hash'),
      ])
      .optional()
      .describe('Tag, number or hash (default latest)'),
  })
  .strict()

export const GetBlockOutput = z.object({
  ...ChainOut,
  number: z.string(),
  hash: z.string().nullable(),
  parentHash: z.string(),
  timestamp: z.string(),
  time: z.string().describe('ISO-8601'),
  baseFeePerGas: z.string().nullable(),
  gasUsed: z.string(),
  gasLimit: z.string(),
  miner: z.string(),
  transactionCount: z.number(),
})

/**
 * A block's header facts.
 * @example await client.callTool({ name: 'get_block', arguments: { chain: 'devnet', block: 'latest' } })
 */
export const getBlock = defineTool({
  name: 'get_block',
  title: 'Block',
  description: 'A block header.',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: GetBlockInput,
  output: GetBlockOutput,
  async run({ chain, block = 'latest' }, { chains }) {
    const c = chains.resolve(chain)
    const b = await c.client
      .getBlock(
        block.startsWith('0x')
          ? { blockHash: block as `0x${string}` }
          : /^\d+$/.test(block)
            ? { blockNumber: BigInt(block) }
            : { blockTag: block as 'latest' },
      )
      .catch((error: unknown) => {
        if ((error as { name?: string }).name === 'BlockNotFoundError')
          throw new NotFoundError(`Block ${block} was not found on ${c.name}.`, { field: 'block' })
        throw error
      })
    return {
      chain: c.name,
      caip2: c.caip2,
      number: String(b.number),
      hash: b.hash,
      parentHash: b.parentHash,
      timestamp: b.timestamp.toString(),
      time: new Date(Number(b.timestamp) * 1000).toISOString(),
      baseFeePerGas: b.baseFeePerGas?.toString() ?? null,
      gasUsed: b.gasUsed.toString(),
      gasLimit: b.gasLimit.toString(),
      miner: b.miner,
      transactionCount: b.transactions.length,
    }
  },
})
