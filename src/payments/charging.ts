import { randomUUID } from 'node:crypto'
import type { FacilitatorClient } from '@x402/core/server'
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types'
import { sql } from 'kysely'
import { type Address, getAddress, isAddress, pad, parseAbiItem, parseUnits, toEventSelector } from 'viem'
import type { AuditLog } from '../audit/auditLog.js'
import type { ChainContext, Chains } from '../chains/chains.js'
import type { TokenFactsService } from '../chains/tokenFacts.js'
import { actorOf } from '../context/caller.js'
import type { RequestContext } from '../context/requestContext.js'
import type { ToolResult } from '../context/tool.js'
import { BaseError, InvalidConfigError, toBaseError } from '../errors/index.js'
import type { Store } from '../store/openStore.js'
import { assetAddress } from './paying.js'
import { splitShares } from './shares.js'

/** A price as the config gives it (see `ToolPrice` in src/server/config.ts). */
export type PriceConfig = {
  tools: string[]
  amount: string
  asset: string
  network: string
  eip712?: { name: string; version: string } | undefined
  payees?: { address: string; share: number; label?: string | undefined }[] | undefined
  description?: string | undefined
}

/** What `tools/list` shows of a priced tool (`_meta["x402/price"]`): the price before the first call. */
export type PriceListing = {
  amount: string
  asset: string
  network: string
  scheme: 'exact'
  payees: { address: string; share: number; label?: string | undefined }[]
}

/** A payment taken for one call: verified and claimed, to be settled after the tool succeeded or released. */
export type Charge = {
  tool: string
  /** Set once the chain shows it paid: from then on the claim is kept, whatever fails after. */
  settled?: boolean | undefined
  /** The network's chain, where the settlement is looked up. */
  chain: ChainContext
  payload: PaymentPayload
  requirements: PaymentRequirements
  payer: Address
  nonce: string
  decimals: number
  payees: { address: Address; share: number }[]
}

/** What the pipeline's price step gets: go on with a charge, or answer with a payment requirement. */
export type PriceOutcome = { charge: Charge } | { result: ToolResult } | undefined

/** Charging per tool call (DESIGN §9): the price step and the settle-payment step of the pipeline. */
export type Charging = {
  /** Resolves every price (token, decimals, EIP-712 domain) now: a bad price is a config error at start. */
  prepare(): Promise<void>
  /** The price of a tool as `tools/list` shows it, if it has one. */
  listing(tool: string): PriceListing | undefined
  /**
   * Before the tool runs: nothing (free), the payment requirement (unpaid, or a payment that does not hold), or the
   * verified payment, claimed so no other call (on any replica) can use it.
   */
  begin(tool: string, ctx: RequestContext): Promise<PriceOutcome>
  /** The tool failed: nothing is charged, and the payment may be used again. */
  release(charge: Charge): Promise<void>
  /**
   * The tool succeeded: settle the payment and record the charge and its shares. Failure to settle returns the
   * payment requirement (the tool's output is withheld); success returns the `x402/payment-response`.
   */
  settle(charge: Charge, ctx: RequestContext): Promise<{ response: SettleResponse } | { result: ToolResult }>
}

/** Parameters of {@link createCharging}. */
export type CreateChargingParameters = {
  prices: readonly PriceConfig[]
  chains: Chains
  tokens: TokenFactsService
  facilitator: FacilitatorClient
  store: Promise<Store>
  /** Where charges are paid (default: the gateway wallet). */
  payTo: Address
  audit?: Promise<AuditLog | undefined> | undefined
  /** Seconds a payment authorization may be valid for after the requirement is given. */
  maxTimeoutSeconds?: number | undefined
}

/**
 * Per-call charging in the x402 MCP binding (tool-result form, both MCP revisions): an unpaid call to a priced tool
 * answers `isError` with the `PaymentRequired` as structured content and as text; the paid retry carries the
 * `PaymentPayload` in `_meta["x402/payment"]`. The payment is checked here first (the accepted requirement is one
 * of ours, amount, payee, window, and the payer is the passport's wallet), claimed in the store (a replay is
 * refused on every replica), verified by the facilitator, and settled only after the tool succeeded; the answer
 * carries `_meta["x402/payment-response"]`. Prices are for read tools only: a write's effect cannot be withheld
 * once sent, so a failed settlement could not take it back.
 *
 * @example
 * const charging = createCharging({ prices, chains, tokens, facilitator, store, payTo: wallet })
 */
