import { sql } from 'kysely'
import { type Address, erc20Abi, formatUnits, getAddress, type Hash } from 'viem'
import type { AuditLog } from '../audit/auditLog.js'
import type { Chains } from '../chains/chains.js'
import {
  describeGuardRevert,
  type GuardRevert,
  guardExecutedTopic,
  readGuardRevert,
} from '../chains/evm/guard.js'
import type { SolanaChainContext } from '../chains/solana/chain.js'
import type { TokenFactsService } from '../chains/tokenFacts.js'
import type { CompiledPolicy } from '../policy/compilePolicy.js'
import { isGrantBudgetKey } from '../policy/grantScope.js'
import { parseLimitKey } from '../policy/keys.js'
import type { KillSwitch } from '../policy/killSwitch.js'
import { readReceiptEffects } from '../simulate/receiptEffects.js'
import { readSolanaEffects } from '../simulate/solanaEffects.js'
import type { ApprovalExposure, AssetDelta } from '../simulate/types.js'
import type { JsonObject } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import type { PriceBook } from './prices.js'

/** What was checked before signing (the simulation the policy and the human saw), as the intent keeps it. */
export type CheckedEffects = {
  /** Deltas as decimal strings (`raw`); `null` when no simulation existed (a human approved the bare call). */
  deltas: { kind: string; token?: string; tokenId?: string; raw: string }[] | null
  approvals: { kind: string; token: string; spender: string; amount: string | null; tokenId?: string }[]
}

/** One asset that moved more than was checked. Amounts are base units, as decimal strings. */
export type Excess = {
  asset: string
  moved: string
  checked: string
  /** In display units when the decimals are known. */
  formatted?: { moved: string; checked: string } | undefined
}

/** A mined intent's settlement: what actually left the wallet, and what exceeded the check. */
export type Settlement = {
  intentId: string
  blockNumber: string
  status: 'success' | 'reverted'
  /** Outflows per asset (`native` or a token address), base units. */
  outflows: Record<string, string>
  excess: Excess[]
  /** Approvals granted that were not checked (or above what was checked). */
  unchecked: { token: string; spender: string; amount: string | null }[]
  balancesRead: boolean
  /**
   * The on-chain guard reverted the write (POSTCONDITION_FAILED): which condition failed and why, and the
   * contract the write called. Nothing moved; only gas was paid.
   */
  postcondition?: PostconditionFailure | undefined
  /**
   * A guarded write mined without the guard running it: the wallet no longer delegated to the guard, so its call to
   * itself did nothing. Nothing moved.
   */
  notExecuted?: true | undefined
}

/** A post-condition the guard enforced and the write broke, as the settlement keeps it. */
export type PostconditionFailure = {
  /** The contract the write called (the guard reverted its effects). */
  contract: string
  /** One sentence: which condition, its bound and what would have moved. */
  reason: string
  error: GuardRevert['error']
  index?: number | undefined
  kind?: string | undefined
  token?: string | undefined
  bound?: string | undefined
  actual?: string | undefined
}

/** The parts settlement uses. */
export type SettleParts = {
  store: Store
  chains: Chains
  killSwitch: KillSwitch
  audit: AuditLog
  policy(): CompiledPolicy | undefined
  prices(chain: ReturnType<Chains['resolve']>): Promise<PriceBook>
  tokens: TokenFactsService
  /**
   * Stops writes to one contract on one chain (the kill switch for that contract), after the guard reverted a write
   * to it. Absent: the whole kill switch engages instead (fail closed).
   */
  stopContract?: ((chainId: number, contract: string, reason: string) => Promise<void>) | undefined
}

/**
 * Settles mined intents on what their receipts show (DESIGN §1, §11): what actually left the wallet is committed
 * to the limits in place of the reservation, and when more moved than was checked (simulated, and approved by a
 * human where one was asked) the kill switch engages with a reason naming the intent and the contract, and the
 * audit log records the breach. Each intent is settled once (a row in `settlements`, also across replicas); a
 * breach is reported until its report is recorded, so a crash in between reports it again rather than never.
 *
 * @example await settleMinedIntents(parts) // on the maintenance timer and after a write is mined
 */
