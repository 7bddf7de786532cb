import { encodePaymentSignatureHeader } from '@x402/core/http'
import type { PaymentPayload, PaymentRequired, PaymentRequirements } from '@x402/core/types'
import { type Address, formatUnits, getAddress } from 'viem'
import type { ChainContext } from '../../chains/chains.js'
import { agentIdOf } from '../../context/caller.js'
import type { PreparedDraft } from '../../context/draft.js'
import { type JsonObject, toJson } from '../../context/json.js'
import { BaseError } from '../../errors/index.js'
import { canonicalTypedData, draftPayment, payHostOf, paymentResponseOf } from '../../payments/paying.js'
import type { TypedDataToSign } from '../../signer/signer.js'
import type { WriteResultValue } from '../../tools/shared/write.js'
import type { Intent } from '../../txs/intentJournal.js'
import { tokenPhrase } from '../../untrusted/quoteUntrusted.js'
import type { SafeExchangeReturnType, SafeFetcher } from '../../untrusted/safeFetch.js'
import { type UntrustedText, untrustedJson, untrustedText } from '../../untrusted/untrusted.js'
import { refuse, type WriteDraftKind, type WriteEnvironment } from '../executor.js'
import { typedDataEffects } from '../facts.js'
import type { IntentQueries } from '../intents.js'
import { requireSigner, type WriteParts } from '../writeParts.js'

/** What fetch_with_payment hands the executor once the server answered 402: the request and the one price to pay. */
export type PaymentRequest = {
  url: string
  method: 'GET' | 'POST'
  body?: string | undefined
  contentType?: string | undefined
  /** The agent's maximum, as it gave it (for the journal's record of the request). */
  maxAmount: string
  required: PaymentRequired
  requirement: PaymentRequirements
}

/** The answer of a paid fetch: the intent, the server's receipt and its response (untrusted data). */
export type PaidAnswer = WriteResultValue & {
  paid: boolean
  paymentReceipt?: Record<string, unknown> | undefined
  response?: Record<string, unknown> | undefined
}

type PayPrepared = PreparedDraft<WriteEnvironment> & {
  typedData: TypedDataToSign
  payload: PaymentPayload
  request: {
    url: string
    method: 'GET' | 'POST'
    body?: string | undefined
    contentType?: string | undefined
  }
}

/** How far before its end an authorization is no longer handed to a server (it might expire on the way). */
const validityMarginSeconds = 5n

/**
 * The x402 payment draft kind (DESIGN §9): operation `pay`. The payment is an EIP-3009 authorization drafted by
 * the official `@x402/evm` client for the gateway wallet; the guard checks exactly that message (payee, asset,
 * amount, the host bought from; the grant's payees and budget) and the limits reserve its full amount. Delivery
 * signs that message, repeats the request with the `PAYMENT-SIGNATURE` header through the SSRF guard, and keeps
 * the server's receipt. The reservation is never released after signing: a server that fails to answer still holds
 * an authorization it may settle until it expires, so the amount counts as spent.
 *
 * @example executor.execute(createX402PaymentKind(parts, intents, fetcher), request, { idempotencyKey }, ctx)
 */