export function createCharging(parameters: CreateChargingParameters): Charging {
  const { chains, tokens, facilitator } = parameters
  const maxTimeoutSeconds = parameters.maxTimeoutSeconds ?? 120
  const byTool = new Map<string, { price: PriceConfig; chain: ChainContext }>()
  for (const price of parameters.prices) {
    let chain: ChainContext
    try {
      chain = chains.resolve(price.network)
    } catch {
      throw new InvalidConfigError(`payments.prices: unknown network "${price.network}".`, {
        field: 'payments.prices.network',
        metaMessages: ['Name a chain the gateway serves (list_chains), e.g. "base" or "devnet".'],
      })
    }
    for (const tool of price.tools) {
      if (byTool.has(tool))
        throw new InvalidConfigError(`payments.prices: tool "${tool}" has two prices.`, {
          field: 'payments.prices.tools',
        })
      byTool.set(tool, { price, chain })
    }
  }
  const requirementsCache = new Map<
    PriceConfig,
    Promise<{ requirements: PaymentRequirements; decimals: number }>
  >()

  /** The requirement of a price: the token's address, decimals and EIP-712 domain resolved once. */
  function requirementsOf(price: PriceConfig, chain: ChainContext) {
    const cached = requirementsCache.get(price)
    if (cached) return cached
    const resolving = resolveRequirements(price, chain)
    requirementsCache.set(price, resolving)
    resolving.catch(() => requirementsCache.delete(price))
    return resolving
  }

  async function resolveRequirements(
    price: PriceConfig,
    chain: ChainContext,
  ): Promise<{ requirements: PaymentRequirements; decimals: number }> {
    const address = assetAddress(tokens.known(chain.id), price.asset)
    if (!address)
      throw new InvalidConfigError(
        `payments.prices: asset "${price.asset}" is not a token known on ${chain.name}; give its address.`,
        { field: 'payments.prices.asset' },
      )
    const facts = await tokens.get(chain, address)
    const fraction = price.amount.split('.')[1] ?? ''
    if (fraction.length > facts.decimals)
      throw new InvalidConfigError(
        `payments.prices: amount ${price.amount} has more decimals than the token's ${facts.decimals}.`,
        { field: 'payments.prices.amount' },
      )
    const domain = price.eip712 ?? (await eip712DomainOf(chain, address))
    return {
      decimals: facts.decimals,
      requirements: {
        scheme: 'exact',
        network: chain.caip2 as `${string}:${string}`,
        asset: address,
        amount: parseUnits(price.amount, facts.decimals).toString(),
        payTo: parameters.payTo,
        maxTimeoutSeconds,
        extra: { name: domain.name, version: domain.version },
      },
    }
  }

  function paymentRequired(tool: string, requirements: PaymentRequirements, error: string): ToolResult {
    const body: PaymentRequired = {
      x402Version: 2,
      error,
      resource: {
        url: `mcp://tool/${tool}`,
        description: `Airlock tool ${tool}`,
        mimeType: 'application/json',
      },
      accepts: [requirements],
    }
    return {
      isError: true,
      content: [{ type: 'text', text: JSON.stringify(body) }],
      structuredContent: body as unknown as Record<string, unknown>,
    }
  }

  async function audit(kind: string, ctx: RequestContext, data: Record<string, unknown>) {
    const log = await parameters.audit
    log?.appendSoon({ kind, actor: actorOf(ctx.caller), data: data as never })
  }

  return {
    async prepare() {
      await Promise.all([...byTool.values()].map(({ price, chain }) => requirementsOf(price, chain)))
    },

    listing(tool) {
      const priced = byTool.get(tool)
      if (!priced) return undefined
      const { price, chain } = priced
      return {
        amount: price.amount,
        asset: price.asset,
        network: chain.caip2,
        scheme: 'exact',
        payees: price.payees ?? [{ address: parameters.payTo, share: 100 }],
      }
    },

    async begin(tool, ctx) {
      const priced = byTool.get(tool)
      if (!priced) return undefined
      const { requirements, decimals } = await requirementsOf(priced.price, priced.chain)
      const given = ctx.payment
      if (given === undefined)
        return { result: paymentRequired(tool, requirements, `Payment required to call ${tool}.`) }
      const refuse = async (reason: string, code: string) => {
        await audit('payment.refused', ctx, { tool, reason: code })
        return { result: paymentRequired(tool, requirements, reason) }
      }
      const checked = checkPayment(given, requirements, ctx)
      if ('problem' in checked) return refuse(checked.problem, checked.code)
      const { payload, payer, nonce } = checked
      // Claimed while the facilitator verifies: a second call with the same authorization (a replay, here or on
      // another replica) is refused even before the first one settled. A payment that does not verify is released.
      const store = await parameters.store
      const claim = { network: requirements.network, asset: requirements.asset.toLowerCase(), payer, nonce }
      const [claimed, verified] = await Promise.allSettled([
        store.db
          .insertInto('payment_claims')
          .values({ ...claim, tool })
          .onConflict((oc) => oc.doNothing())
          .returning('nonce')
          .executeTakeFirst(),
        facilitator.verify(payload, requirements),
      ])
      if (claimed.status === 'rejected') throw claimed.reason
      const drop = () => (claimed.value ? releaseClaim(store, claim) : Promise.resolve())
      if (!claimed.value)
        return refuse('This payment was already used: sign a new authorization.', 'replayed')
      if (verified.status === 'rejected') {
        await drop()
        const reason = (verified.reason as { invalidReason?: unknown }).invalidReason
        if (typeof reason === 'string')
          return refuse(`The facilitator refused the payment (${code(reason)}).`, code(reason))
        throw new BaseError(
          'PAYMENT_REQUIRED',
          'The payment facilitator is unavailable: nothing was charged.',
          {
            cause: verified.reason,
            metaMessages: ['Try again later; the payment was not used.'],
          },
        )
      }
      if (!verified.value.isValid) {
        await drop()
        const reason = code(verified.value.invalidReason ?? 'invalid')
        return refuse(`The facilitator refused the payment (${reason}).`, reason)
      }
      const payees = (priced.price.payees ?? [{ address: parameters.payTo, share: 100 }]).map((p) => ({
        address: getAddress(p.address),
        share: p.share,
      }))
      return { charge: { tool, chain: priced.chain, payload, requirements, payer, nonce, decimals, payees } }
    },

    async release(charge) {
      await releaseClaim(await parameters.store, claimOf(charge))
    },

    async settle(charge, ctx) {
      let response: SettleResponse | undefined
      let failure: string
      try {
        response = await facilitator.settle(charge.payload, charge.requirements)
        failure = response.success ? '' : code(response.errorReason ?? 'settle_failed')
      } catch (error) {
        const reason = (error as { errorReason?: unknown }).errorReason
        failure = typeof reason === 'string' ? code(reason) : 'facilitator_unavailable'
      }
      // The chain decides, not the facilitator's word: a settlement it reports is looked up in its transaction
      // (this authorization used, and the price moved from the payer to the payee, in that one transaction), and
      // one it reports failed (a timeout after sending, say) is looked for among the recent blocks. An unreadable
      // chain leaves the facilitator's answer.
      const reported = response?.success ? response.transaction : undefined
      const onChain = await settledOnChain(charge, reported).catch(() => undefined)
      if (response?.success && onChain === false) {
        failure = 'not_settled_on_chain'
        response = undefined
      } else if (!response?.success && typeof onChain === 'string') {
        response = {
          success: true,
          transaction: onChain,
          network: charge.requirements.network as never,
          payer: charge.payer,
        }
        failure = ''
      }
      if (!response?.success) {
        // A transaction the facilitator named but the chain does not show keeps its claim: if it lands after all,
        // the same payment cannot buy a second call. Otherwise the payment may be used again.
        if (!reported) await this.release(charge).catch(() => {})
        await audit('payment.settle_failed', ctx, { tool: charge.tool, reason: failure, payer: charge.payer })
        return {
          result: paymentRequired(
            charge.tool,
            charge.requirements,
            `Settlement failed (${failure}): the tool's output is withheld and nothing was charged; ${reported ? 'sign a new payment' : 'pay again'} to retry.`,
          ),
        }
      }
      // Paid: from here on the claim is never given back, whatever fails.
      charge.settled = true
      const id = randomUUID()
      const amount = BigInt(charge.requirements.amount)
      const transaction = /^0x[0-9a-fA-F]{64}$/.test(String(response.transaction))
        ? String(response.transaction)
        : ''
      const recorded = await recordCharge(await parameters.store, charge, {
        id,
        amount,
        transaction,
        ctx,
      }).then(
        () => true,
        () => false,
      )
      await audit(recorded ? 'payment.settled' : 'payment.unrecorded', ctx, {
        tool: charge.tool,
        charge: id,
        payer: charge.payer,
        payTo: charge.requirements.payTo,
        amount: amount.toString(),
        asset: charge.requirements.asset,
        network: charge.requirements.network,
        transaction,
      })
      return { response: { ...response, transaction } }
    },
  }
}

