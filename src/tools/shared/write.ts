import type { Address, Hex } from 'viem'
import { z } from 'zod'
import type { ChainContext } from '../../chains/chains.js'
import type { ToolAnnotations } from '../../context/tool.js'
import type { ToolContext } from '../context.js'

/** Options every write tool accepts, spread into its input schema. */
export const WriteOptions = {
  mode: z.enum(['send', 'unsigned']).optional().describe('"unsigned": unsigned, for your own wallet'),
  wait: z.boolean().optional().describe('Wait for the receipt'),
  confirmations: z.number().int().min(1).max(64).optional().describe('With `wait`; default 1'),
  idempotencyKey: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only')
    .optional()
    .describe('Same key, same intent'),
}

/** The write options as the pipeline receives them. */
export type WriteOptionsValue = {
  mode?: 'send' | 'unsigned' | undefined
  wait?: boolean | undefined
  confirmations?: number | undefined
  idempotencyKey?: string | undefined
}

/** What every write tool returns: the intent, where it stands, and the transaction. */
export const WriteResult = z.object({
  intentId: z.string(),
  status: z.enum([
    'created',
    'signed',
    'broadcast',
    'mined',
    'failed',
    'replaced',
    'dropped',
    'cancelled',
    'held',
    'completed',
  ]),
  chain: z.string(),
  caip2: z.string(),
  operation: z.string(),
  summary: z
    .string()
    .describe('What the gateway will do / did, in words, from its own decoding of the call.'),
  details: z.record(z.string(), z.unknown()),
  from: z.string(),
  agent: z.string().optional().describe('Who asked for it (e.g. "operator:local").'),
  origin: z.enum(['tool', 'order', 'payout']).optional().describe('What started it.'),
  txHash: z.string().optional(),
  nonce: z.number().optional(),
  unsignedTransaction: z
    .object({
      type: z.literal('eip1559'),
      chainId: z.number(),
      from: z.string(),
      to: z.string(),
      value: z.string(),
      data: z.string(),
      nonce: z.number(),
      gas: z.string(),
      maxFeePerGas: z.string(),
      maxPriorityFeePerGas: z.string(),
      serialized: z.string().describe('RLP-serialized EIP-1559 transaction, unsigned (0x02…).'),
    })
    .or(
      z.object({
        type: z.literal('solana'),
        feePayer: z.string(),
        blockhash: z.string(),
        lastValidBlockHeight: z.string(),
        message: z.string().describe('base64 message bytes the fee payer signs'),
        serialized: z.string().describe('base64 wire transaction with an empty signature'),
      }),
    )
    .optional(),
  receipt: z
    .object({
      blockNumber: z.string(),
      gasUsed: z.string(),
      status: z.enum(['success', 'reverted']),
      confirmations: z.number(),
    })
    .optional(),
  settlement: z
    .object({
      blockNumber: z.string(),
      status: z.enum(['success', 'reverted']),
      outflows: z.record(z.string(), z.string()).describe('What left the wallet per asset (base units).'),
      excess: z
        .array(
          z.object({
            asset: z.string(),
            moved: z.string(),
            checked: z.string(),
            formatted: z.object({ moved: z.string(), checked: z.string() }).optional(),
          }),
        )
        .describe('Assets that moved more than the simulation (and any approval) showed: a breach.'),
      unchecked: z.array(z.object({ token: z.string(), spender: z.string(), amount: z.string().nullable() })),
      postcondition: z
        .object({
          contract: z.string(),
          reason: z.string(),
          error: z.string(),
          index: z.number().optional(),
          kind: z.string().optional(),
          token: z.string().optional(),
          bound: z.string().optional(),
          actual: z.string().optional(),
        })
        .optional()
        .describe('The on-chain guard reverted the write: which post-condition failed. Nothing moved.'),
    })
    .optional()
    .describe(
      'Once mined: what the receipt shows actually moved. Any excess over what was checked engages the kill switch.',
    ),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  guard: z
    .object({
      address: z.string().describe("The guard contract the wallet's code delegates to (EIP-7702)."),
      conditions: z.array(
        z.object({
          kind: z.string(),
          token: z.string().optional(),
          spender: z.string().optional(),
          id: z.string().optional(),
          amount: z.string().describe('The bound, in base units.'),
        }),
      ),
    })
    .optional()
    .describe(
      'On-chain post-conditions: the transaction reverts if more leaves or less arrives than was checked',
    ),
  approval: z
    .object({
      status: z.enum(['pending', 'approved', 'denied', 'expired']),
      reasons: z.array(z.string()).describe('Why a policy rule holds it.'),
      intentHash: z
        .string()
        .describe('The approval is bound to this hash of the call and its simulated effects.'),
      expiresAt: z.string(),
      simulation: z.record(z.string(), z.unknown()).nullable().describe("The gateway's own simulation."),
      how: z.string(),
    })
    .optional()
    .describe('Present while the intent is held for a human (status "held").'),
})

/** A write tool's result. */
export type WriteResultValue = z.infer<typeof WriteResult>

/** The call a write tool asks the pipeline to carry, before fees, nonce and signature. */
export type WriteDraft = {
  operation: 'transfer' | 'approve' | 'write_contract' | 'swap'
  chain: ChainContext
  call: { to: Address; data: Hex; value: bigint }
  /** One sentence in the gateway's words (never the agent's). */
  summary: string
  /** JSON-safe resolved facts: recipient, token, amounts in raw and formatted form. */
  details: Record<string, unknown>
}

/** The tool context a write tool's `build` gets: the read context plus the gateway wallet's address. */
export type WriteContext = ToolContext & { wallet: Address }

/** A write tool: input schema and a `build` that turns validated input into a {@link WriteDraft}. */
export type WriteToolDefinition<
  I extends z.ZodType<Record<string, unknown>> = z.ZodType<Record<string, unknown>>,
> = {
  kind: 'write'
  name: string
  title: string
  description: string
  annotations: ToolAnnotations
  input: I
  output: typeof WriteResult
  build(input: z.output<I>, context: WriteContext): Promise<WriteDraft>
}

/**
 * Declares a write tool. It never signs: it describes the call, and the pipeline records the intent, estimates fees,
 * reserves a nonce, signs (or returns the unsigned transaction), broadcasts and tracks it.
 *
 * @example export const transfer = defineWriteTool({ name: 'transfer', input, async build(args, ctx) { … } })
 */
export function defineWriteTool<I extends z.ZodType<Record<string, unknown>>>(
  definition: Omit<WriteToolDefinition<I>, 'kind' | 'output'>,
): WriteToolDefinition<I> {
  return { ...definition, kind: 'write', output: WriteResult }
}
