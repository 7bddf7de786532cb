import { parseAbi } from 'viem'
import { z } from 'zod'
import { InvalidInputError, NotFoundError } from '../errors/index.js'
import { EvmAddress } from '../schemas/address.js'
import { formatAmount } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import { UntrustedText, untrustedText } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'

export const GetPriceInput = z
  .object({
    chain: ChainRef,
    pair: z
      .string()
      .regex(/^[A-Z0-9]{1,12}\/[A-Z0-9]{1,12}$/, 'a pair like "ETH/USD"')
      .optional()
      .describe('e.g. "ETH/USD"'),
    feed: EvmAddress.optional().describe('AggregatorV3 feed address'),
  })
  .strict()

export const GetPriceOutput = z.object({
  ...ChainOut,
  feed: z.string(),
  pair: z.string().nullable(),
  description: UntrustedText,
  price: z.string(),
  decimals: z.number(),
  answerRaw: z.string(),
  roundId: z.string(),
  updatedAt: z.string().describe('ISO-8601'),
  ageSeconds: z.number(),
  stale: z.boolean().describe('Older than 24 h or not positive'),
})

const aggregatorAbi = parseAbi([
  'function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)',
  'function decimals() view returns (uint8)',
  'function description() view returns (string)',
])

/**
 * Reads a Chainlink-style price feed (AggregatorV3Interface), by known pair or by feed address.
 * @example await client.callTool({ name: 'get_price', arguments: { chain: 'devnet', pair: 'ETH/USD' } })
 */
export const getPrice = defineTool({
  name: 'get_price',
  title: 'Price feed',
  description: 'Latest Chainlink-style feed price, by pair or feed address.',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: GetPriceInput,
  output: GetPriceOutput,
  async run({ chain, pair, feed }, { chains, tokens }) {
    const c = chains.resolve(chain)
    if (!pair === !feed)
      throw new InvalidInputError('Give exactly one of `pair` or `feed`.', { field: pair ? 'feed' : 'pair' })
    const feeds = tokens.contracts(c.id)?.feeds ?? {}
    const address = feed ?? feeds[pair!]?.address
    if (!address)
      throw new NotFoundError(`No known feed for ${pair} on ${c.name}.`, {
        field: 'pair',
        metaMessages: [
          `Known pairs here: ${Object.keys(feeds).join(', ') || 'none'}. Or pass a feed address.`,
        ],
      })
    const [round, decimals, description] = await c.client.multicall({
      allowFailure: false,
      batchSize: 0,
      contracts: [
        { address, abi: aggregatorAbi, functionName: 'latestRoundData' },
        { address, abi: aggregatorAbi, functionName: 'decimals' },
        { address, abi: aggregatorAbi, functionName: 'description' },
      ],
    })
    const [roundId, answer, , updatedAt] = round
    const age = Math.max(0, Math.floor(Date.now() / 1000) - Number(updatedAt))
    return {
      chain: c.name,
      caip2: c.caip2,
      feed: address,
      pair: pair ?? null,
      description: untrustedText(description, { maxLength: 64 }),
      price: formatAmount(answer, decimals),
      decimals,
      answerRaw: answer.toString(),
      roundId: roundId.toString(),
      updatedAt: new Date(Number(updatedAt) * 1000).toISOString(),
      ageSeconds: age,
      stale: answer <= 0n || age > 86_400,
    }
  },
})