/**
 * Records a settled charge: the claim settled, the charge (with the wallet it was paid to) and each payee's share,
 * in one statement (one round trip, atomic), tried three times. The payment happened whatever this answers.
 */
async function recordCharge(
  store: Store,
  charge: Charge,
  at: { id: string; amount: bigint; transaction: string; ctx: RequestContext },
): Promise<void> {
  const { id, amount, transaction } = at
  const shares = splitShares(amount, charge.payees)
  const claim = claimOf(charge)
  const shareRows = sql.join(
    shares.map((x) => sql`(${id}, ${x.address.toLowerCase()}, ${x.amount.toString()}::numeric)`),
  )
  const statement = sql`
    with settled as (
      update payment_claims set state = 'settled'
      where network = ${claim.network} and asset = ${claim.asset} and payer = ${claim.payer} and nonce = ${claim.nonce}
    ), charge as (
      insert into payment_charges (id, tool, actor, payer, pay_to, network, asset, decimals, amount, transaction)
      values (${id}, ${charge.tool}, ${actorOf(at.ctx.caller)}, ${charge.payer.toLowerCase()},
        ${charge.requirements.payTo.toLowerCase()}, ${charge.requirements.network},
        ${charge.requirements.asset.toLowerCase()}, ${charge.decimals}, ${amount.toString()}::numeric, ${transaction})
      returning id
    )
    insert into payment_shares (charge_id, payee, amount)
    select v.charge_id, v.payee, v.amount from (values ${shareRows}) as v (charge_id, payee, amount), charge
  `
  for (let attempt = 1; ; attempt++) {
    try {
      await statement.execute(store.db)
      return
    } catch (error) {
      if (attempt >= 3) throw error
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
    }
  }
}