export async function settleMinedIntents(parts: SettleParts): Promise<void> {
  const { db } = parts.store
  const rows = await db
    .selectFrom('intents as i')
    .leftJoin('settlements as s', 's.intent_id', 'i.id')
    .select(['i.id', 'i.chain_id', 'i.wallet', 'i.tx', 'i.tx_hash'])
    .where('i.status', '=', 'mined')
    .where('s.intent_id', 'is', null)
    .where('i.tx_hash', 'is not', null)
    .orderBy('i.updated_at')
    .limit(50)
    .execute()
  for (const row of rows)
    await settleIntent(parts, {
      id: row.id,
      chainId: row.chain_id,
      wallet: row.wallet,
      tx: row.tx,
      txHash: row.tx_hash,
    }).catch(() => {})
  const unreported = await db
    .selectFrom('settlements')
    .select(['intent_id', 'outcome'])
    .where('breach', '=', true)
    .where('reported', '=', false)
    .limit(50)
    .execute()
  for (const r of unreported) await report(parts, r.outcome as unknown as Settlement)
}

/** The most a token transfer pays in rent for the recipient's token account (a Token-2022 one with extensions). */
const tokenAccountRentLamports = 3_000_000n

/**
 * A confirmed Solana intent: what the cluster's record shows left the wallet against what was simulated; the
 * limits take what moved, and more than was checked is a breach (the kill switch engages), as on EVM.
 */
async function settleSolana(
  parts: SettleParts,
  chain: SolanaChainContext,
  row: SettleSubject,
): Promise<void> {
  const tx = (row.tx ?? {}) as {
    checked?: CheckedEffects
    typedData?: { solanaTransfer?: { raw: string; token: string | null } }
  }
  const kept = tx.typedData?.solanaTransfer
  const [effects, usage] = await Promise.all([
    readSolanaEffects(chain, row.txHash as string, row.wallet),
    parts.store.db
      .selectFrom('limit_usage')
      .select(['limit_key', 'amount'])
      .where('intent_id', '=', row.id)
      .where('state', '<>', 'released')
      .execute(),
  ])
  if (!effects) return // not known yet: the next sweep settles it
  const outflows: Record<string, bigint> = {}
  for (const d of effects.deltas)
    if (d.raw < 0n) outflows[assetKey(d)] = (outflows[assetKey(d)] ?? 0n) - d.raw
  const allowed: Record<string, bigint> = {}
  for (const d of tx.checked?.deltas ?? []) {
    const raw = BigInt(d.raw)
    if (raw < 0n) allowed[assetKey(d)] = (allowed[assetKey(d)] ?? 0n) - raw
  }
  const reverted = effects.status === 'reverted'
  if (kept) {
    // What the transfer itself names is checked whatever the balance reads around the simulation said (a deposit
    // landing between them would have made the simulated outflow smaller), and a token transfer may pay the rent
    // of the recipient's token account (created, or created again if it was closed meanwhile).
    const key = kept.token ?? 'native'
    const named = BigInt(kept.raw)
    if ((allowed[key] ?? 0n) < named) allowed[key] = named
    if (kept.token && (allowed.native ?? 0n) < tokenAccountRentLamports)
      allowed.native = tokenAccountRentLamports
    // A successful transfer whose record shows no movement of its token (a provider that leaves token balances
    // out) is charged what it names, never nothing.
    if (!reverted && outflows[key] === undefined) outflows[key] = named
  }
  const excess: Excess[] = []
  if (tx.checked && tx.checked.deltas !== null)
    for (const [asset, moved] of Object.entries(outflows)) {
      const limit = allowed[asset] ?? 0n
      if (moved > limit) excess.push({ asset, moved: moved.toString(), checked: limit.toString() })
    }
  const settlement: Settlement = {
    intentId: row.id,
    blockNumber: effects.blockNumber.toString(),
    status: effects.status,
    outflows: Object.fromEntries(Object.entries(outflows).map(([k, v]) => [k, v.toString()])),
    excess,
    unchecked: [],
    balancesRead: true,
  }
  const breach = excess.length > 0
  // An excess on Solana is not priced here: USD budgets keep the reservation, and the kill switch engages.
  const amounts = usage.map((u) => ({
    key: u.limit_key,
    amount: settledAmount(parts.policy(), u.limit_key, BigInt(u.amount), outflows, 0n, reverted).toString(),
  }))
  if ((await claimSettlement(parts.store, settlement, breach, amounts)) && breach)
    await report(parts, settlement)
}

