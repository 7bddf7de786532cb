import {
  type Address,
  decodeEventLog,
  erc20Abi,
  erc721Abi,
  erc1155Abi,
  getAddress,
  type Hash,
  type Log,
  parseAbi,
} from 'viem'
import { z } from 'zod'
import { InvalidInputError, NotFoundError } from '../errors/index.js'
import { amountOut } from '../schemas/amount.js'
import { ChainOut, ChainRef } from '../schemas/chainRef.js'
import type { ToolContext } from './context.js'
import { defineTool } from './defineTool.js'
import { solanaTransaction } from './shared/solanaReads.js'

export const GetTransactionInput = z
  .object({
    chain: ChainRef,
    hash: z
      .string()
      .regex(
        /^0x[0-9a-fA-F]{64}$|^[1-9A-HJ-NP-Za-km-z]{64,88}$/,
        'a 0x-prefixed 32-byte transaction hash (Solana: the base58 signature)',
      ),
  })
  .strict()

const Transfer = z.object({
  standard: z.enum(['erc20', 'erc721', 'erc1155']),
  token: z.string(),
  from: z.string(),
  to: z.string(),
  tokenId: z.string().optional(),
  amount: z.object({ raw: z.string(), formatted: z.string().nullable() }),
  decimals: z.number().nullable(),
})

export const GetTransactionOutput = z.object({
  ...ChainOut,
  hash: z.string(),
  status: z.enum(['pending', 'success', 'reverted']),
  blockNumber: z.string().nullable(),
  from: z.string(),
  to: z.string().nullable(),
  nonce: z.number().optional(),
  value: z.object({ raw: z.string(), formatted: z.string() }).optional(),
  type: z.string().optional(),
  gas: z.string().optional(),
  maxFeePerGas: z.string().nullable().optional(),
  gasPrice: z.string().nullable().optional(),
  input: z.string().optional().describe('Calldata, cut at 2 KiB'),
  receipt: z
    .object({
      gasUsed: z.string(),
      effectiveGasPrice: z.string(),
      contractAddress: z.string().nullable(),
      logs: z.number(),
    })
    .nullable(),
  confirmations: z.number().nullable(),
  transfers: z.array(Transfer).describe('Token transfers from the logs'),
  programs: z.array(z.string()).optional(),
  changes: z.array(z.object({ account: z.string(), asset: z.string(), raw: z.string() })).optional(),
})

const transferSingle = parseAbi([
  'event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)',
])

/**
 * A transaction with its receipt and decoded ERC-20 / ERC-721 / ERC-1155 transfers.
 * @example await client.callTool({ name: 'get_transaction', arguments: { chain: 'devnet', hash } })
 * @throws {NotFoundError} no such transaction on this chain
 */