/**
 * Whether the charge was paid on chain: the transaction in which the token recorded this authorization as used
 * (`AuthorizationUsed(payer, nonce)`) **and** moved exactly the price from the payer to the payee (`Transfer`), from
 * its receipt when the facilitator named one (waited for up to 5 s: the gateway's endpoint may be a block behind),
 * else found among the token's logs of the last 256 blocks. `false` when the chain shows it was not: the same
 * nonce used by another authorization (a payer racing its own payment) is not a payment.
 */
async function settledOnChain(charge: Charge, transaction: string | undefined): Promise<string | false> {
  const chain = charge.chain
  const asset = getAddress(charge.requirements.asset).toLowerCase()
  const topic = (address: string) => pad(address as Address).toLowerCase()
  const paid = (logs: readonly { address: string; topics: readonly (string | null)[]; data: string }[]) =>
    logs.some(
      (l) =>
        l.address.toLowerCase() === asset &&
        l.topics[0] === authorizationUsedTopic &&
        l.topics[1]?.toLowerCase() === topic(charge.payer) &&
        l.topics[2]?.toLowerCase() === charge.nonce,
    ) &&
    logs.some(
      (l) =>
        l.address.toLowerCase() === asset &&
        l.topics[0] === transferTopic &&
        l.topics[1]?.toLowerCase() === topic(charge.payer) &&
        l.topics[2]?.toLowerCase() === topic(charge.requirements.payTo) &&
        l.data !== '0x' &&
        BigInt(l.data) === BigInt(charge.requirements.amount),
    )
  const receiptOf = async (hash: `0x${string}`) => {
    for (let waited = 0; ; waited += 250) {
      const receipt = await chain.client.getTransactionReceipt({ hash }).catch((error: unknown) => {
        // No such transaction (yet) is an answer; an endpoint that does not answer is not.
        if ((error as Error).name === 'TransactionReceiptNotFoundError') return undefined
        throw error
      })
      if (receipt || waited >= 5000) return receipt
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  if (transaction) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(transaction)) return false
    const receipt = await receiptOf(transaction as `0x${string}`)
    return receipt?.status === 'success' && paid(receipt.logs) ? transaction : false
  }
  const latest = await chain.client.getBlockNumber()
  const used = await chain.client.getLogs({
    address: getAddress(asset),
    event: authorizationUsedEvent,
    args: { authorizer: getAddress(charge.payer), nonce: charge.nonce as `0x${string}` },
    fromBlock: latest > 256n ? latest - 256n : 0n,
    toBlock: latest,
  })
  for (const log of used) {
    if (log.removed || !log.transactionHash) continue
    const receipt = await receiptOf(log.transactionHash)
    if (receipt?.status === 'success' && paid(receipt.logs)) return log.transactionHash
  }
  return false
}