/**
 * Records an intent's settlement and sets its limits to what they settle at, in one statement: whoever inserts the
 * settlement row (here or on a replica) settles the limits, once. Whether this call was the one.
 */
async function claimSettlement(
  store: Store,
  settlement: Settlement,
  breach: boolean,
  amounts: readonly { key: string; amount: string }[],
): Promise<boolean> {
  const claim = sql`insert into settlements (intent_id, outcome, breach, reported)
    values (${settlement.intentId}, ${JSON.stringify(settlement)}::jsonb, ${breach}, ${!breach})
    on conflict (intent_id) do nothing returning intent_id`
  const result = amounts.length
    ? await sql<{ claimed: number }>`with claimed as (${claim}), settled as (
        update limit_usage u set amount = v.amount::numeric, state = 'committed', updated_at = now()
        from (values ${sql.join(amounts.map((a) => sql`(${a.key}, ${a.amount})`))}) as v (limit_key, amount), claimed
        where u.intent_id = claimed.intent_id and u.limit_key = v.limit_key and u.state <> 'released'
        returning 1
      ) select (select count(*) from claimed)::int as claimed, (select count(*) from settled)::int as settled`.execute(
        store.db,
      )
    : await sql<{
        claimed: number
      }>`with claimed as (${claim}) select count(*)::int as claimed from claimed`.execute(store.db)
  return Number(result.rows[0]?.claimed ?? 0) > 0
}

/** The settlement of an intent, when it has one. */
export async function readSettlement(store: Store, intentId: string): Promise<Settlement | undefined> {
  const row = await store.db
    .selectFrom('settlements')
    .select('outcome')
    .where('intent_id', '=', intentId)
    .executeTakeFirst()
  return row ? (row.outcome as unknown as Settlement) : undefined
}

/** Recent breaches, newest first (for `airlock approvals` and the admin API). */
export async function listBreaches(store: Store, limit = 20): Promise<Settlement[]> {
  const rows = await store.db
    .selectFrom('settlements')
    .select('outcome')
    .where('breach', '=', true)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => r.outcome as unknown as Settlement)
}

/** The fields of a mined intent the settlement needs. */
export type SettleSubject = {
  id: string
  chainId: number
  wallet: string
  tx: JsonObject | null
  txHash: string | null
}

/**
 * Settles one mined intent (see {@link settleMinedIntents}); a no-op when it is settled already (here or on a
 * replica). The write path calls it as soon as a write it waits for is mined.
 *
 * @example await settleIntent(parts, intent)
 * @throws whatever the chain or the store throw (the maintenance sweep tries again)
 */