export function createX402PaymentKind(
  parts: WriteParts,
  intents: IntentQueries,
  fetcher: SafeFetcher,
): WriteDraftKind<PaymentRequest> {
  const { context, journal, guard } = parts

  function draftOf(
    chain: ChainContext,
    decimals: number,
    tokenFacts: { symbol: string | UntrustedText; verified?: boolean | undefined },
    typedData: TypedDataToSign,
    payload: PaymentPayload,
    request: PayPrepared['request'],
    wallet: Address,
  ): PayPrepared {
    const effects = typedDataEffects(typedData as never, wallet)
    const url = new URL(request.url)
    const host = payHostOf(request.url)
    const requirement = payload.accepted
    const payee = getAddress(requirement.payTo)
    const token = getAddress(requirement.asset)
    const raw = BigInt(requirement.amount)
    const formatted = formatUnits(raw, decimals)
    return {
      chain,
      summary: `Pay ${formatted} of ${tokenPhrase(token, tokenFacts)} to ${payee} on ${chain.name} for ${url.origin}${url.pathname.slice(0, 200)} (x402).`,
      details: {
        url: `${url.origin}${url.pathname}`,
        host,
        payee,
        token,
        amount: { raw: raw.toString(), formatted, decimals },
        validBefore: String(
          (payload.payload as { authorization?: { validBefore?: string } }).authorization?.validBefore ?? '',
        ),
        // What a held payment needs to be carried on once approved: the unsigned payload and the request.
        payment: toJson({ payload, request }),
      },
      check: {
        operation: 'pay',
        details: { to: payee, token, amount: { raw: raw.toString() }, host },
        simulation: effects.simulation,
        typedData: true,
      },
      bound: { typedData: toJson(typedData) },
      typedData,
      payload,
      request,
    }
  }

  async function tokenOf(chain: ChainContext, token: Address) {
    const facts = await context.tokens.get(chain, token)
    return facts
  }

  async function deliver(
    intent: Intent,
    prepared: PayPrepared,
  ): Promise<{ intent: Intent; answer: PaidAnswer }> {
    const signer = requireSigner(parts)
    const auth = (prepared.payload.payload as { authorization?: { validBefore?: string } }).authorization
    const now = BigInt(Math.floor(Date.now() / 1000))
    if (!auth?.validBefore || BigInt(auth.validBefore) <= now + validityMarginSeconds)
      throw new BaseError(
        'PAYMENT_REQUIRED',
        "The payment's authorization window has passed (it waited too long).",
        {
          metaMessages: ['Nothing was signed. Call fetch_with_payment again for a fresh price.'],
        },
      )
    await guard.assertLive(agentIdOf(intent.caller ?? undefined))
    const signature = await signer.signTypedData(prepared.typedData, { chainId: prepared.chain.id })
    const payload = { ...prepared.payload, payload: { ...prepared.payload.payload, signature } }
    const { request } = prepared
    // Completed before the signed authorization leaves: from here on it may be settled whatever happens to this
    // process, so the intent (and the limits it reserved) must never be taken for one that sent nothing.
    const sent = await journal.transition(intent.id, 'created', 'completed', {
      tx: { summary: prepared.summary, details: { ...prepared.details, delivered: false } },
      detail: { payment: 'authorization signed and handed to the server' },
    })
    let answer: SafeExchangeReturnType | undefined
    let failure: string | undefined
    try {
      answer = await fetcher.exchange(request.url, {
        method: request.method,
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.contentType ? { contentType: request.contentType } : {}),
        headers: { 'payment-signature': encodePaymentSignatureHeader(payload) },
      })
    } catch (error) {
      failure = error instanceof BaseError ? error.shortMessage : 'the request failed'
    }
    const receipt = answer ? paymentResponseOf(answer) : undefined
    // The server's receipt is its word: kept only in the shapes a receipt has (a transaction hash, a CAIP-2 id).
    const delivered = answer !== undefined && answer.status >= 200 && answer.status < 300
    const outcome = {
      delivered,
      ...(answer ? { status: answer.status } : {}),
      ...(receipt
        ? {
            receipt: {
              success: receipt.success === true,
              transaction:
                typeof receipt.transaction === 'string' && /^0x[0-9a-fA-F]{64}$/.test(receipt.transaction)
                  ? receipt.transaction
                  : '',
              network:
                typeof receipt.network === 'string' &&
                /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/.test(receipt.network)
                  ? receipt.network
                  : '',
            },
          }
        : {}),
      ...(failure ? { failure } : {}),
    }
    const done = await journal
      .amend(intent.id, 'completed', {
        tx: toJson<JsonObject>({ summary: prepared.summary, details: { ...prepared.details, ...outcome } }),
        detail: toJson<JsonObject>({ payment: outcome }),
      })
      .catch(() => sent)
    const described = await intents.describe(done)
    return {
      intent: done,
      answer: {
        ...described,
        paid: delivered,
        ...(outcome.receipt ? { paymentReceipt: outcome.receipt } : {}),
        ...(answer ? { response: responseOf(answer) } : {}),
      },
    }
  }

  return {
    name: 'x402-payment',
    // An approved payment is checked again (same message, same effects) so it reserves its limits when it resumes.
    recheckOnResume: true,
    carries(intent) {
      return intent.operation === 'pay'
    },
    identify(request) {
      return {
        chain: context.chains.resolve(request.requirement.network),
        operation: 'pay',
        record: toJson({
          tool: 'fetch_with_payment',
          args: {
            url: request.url,
            method: request.method,
            maxAmount: request.maxAmount,
            ...(request.body === undefined ? {} : { body: request.body }),
          },
        }),
      }
    },
    guarded() {
      return true
    },
    async prepare(request, wallet) {
      const chain = context.chains.resolve(request.requirement.network)
      const { payload, typedData } = await draftPayment(request.required, request.requirement, wallet)
      const token = await tokenOf(chain, getAddress(request.requirement.asset))
      const { url, method, body, contentType } = request
      return draftOf(
        chain,
        token.decimals,
        token,
        typedData,
        payload,
        { url, method, body, contentType },
        wallet,
      )
    },
    async restore(intent, wallet) {
      const stored = (intent.tx ?? {}) as { typedData?: TypedDataToSign; details?: { payment?: JsonObject } }
      const saved = stored.details?.payment as
        | { payload: PaymentPayload; request: PayPrepared['request'] }
        | undefined
      if (!stored.typedData || !saved) throw new BaseError('INTERNAL', 'The held payment lost its message.')
      const chain = context.chains.resolve(intent.chainId)
      const token = await tokenOf(chain, getAddress(saved.payload.accepted.asset))
      const typedData = canonicalTypedData(stored.typedData)
      return draftOf(chain, token.decimals, token, typedData, saved.payload, saved.request, wallet)
    },
    ready() {},
    async deliver(intent, prepared) {
      try {
        return await deliver(intent, prepared as PayPrepared)
      } catch (error) {
        const current = await journal.get(intent.id)
        if (current.status !== 'created') throw error
        throw await refuse(parts, current, error)
      }
    },
    async answer(intent) {
      const described = await intents.describe(intent)
      const details = described.details as { delivered?: boolean; receipt?: Record<string, unknown> }
      return {
        ...described,
        paid: details.delivered === true,
        ...(details.receipt ? { paymentReceipt: details.receipt } : {}),
      } as PaidAnswer
    },
  }
}

/** The server's response as the agent gets it: status, type, size and the body as untrusted data. */
export function responseOf(answer: SafeExchangeReturnType): Record<string, unknown> {
  const head = { status: answer.status, contentType: answer.contentType.slice(0, 100), bytes: answer.bytes }
  const texty =
    answer.contentType === '' ||
    answer.contentType.startsWith('text/') ||
    answer.contentType === 'application/json' ||
    answer.contentType.endsWith('+json')
  // Bytes of another kind (an image, a PDF) are not shown to a model: their type and size are.
  if (!texty) return head
  const text = new TextDecoder('utf-8').decode(answer.body)
  let body: unknown = untrustedText(text, { maxLength: 64 * 1024, allowNewlines: true })
  if (answer.contentType === 'application/json' || answer.contentType.endsWith('+json')) {
    try {
      body = untrustedJson(JSON.parse(text))
    } catch {}
  }
  return { ...head, body }
}
