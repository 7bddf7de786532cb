import { x402Client } from '@x402/core/client'
import type { PaymentPayload, PaymentRequired } from '@x402/core/types'
import { ExactEvmScheme } from '@x402/evm/exact/client'
import { mnemonicToAccount } from 'viem/accounts'
import type { CallToolResult } from './mcp.js'
import { testMnemonic } from './passports.js'

/**
 * An x402 client as an agent's MCP client would use it: the official `@x402/core` client with the `@x402/evm` "exact"
 * scheme, paying from devnet account `index` (any asset allowed: the devnet USDC is not in its default table).
 *
 * @example const pay = payerClient(2); const payload = await pay.createPaymentPayload(requiredOf(result))
 */
export function payerClient(index: number): x402Client & { address: `0x${string}` } {
  const account = mnemonicToAccount(testMnemonic, { addressIndex: index })
  const client = new x402Client().register('eip155:*', new ExactEvmScheme(account))
  client.setSpendControls({ allowedAssets: true, maxAmountPerPayment: false })
  return Object.assign(client, { address: account.address })
}

/** The `PaymentRequired` of an unpaid call's result (the x402 MCP binding), or an error when there is none. */
export function requiredOf(result: CallToolResult): PaymentRequired {
  const body = result.structuredContent as PaymentRequired | undefined
  if (!result.isError || !body?.accepts)
    throw new Error(`expected a payment requirement: ${JSON.stringify(result)}`)
  return body
}

/** `_meta` carrying a payment on a `tools/call`. */
export const paid = (payload: PaymentPayload) => ({ 'x402/payment': payload })