export async function settleIntent(parts: SettleParts, row: SettleSubject): Promise<void> {
  if (!row.txHash) return
  const any = parts.chains.resolveAny(row.chainId)
  if (any.family === 'solana') return settleSolana(parts, any, row)
  const chain = any
  const tx = (row.tx ?? {}) as {
    to?: string
    value?: string
    checked?: CheckedEffects
    call?: { to?: string; value?: string }
    guard?: unknown
  }
  const wallet = getAddress(row.wallet)
  // A guarded write is the wallet calling itself with the checked call: the call's value and contract count.
  const value = BigInt(tx.call?.value ?? tx.value ?? '0')
  const contract = tx.call?.to ?? tx.to
  const checked = tx.checked
  const checkedTokens = (checked?.deltas ?? [])
    .filter((d) => d.kind === 'erc20' && d.token)
    .map((d) => d.token as Address)
  // The reservations are read meanwhile: only a settlement changes a mined intent's, and only once.
  const [effects, usage] = await Promise.all([
    readReceiptEffects(chain, { hash: row.txHash as Hash, wallet, value, tokens: checkedTokens }),
    parts.store.db
      .selectFrom('limit_usage')
      .select(['limit_key', 'amount'])
      .where('intent_id', '=', row.id)
      .where('state', '<>', 'released')
      .execute(),
  ])
  const outflows: Record<string, bigint> = {}
  for (const d of effects.deltas) {
    if (d.raw >= 0n) continue
    const key = assetKey(d)
    outflows[key] = (outflows[key] ?? 0n) + -d.raw
  }
  // What was checked: the simulation's outflows, and the native value sent in any case.
  const allowed: Record<string, bigint> = {}
  for (const d of checked?.deltas ?? []) {
    const raw = BigInt(d.raw)
    if (raw >= 0n) continue
    const key = assetKey(d)
    allowed[key] = (allowed[key] ?? 0n) + -raw
  }
  if (value > (allowed.native ?? 0n)) allowed.native = value
  const excess: Excess[] = []
  // Without a simulation (a human approved the bare call, knowing no effects were shown) or without any record of
  // a check (an intent signed before settlements existed) there is nothing to compare with; the limits still take
  // what moved.
  if (checked && checked.deltas !== null)
    for (const [asset, moved] of Object.entries(outflows)) {
      const limit = allowed[asset] ?? 0n
      if (moved > limit)
        excess.push({
          asset,
          moved: moved.toString(),
          checked: limit.toString(),
          formatted: await formatted(parts, chain, asset, moved, limit),
        })
    }
  const unchecked = await notLowered(
    chain,
    row.wallet as Address,
    effects.blockNumber,
    uncheckedApprovals(effects.approvals, checked),
  )
  // A guarded write that reverted: was it the guard (a post-condition failed), and which one?
  const revert =
    effects.status === 'reverted' && tx.guard
      ? await readGuardRevert(chain, row.txHash as Hash, effects.blockNumber).catch(() => undefined)
      : undefined
  // Only the guard's own verdicts count (a call's own revert arrives wrapped in CallFailed). Who is stopped: the
  // contract the write called, except when a token could not be read or did not arrive: then that token (a scam
  // output token must not get a shared router stopped).
  const blamed =
    revert?.error === 'Unreadable' ||
    (revert?.error === 'ConditionFailed' &&
      (revert.kind === 'tokenMinInflow' || revert.kind === 'multiMinInflow') &&
      revert.token.toLowerCase() !== contract?.toLowerCase())
      ? revert.token
      : contract
  const postcondition: PostconditionFailure | undefined =
    revert && (revert.error === 'ConditionFailed' || revert.error === 'Unreadable')
      ? toJsonFailure(blamed ?? 'unknown', revert)
      : undefined
  // Mined "successfully", yet the guard did not run it: the wallet's delegation was gone by then.
  const notExecuted =
    Boolean(tx.guard) && effects.status === 'success' && !effects.walletEvents.includes(guardExecutedTopic)
  const settlement: Settlement = {
    intentId: row.id,
    blockNumber: effects.blockNumber.toString(),
    status: effects.status,
    outflows: Object.fromEntries(Object.entries(outflows).map(([k, v]) => [k, v.toString()])),
    excess,
    unchecked,
    balancesRead: effects.balancesRead,
    ...(postcondition ? { postcondition } : {}),
    ...(notExecuted ? { notExecuted: true as const } : {}),
  }
  // A post-condition that failed is reported like a breach (its contract stops), though nothing moved.
  const breach = excess.length > 0 || unchecked.length > 0 || postcondition !== undefined
  const usdExcess = await excessUsd(parts, chain, excess)
  // The limits take what actually moved: an outflow budget its token's real outflow, a USD budget what was
  // reserved plus the excess's value. (Count budgets count the write, which happened once either way.) The claim
  // and the new amounts are one statement: whoever inserts the settlement row settles the limits, once.
  const amounts = usage.map((u) => ({
    key: u.limit_key,
    amount: settledAmount(
      parts.policy(),
      u.limit_key,
      BigInt(u.amount),
      outflows,
      usdExcess,
      effects.status === 'reverted' || notExecuted,
    ).toString(),
  }))
  const claimed = await claimSettlement(parts.store, settlement, breach, amounts)
  if (claimed && breach) await report(parts, settlement, postcondition?.contract ?? contract)
}

