import { z } from 'zod'
import { AmountString } from '../schemas/amount.js'
import { ChainRef } from '../schemas/chainRef.js'
import { UntrustedJson, UntrustedText } from '../untrusted/untrusted.js'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { WriteOptions } from './shared/write.js'

export const FetchWithPaymentInput = z
  .object({
    url: z
      .string()
      .max(2048)
      .refine((u) => URL.canParse(u) && new URL(u).protocol === 'https:', 'an https:// URL'),
    chain: ChainRef,
    maxAmount: AmountString,
    asset: z.string().min(1).max(64).optional().describe('Default USDC'),
    method: z.enum(['GET', 'POST']).optional(),
    body: z
      .string()
      .max(64 * 1024)
      .optional(),
    contentType: z.string().max(128).optional(),
    idempotencyKey: WriteOptions.idempotencyKey,
  })
  .strict()

export const FetchWithPaymentOutput = z.object({
  paid: z.boolean().describe('Whether a payment was handed to the server and it answered'),
  intent: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('The payment intent, as get_intent shows it (when the server asked for payment)'),
  paymentReceipt: z
    .object({ success: z.boolean(), transaction: z.string(), network: z.string() })
    .optional()
    .describe("The server's settlement receipt (PAYMENT-RESPONSE)"),
  response: z
    .object({
      status: z.number(),
      contentType: z.string(),
      bytes: z.number(),
      body: z.union([UntrustedJson, UntrustedText]).optional(),
    })
    .optional(),
})

/**
 * Buys an x402-protected HTTP resource: fetches it behind the SSRF guard; on a 402 the payment is a guarded intent
 * (operation `pay`: policy, limits, approval, kill switch, audit) and the response comes back as untrusted data.
 * @example await client.callTool({ name: 'fetch_with_payment', arguments: { url, chain: 'base', maxAmount: '0.05' } })
 */
export const fetchWithPayment = defineTool({
  name: 'fetch_with_payment',
  title: 'Fetch with payment',
  description: 'Fetch an https URL, paying its x402 price (≤ maxAmount, on chain) under policy.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: FetchWithPaymentInput,
  output: FetchWithPaymentOutput,
  async run(input, ctx, request) {
    return requireCapability(ctx.payments).fetchWithPayment(input, request)
  },
})
