import { x402Client } from '@x402/core/client'
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http'
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types'
import { ExactEvmScheme } from '@x402/evm/exact/client'
import { type Address, getAddress, isAddress } from 'viem'
import { toJson } from '../context/json.js'
import { BaseError, InvalidInputError } from '../errors/index.js'
import type { TypedDataToSign } from '../signer/signer.js'
import type { SafeExchangeReturnType } from '../untrusted/safeFetch.js'

/**
 * The payment requirement of a 402 answer (x402 v2: the `PAYMENT-REQUIRED` header, base64 JSON), decoded with the
 * official `@x402/core` code and checked for the fields the gateway relies on.
 *
 * @throws {BaseError} PAYMENT_REQUIRED: the server asked for payment in a form that cannot be read (nothing is signed)
 */
export function paymentRequiredOf(answer: SafeExchangeReturnType): PaymentRequired {
  const header = answer.headers['payment-required']
  const malformed = (why: string) =>
    new BaseError('PAYMENT_REQUIRED', `The server asked for payment, but ${why}: nothing was paid.`, {
      metaMessages: ['Only x402 version 2 servers (a PAYMENT-REQUIRED header) can be paid.'],
    })
  if (!header) throw malformed('its answer carries no PAYMENT-REQUIRED header')
  let required: PaymentRequired
  try {
    required = decodePaymentRequiredHeader(header)
  } catch {
    throw malformed('its PAYMENT-REQUIRED header is malformed')
  }
  if (
    !required ||
    typeof required !== 'object' ||
    required.x402Version !== 2 ||
    !Array.isArray(required.accepts)
  )
    throw malformed('its PAYMENT-REQUIRED header is not an x402 version 2 requirement')
  return required
}

/** Why a requirement cannot be paid, or the one to pay: the first "exact" one on a served EVM chain within budget. */
export function chooseRequirement(
  required: PaymentRequired,
  options: {
    /** The CAIP-2 ids the gateway can pay on. */
    servedNetworks: ReadonlySet<string>
    /** The most the agent will pay, in base units of `asset`, and the asset. */
    max: { raw: bigint; asset: Address }
  },
): PaymentRequirements {
  const reasons: string[] = []
  for (const r of required.accepts.slice(0, 20)) {
    if (!r || typeof r !== 'object') continue
    if (r.scheme !== 'exact') {
      reasons.push('a scheme other than "exact"')
      continue
    }
    if (typeof r.network !== 'string' || !options.servedNetworks.has(r.network)) {
      reasons.push('a network this gateway does not serve')
      continue
    }
    if (typeof r.asset !== 'string' || !isAddress(r.asset) || getAddress(r.asset) !== options.max.asset) {
      reasons.push('another asset than the one you named')
      continue
    }
    if (typeof r.payTo !== 'string' || !isAddress(r.payTo)) {
      reasons.push('no payee address')
      continue
    }
    let amount: bigint
    try {
      amount = BigInt(r.amount)
    } catch {
      reasons.push('an amount that is not a number')
      continue
    }
    if (amount <= 0n) {
      reasons.push('a zero amount')
      continue
    }
    if (amount > options.max.raw) {
      reasons.push(`${amount} base units, more than your maximum of ${options.max.raw}`)
      continue
    }
    if (!Number.isInteger(r.maxTimeoutSeconds) || r.maxTimeoutSeconds <= 0 || r.maxTimeoutSeconds > 3600) {
      reasons.push('an authorization valid for longer than an hour')
      continue
    }
    return r
  }
  throw new BaseError(
    'PAYMENT_REQUIRED',
    `The server's price cannot be paid within your terms: it asks for ${[...new Set(reasons)].join('; ') || 'nothing payable'}. Nothing was signed.`,
    { metaMessages: ['Raise maxAmount if the price is acceptable, or buy elsewhere.'] },
  )
}