/** A guard revert as the settlement keeps it (amounts as decimal strings). */
function toJsonFailure(contract: string, revert: GuardRevert): PostconditionFailure {
  return {
    contract,
    reason: describeGuardRevert(revert),
    error: revert.error,
    ...('index' in revert ? { index: revert.index } : {}),
    ...(revert.error === 'ConditionFailed'
      ? {
          kind: revert.kind,
          token: revert.token,
          bound: revert.bound.toString(),
          actual: revert.actual.toString(),
        }
      : {}),
    ...(revert.error === 'Unreadable' ? { token: revert.token } : {}),
  }
}

/**
 * Engages the kill switch and audits a breach; marks it reported. A write the guard reverted stops its contract
 * only (the kill switch for that contract): nothing moved, but the contract tried to take more than was checked.
 */
async function report(parts: SettleParts, settlement: Settlement, contract?: string): Promise<void> {
  if (settlement.postcondition) return reportPostcondition(parts, settlement, settlement.postcondition)
  const to =
    contract ??
    (
      (
        await parts.store.db
          .selectFrom('intents')
          .select(['tx'])
          .where('id', '=', settlement.intentId)
          .executeTakeFirst()
      )?.tx as { to?: string } | null | undefined
    )?.to ??
    'unknown'
  const what = [
    ...settlement.excess.map(
      (e) =>
        `${e.asset === 'native' ? 'native coin' : `token ${e.asset}`}: ${e.formatted?.moved ?? e.moved} moved, ${e.formatted?.checked ?? e.checked} checked`,
    ),
    ...settlement.unchecked.map(
      (a) => `an approval of token ${a.token} to ${a.spender} that was not checked`,
    ),
  ].join('; ')
  const reason = `intent ${settlement.intentId}: contract ${to} moved more than was checked (${what})`
  // The stop first (fail closed): an audit that cannot be written must not leave the writes running.
  await parts.killSwitch.engage(reason.slice(0, 900), 'airlock (automatic)')
  await parts.audit.append({
    kind: 'intent.breach',
    // No actor: the entry is the intent's caller's (the audit log fills it in); the stop above is the gateway's own.
    intentId: settlement.intentId,
    data: { contract: to, ...(settlement as unknown as JsonObject) },
  })
  await parts.store.db
    .updateTable('settlements')
    .set({ reported: true })
    .where('intent_id', '=', settlement.intentId)
    .execute()
}

/** Stops the contract a guarded write called (or everything, when contracts cannot be stopped one by one). */
async function reportPostcondition(
  parts: SettleParts,
  settlement: Settlement,
  failure: PostconditionFailure,
): Promise<void> {
  const reason = `intent ${settlement.intentId}: the guard reverted a write to contract ${failure.contract} on chain (${failure.reason}); nothing moved`
  const row = await parts.store.db
    .selectFrom('intents')
    .select(['chain_id'])
    .where('id', '=', settlement.intentId)
    .executeTakeFirst()
  // The stop first (fail closed), as for a breach.
  if (parts.stopContract && row && /^0x[0-9a-fA-F]{40}$/.test(failure.contract))
    await parts.stopContract(row.chain_id, failure.contract, reason.slice(0, 900))
  else await parts.killSwitch.engage(reason.slice(0, 900), 'airlock (automatic)')
  await parts.audit.append({
    kind: 'intent.postcondition_failed',
    intentId: settlement.intentId,
    data: settlement as unknown as JsonObject,
  })
  await parts.store.db
    .updateTable('settlements')
    .set({ reported: true })
    .where('intent_id', '=', settlement.intentId)
    .execute()
}

function assetKey(d: AssetDelta | { kind: string; token?: string; tokenId?: string | bigint }): string {
  if (d.kind === 'native') return 'native'
  // A Solana mint is base58: its case is part of it.
  if (d.kind === 'spl') return (d as { token: string }).token
  const token = (d as { token?: string }).token?.toLowerCase() ?? 'unknown'
  if (d.kind === 'erc20') return token
  return `${token}#${String((d as { tokenId?: unknown }).tokenId ?? '')}`
}

/**
 * Of the approvals a receipt shows that were not checked, those that grant something: an ERC-20 allowance set to no
 * more than the wallet had already granted the spender before the block (re-approving the same amount, lowering it)
 * gives nothing new, and the simulation does not list it. An allowance that cannot be read stays unchecked.
 */