const authorizationUsedEvent = parseAbiItem(
  'event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)',
)
const authorizationUsedTopic = toEventSelector(authorizationUsedEvent)
const transferTopic = toEventSelector(
  parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)'),
)

/** The claim of a charge's authorization: its key in `payment_claims`. */
function claimOf(charge: Charge) {
  return {
    network: charge.requirements.network,
    asset: charge.requirements.asset.toLowerCase(),
    payer: charge.payer,
    nonce: charge.nonce,
  }
}

/** Gives a claimed authorization back (the tool failed, or it did not verify or settle): it may be used again. */
async function releaseClaim(
  store: Store,
  claim: { network: string; asset: string; payer: string; nonce: string },
): Promise<void> {
  await store.db
    .deleteFrom('payment_claims')
    .where('network', '=', claim.network)
    .where('asset', '=', claim.asset)
    .where('payer', '=', claim.payer)
    .where('nonce', '=', claim.nonce)
    .where('state', '=', 'claimed')
    .execute()
}

/**
 * A facilitator's reason as the gateway repeats it: an x402 reason code (`invalid_exact_evm_payload_signature`),
 * never free text from afar — anything else is `unrecognized_reason`.
 */
function code(reason: string): string {
  return /^[a-z][a-z0-9_]{0,63}$/.test(reason) ? reason : 'unrecognized_reason'
}

/**
 * The gateway's own checks of a payment before the facilitator sees it, each with a reason that says what to fix:
 * x402 v2, one of our requirements exactly (network, asset, payee, amount), an EIP-3009 authorization for that
 * amount to that payee, inside its time window, and from the passport's wallet when the caller has one.
 */