/**
 * The payment payload for a requirement, built by the official `@x402/evm` "exact" client for the gateway wallet,
 * with the EIP-712 message it asks to sign (an EIP-3009 `TransferWithAuthorization`) taken out, unsigned. The
 * guard checks that message; only that message is signed later, and its signature put into this payload.
 *
 * @throws {InvalidInputError} the client produced something other than an authorization from the wallet
 */
export async function draftPayment(
  required: PaymentRequired,
  requirement: PaymentRequirements,
  wallet: Address,
): Promise<{ payload: PaymentPayload; typedData: TypedDataToSign }> {
  let captured: TypedDataToSign | undefined
  const client = new x402Client().register(
    requirement.network,
    new ExactEvmScheme({
      address: wallet,
      async signTypedData(message) {
        captured = message as unknown as TypedDataToSign
        return `0x${'00'.repeat(65)}`
      },
    }),
  )
  // The gateway's policy decides what may be paid; the client's own table of assets does not know the devnet's.
  client.setSpendControls({ allowedAssets: true, maxAmountPerPayment: false })
  const payload = await client.createPaymentPayload({ ...required, accepts: [requirement] })
  const auth = (payload.payload as { authorization?: Record<string, string> }).authorization
  const message = captured as TypedDataToSign | undefined
  const from = auth?.from
  const chainId = Number(requirement.network.split(':')[1])
  if (
    message?.primaryType !== 'TransferWithAuthorization' ||
    !message.domain.verifyingContract ||
    getAddress(message.domain.verifyingContract) !== getAddress(requirement.asset) ||
    Number(message.domain.chainId) !== chainId ||
    typeof from !== 'string' ||
    !isAddress(from) ||
    getAddress(from) !== wallet ||
    !isAddress(String(message.message.to)) ||
    getAddress(String(message.message.to)) !== getAddress(requirement.payTo) ||
    String(message.message.value) !== BigInt(requirement.amount).toString()
  )
    throw new InvalidInputError(
      'The payment could not be drafted as an EIP-3009 authorization from the wallet.',
    )
  delete (payload.payload as { signature?: string }).signature
  // As plain JSON (numbers as decimal strings): the message checked now is the same, field for field, as the one
  // a held payment restores from the journal and signs once approved.
  return { payload, typedData: canonicalTypedData(message) }
}

/**
 * Typed data as plain JSON with every object's keys in sorted order (numbers as decimal strings): what the guard
 * checks and an approval is bound to, identical whether it comes from the client or back from the journal (whose
 * JSON columns do not keep key order).
 *
 * @example canonicalTypedData(JSON.parse(stored)) // same hash input as when it was drafted
 */
export function canonicalTypedData(typedData: unknown): TypedDataToSign {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v
  return sort(toJson(typedData)) as TypedDataToSign
}

/** What the server said about settlement (`PAYMENT-RESPONSE`), when it said something readable. */
export function paymentResponseOf(answer: SafeExchangeReturnType): SettleResponse | undefined {
  const header = answer.headers['payment-response']
  if (!header) return undefined
  try {
    const response = decodePaymentResponseHeader(header)
    return response && typeof response === 'object' ? response : undefined
  } catch {
    return undefined
  }
}

/**
 * A payment asset as a price or an agent names it: a token symbol the gateway knows on the chain (`USDC`), or an
 * address. Undefined when it is neither.
 *
 * @example assetAddress(tokens.known(chain.id), 'USDC') // the chain's known USDC
 */
export function assetAddress(
  known: readonly { symbol: string; address: string }[],
  asset: string,
): Address | undefined {
  const token = known.find((t) => t.symbol.toLowerCase() === asset.toLowerCase())
  if (token) return getAddress(token.address)
  return isAddress(asset) ? getAddress(asset) : undefined
}

/**
 * The host a payment buys from, as `pay` rules name hosts: lowercase, without the root's trailing dot (`evil.com.`
 * is `evil.com`); empty for something that is not a URL.
 *
 * @example payHostOf('https://API.Vendor.example./x') // 'api.vendor.example'
 */
export function payHostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).hostname.toLowerCase().replace(/\.$/, '') : ''
}