async function notLowered(
  chain: ReturnType<Chains['resolve']>,
  wallet: Address,
  block: bigint,
  unchecked: Settlement['unchecked'],
): Promise<Settlement['unchecked']> {
  const out: Settlement['unchecked'] = []
  for (const a of unchecked) {
    if (a.amount === null || block === 0n) {
      out.push(a)
      continue
    }
    const before = await chain.client
      .readContract({
        address: a.token as Address,
        abi: erc20Abi,
        functionName: 'allowance',
        args: [wallet, a.spender as Address],
        blockNumber: block - 1n,
      })
      .catch(() => undefined)
    if (before === undefined || BigInt(a.amount) > before) out.push(a)
  }
  return out
}

function uncheckedApprovals(
  actual: readonly ApprovalExposure[],
  checked: CheckedEffects | undefined,
): Settlement['unchecked'] {
  if (!checked || checked.deltas === null) return []
  const out: Settlement['unchecked'] = []
  for (const a of actual) {
    const seen = checked.approvals.find(
      (c) =>
        c.token.toLowerCase() === a.token.toLowerCase() &&
        c.spender.toLowerCase() === a.spender.toLowerCase() &&
        (c.amount === null || a.amount === null ? c.amount === null : BigInt(c.amount) >= a.amount),
    )
    if (!seen)
      out.push({ token: a.token, spender: a.spender, amount: a.amount === null ? null : a.amount.toString() })
  }
  return out
}

async function formatted(
  parts: SettleParts,
  chain: ReturnType<Chains['resolve']>,
  asset: string,
  moved: bigint,
  checked: bigint,
): Promise<Excess['formatted']> {
  if (asset.includes('#')) return undefined
  const decimals =
    asset === 'native'
      ? chain.chain.nativeCurrency.decimals
      : (await parts.tokens.get(chain, asset as Address).catch(() => undefined))?.decimals
  if (decimals === undefined) return undefined
  return { moved: formatUnits(moved, decimals), checked: formatUnits(checked, decimals) }
}

/** The USD value (micro-USD) of what moved beyond the check, or undefined when an asset has no price. */
async function excessUsd(
  parts: SettleParts,
  chain: ReturnType<Chains['resolve']>,
  excess: readonly Excess[],
): Promise<bigint | undefined> {
  if (excess.length === 0) return 0n
  const prices = await parts.prices(chain).catch(() => undefined)
  let total = 0n
  for (const e of excess) {
    if (e.asset.includes('#')) return undefined
    const price = prices?.(e.asset === 'native' ? 'native' : (e.asset as Address))
    const decimals =
      e.asset === 'native'
        ? chain.chain.nativeCurrency.decimals
        : (await parts.tokens.get(chain, e.asset as Address).catch(() => undefined))?.decimals
    if (price === undefined || decimals === undefined) return undefined
    total += ((BigInt(e.moved) - BigInt(e.checked)) * price) / 10n ** BigInt(decimals)
  }
  return total
}

/** What one reservation settles at, given what actually moved. */
function settledAmount(
  policy: CompiledPolicy | undefined,
  key: string,
  reserved: bigint,
  outflows: Record<string, bigint>,
  usdExcess: bigint | undefined,
  reverted = false,
): bigint {
  // An agent's grant budget is in USD: the reservation plus the value of the excess, nothing when reverted.
  if (isGrantBudgetKey(key)) return reverted ? 0n : reserved + (usdExcess ?? 0n)
  const parts = parseLimitKey(key)
  if (!parts) return reserved
  if (parts.token !== undefined) return outflows[parts.token] ?? 0n
  const limit = policy?.rules.find((r) => r.id === parts.ruleId)?.limits.find((l) => l.id === parts.limitId)
  // A USD budget: the reservation plus the value of the excess (unpriced excess: the kill switch has engaged).
  // A reverted write moved nothing: a USD budget takes nothing (a count budget still counts the write).
  if (limit?.metric === 'outflowUsd') return reverted ? 0n : reserved + (usdExcess ?? 0n)
  return reverted && limit?.metric !== 'count' ? 0n : reserved
}