function checkPayment(
  given: unknown,
  requirements: PaymentRequirements,
  ctx: RequestContext,
): { payload: PaymentPayload; payer: Address; nonce: string } | { problem: string; code: string } {
  const p = given as Partial<PaymentPayload> | null
  if (!p || typeof p !== 'object' || Array.isArray(p))
    return { problem: '_meta["x402/payment"] must be an x402 PaymentPayload object.', code: 'malformed' }
  if (p.x402Version !== 2)
    return { problem: 'Only x402Version 2 payments are accepted.', code: 'unsupported_version' }
  const a = (p.accepted ?? {}) as Partial<PaymentRequirements>
  const same = (x: unknown, y: string) => typeof x === 'string' && x.toLowerCase() === y.toLowerCase()
  if (a.scheme !== requirements.scheme)
    return { problem: `Scheme must be "${requirements.scheme}".`, code: 'wrong_scheme' }
  if (!same(a.network, requirements.network))
    return { problem: `Wrong network: pay on ${requirements.network}.`, code: 'wrong_network' }
  if (!same(a.asset, requirements.asset))
    return { problem: `Wrong asset: pay in ${requirements.asset}.`, code: 'wrong_asset' }
  if (!same(a.payTo, requirements.payTo))
    return { problem: `Wrong payee: pay ${requirements.payTo}.`, code: 'wrong_payee' }
  const auth = ((p.payload ?? {}) as { authorization?: Record<string, unknown> }).authorization
  if (!auth || typeof auth !== 'object')
    return { problem: 'The payment carries no EIP-3009 authorization.', code: 'malformed' }
  const big = (v: unknown) => {
    try {
      return typeof v === 'string' || typeof v === 'number' ? BigInt(v) : undefined
    } catch {
      return undefined
    }
  }
  const value = big(auth.value)
  const price = BigInt(requirements.amount)
  if (value === undefined || big(a.amount) === undefined)
    return { problem: 'The payment amount is not a whole number of base units.', code: 'malformed' }
  if (value < price || big(a.amount)! < price)
    return { problem: `Underpayment: the price is ${price} base units.`, code: 'underpaid' }
  if (value !== price || big(a.amount) !== price)
    return { problem: `Pay exactly the price: ${price} base units.`, code: 'wrong_amount' }
  if (!same(auth.to, requirements.payTo))
    return { problem: `Wrong payee in the authorization: pay ${requirements.payTo}.`, code: 'wrong_payee' }
  const now = BigInt(Math.floor(Date.now() / 1000))
  const after = big(auth.validAfter)
  const before = big(auth.validBefore)
  if (after === undefined || before === undefined)
    return { problem: 'The authorization has no valid time window.', code: 'malformed' }
  if (before <= now) return { problem: 'The authorization has expired: sign a new one.', code: 'expired' }
  if (after > now) return { problem: 'The authorization is not valid yet.', code: 'not_yet_valid' }
  if (typeof auth.from !== 'string' || !isAddress(auth.from))
    return { problem: 'The authorization names no payer.', code: 'malformed' }
  const nonce =
    typeof auth.nonce === 'string' && /^0x[0-9a-fA-F]{64}$/.test(auth.nonce) ? auth.nonce : undefined
  if (!nonce) return { problem: 'The authorization nonce must be 32 bytes of hex.', code: 'malformed' }
  const payer = getAddress(auth.from)
  const caller = ctx.caller
  if (caller.kind === 'agent' && caller.user && payer.toLowerCase() !== caller.user.toLowerCase())
    return {
      problem: `The payer must be your passport's wallet ${getAddress(caller.user)}.`,
      code: 'payer_not_passport_wallet',
    }
  return {
    payload: p as PaymentPayload,
    payer: getAddress(payer).toLowerCase() as Address,
    nonce: nonce.toLowerCase(),
  }
}

/** The token's EIP-712 domain name and version, as it publishes them (EIP-5267). */
async function eip712DomainOf(
  chain: ChainContext,
  token: Address,
): Promise<{ name: string; version: string }> {
  try {
    const [, name, version] = await chain.client.readContract({
      address: token,
      abi: eip5267Abi,
      functionName: 'eip712Domain',
    })
    return { name, version }
  } catch (error) {
    throw new InvalidConfigError(
      `payments.prices: the token ${token} does not publish its EIP-712 domain (EIP-5267); set "eip712": { "name", "version" }.`,
      { field: 'payments.prices.eip712', cause: toBaseError(error) },
    )
  }
}

const eip5267Abi = [
  {
    type: 'function',
    name: 'eip712Domain',
    stateMutability: 'view',
    inputs: [],
    outputs: [
      { name: 'fields', type: 'bytes1' },
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
      { name: 'salt', type: 'bytes32' },
      { name: 'extensions', type: 'uint256[]' },
    ],
  },
] as const