export const getTransaction = defineTool({
  name: 'get_transaction',
  title: 'Transaction',
  description: 'A transaction by hash or Solana signature, with token transfers.',
  annotations: { readOnlyHint: true, openWorldHint: true },
  input: GetTransactionInput,
  output: GetTransactionOutput,
  async run({ chain, hash }, ctx) {
    const any = ctx.chains.resolveAny(chain)
    if (any.family === 'solana') {
      if (hash.startsWith('0x'))
        throw new InvalidInputError(
          'On Solana a transaction is named by its base58 signature, not a 0x hash.',
          {
            field: 'hash',
          },
        )
      const found = await solanaTransaction(any, hash)
      if (!found)
        throw new NotFoundError(`Transaction ${hash} was not found on ${any.name}.`, {
          field: 'hash',
          metaMessages: ['Check the signature and the cluster.'],
        })
      return found
    }
    const c = any
    if (!hash.startsWith('0x'))
      throw new InvalidInputError('On an EVM chain a transaction is named by its 0x hash.', { field: 'hash' })
    const h = hash.toLowerCase() as Hash
    const [tx, receipt, head] = await Promise.all([
      c.client.getTransaction({ hash: h }).catch(notFound),
      c.client.getTransactionReceipt({ hash: h }).catch(notFound),
      c.client.getBlockNumber({ cacheTime: 0 }),
    ])
    if (!tx)
      throw new NotFoundError(`Transaction ${hash} was not found on ${c.name}.`, {
        field: 'hash',
        metaMessages: ['Check the hash and the chain.'],
      })
    const { decimals } = c.chain.nativeCurrency
    return {
      chain: c.name,
      caip2: c.caip2,
      hash: tx.hash,
      status: receipt
        ? receipt.status === 'success'
          ? ('success' as const)
          : ('reverted' as const)
        : ('pending' as const),
      blockNumber: tx.blockNumber?.toString() ?? null,
      from: getAddress(tx.from),
      to: tx.to ? getAddress(tx.to) : null,
      nonce: tx.nonce,
      value: amountOut(tx.value, decimals),
      type: tx.type,
      gas: tx.gas.toString(),
      maxFeePerGas: tx.maxFeePerGas?.toString() ?? null,
      gasPrice: tx.gasPrice?.toString() ?? null,
      input: tx.input.length > 4098 ? `${tx.input.slice(0, 4098)}…` : tx.input,
      receipt: receipt
        ? {
            gasUsed: receipt.gasUsed.toString(),
            effectiveGasPrice: receipt.effectiveGasPrice.toString(),
            contractAddress: receipt.contractAddress ?? null,
            logs: receipt.logs.length,
          }
        : null,
      confirmations: receipt ? Number(head - receipt.blockNumber + 1n) : null,
      transfers: receipt ? await decodeTransfers(receipt.logs, c, ctx) : [],
    }
  },
})

function notFound(error: unknown): null {
  const name = (error as { name?: string }).name
  if (name === 'TransactionNotFoundError' || name === 'TransactionReceiptNotFoundError') return null
  throw error
}

async function decodeTransfers(
  logs: readonly Log[],
  chain: ReturnType<ToolContext['chains']['resolve']>,
  { tokens }: ToolContext,
): Promise<z.infer<typeof Transfer>[]> {
  const out: z.infer<typeof Transfer>[] = []
  for (const log of logs.slice(0, 200)) {
    const token = getAddress(log.address)
    try {
      if (log.topics.length === 3) {
        const e = decodeEventLog({ abi: erc20Abi, ...log, strict: true })
        if (e.eventName !== 'Transfer') continue
        const facts = await tokens.get(chain, token).catch(() => undefined)
        out.push({
          standard: 'erc20',
          token,
          from: e.args.from,
          to: e.args.to,
          amount: facts
            ? amountOut(e.args.value, facts.decimals)
            : { raw: e.args.value.toString(), formatted: null },
          decimals: facts?.decimals ?? null,
        })
      } else if (log.topics.length === 4 && log.data === '0x') {
        const e = decodeEventLog({ abi: erc721Abi, ...log, strict: true })
        if (e.eventName !== 'Transfer') continue
        out.push({
          standard: 'erc721',
          token,
          from: e.args.from,
          to: e.args.to,
          tokenId: e.args.tokenId.toString(),
          amount: { raw: '1', formatted: '1' },
          decimals: 0,
        })
      } else if (log.topics.length === 4) {
        const e = decodeEventLog({
          abi: [...transferSingle, ...erc1155Abi.filter((i) => i.type === 'event')],
          ...log,
          strict: true,
        })
        if (e.eventName !== 'TransferSingle') continue
        const args = e.args as { from: Address; to: Address; id: bigint; value: bigint }
        out.push({
          standard: 'erc1155',
          token,
          from: args.from,
          to: args.to,
          tokenId: args.id.toString(),
          amount: { raw: args.value.toString(), formatted: args.value.toString() },
          decimals: 0,
        })
      }
    } catch {
      // Not a transfer event of a known shape: skip it.
    }
  }
  return out
}
