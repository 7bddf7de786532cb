import { formatAmount } from '../schemas/amount.js'
import { quoteUntrusted } from '../untrusted/quoteUntrusted.js'
import {
  type CheckField,
  type CompiledLimit,
  type CompiledPolicy,
  type CompiledRule,
  type FactsView,
  standardSolanaPrograms,
} from './compilePolicy.js'
import { compareRaw, parseDecimal, pow10, toBaseUnitsFloor } from './decimal.js'
import { addressKey, chainKeys, limitKey } from './keys.js'
import { type PolicyBounds, policyWeekdays } from './policySchema.js'
import type { LimitCharge, NearestRule, PolicyDecision, PolicyFacts, PolicyOperation } from './types.js'

/** Operations whose asset is the native coin when `facts.token` is absent (a rule's `token: ["native"]`). */
const nativeOperations: ReadonlySet<PolicyOperation> = new Set(['transfer', 'swap', 'pay'])

/** Who `to` is, per operation, in the reasons' words. */
const counterparty: Record<PolicyOperation, string> = {
  transfer: 'recipient',
  approve: 'spender',
  write_contract: 'counterparty',
  swap: 'router',
  sign_typed_data: 'verifying contract',
  pay: 'payee',
  standing_order: 'counterparty',
}

/**
 * Decides one write intent under a compiled policy. Pure: the same policy and facts always give the same decision
 * (time comes from `facts.now`), and nothing is read or written.
 *
 * Any matching `deny` rule wins; else any matching `require_approval`; else the matching `allow` rules, with the
 * limits of all of them to reserve; else deny (deny by default: no rule, no write). An allow rule with an
 * `outflowUsd` limit does not apply when the outflow has no USD value (fail closed). A default deny names the
 * allow rule that came closest (`nearest`): which of its conditions failed, with the rule's cap, and its limits.
 *
 * @example
 * const decision = evaluatePolicy(compilePolicy(policy), facts)
 * if (decision.effect === 'allow') await ledger.reserve(decision.limits)
 */
export function evaluatePolicy(compiled: CompiledPolicy, facts: PolicyFacts): PolicyDecision {
  const view = viewOf(facts)
  const policyHash = compiled.policyHash
  const lists = compiled.byOperation[facts.operation]
  if (!lists) return defaultDeny(facts, [], policyHash, undefined)

  const denied = matching(lists.deny, view)
  if (denied.length)
    return {
      effect: 'deny',
      ruleIds: denied.map((r) => r.id),
      reasons: denied.map((r) => `denied by rule ${r.id}: ${explain(r, facts)}`),
      limits: [],
      policyHash,
    }

  const held = matching(lists.approval, view)
  if (held.length)
    return {
      effect: 'require_approval',
      ruleIds: held.map((r) => r.id),
      reasons: held.map((r) => `held for approval by rule ${r.id}: ${explain(r, facts)}`),
      limits: [],
      policyHash,
    }

  const ruleIds: string[] = []
  const reasons: string[] = []
  const skipped: string[] = []
  const limits: LimitCharge[] = []
  for (const rule of lists.allow) {
    if (!matches(rule, view)) continue
    const charges: LimitCharge[] = []
    let unpriced = false
    for (const limit of rule.limits) {
      const charge = chargeOf(rule, limit, facts, view)
      if (charge === 'unpriced') {
        unpriced = true
        break
      }
      if (charge) charges.push(charge)
    }
    if (unpriced) {
      skipped.push(
        `rule ${rule.id} does not apply: it has a USD limit and the outflow has no USD price, so its budget cannot be checked`,
      )
      continue
    }
    ruleIds.push(rule.id)
    reasons.push(
      charges.length
        ? `allowed by rule ${rule.id}, within its limit${charges.length > 1 ? 's' : ''} ${charges.map((c) => c.limitId).join(', ')}`
        : `allowed by rule ${rule.id}`,
    )
    for (const c of charges) limits.push(c)
  }
  if (ruleIds.length) return { effect: 'allow', ruleIds, reasons, limits, policyHash }
  // A rule skipped for want of a price is as near as it gets, and `skipped` already says why.
  const near = skipped.length ? undefined : nearestRule(lists.allow, facts, view)
  return defaultDeny(facts, skipped, policyHash, near)
}

function defaultDeny(
  facts: PolicyFacts,
  extra: string[],
  policyHash: string,
  nearest: NearestRule | undefined,
): PolicyDecision {
  const reasons = [`no rule allows this ${facts.operation} on ${facts.chain}`, ...extra]
  if (nearest) reasons.push(`the nearest allow rule is ${nearest.ruleId}: ${nearest.failing.join('; ')}`)
  else if (!extra.length) reasons.push(`the policy has no allow rule for a ${facts.operation}`)
  return {
    effect: 'deny',
    ruleIds: [],
    reasons,
    limits: [],
    policyHash,
    ...(nearest ? { nearest } : {}),
  }
}

/**
 * The allow rule that came closest to matching: the fewest failing conditions, the first in policy order on a tie
 * (a rule that fails on its amount cap alone beats one that fails on recipient and token). Runs only for a
 * default deny, so the hot path (`matches`) stays a short-circuit loop.
 */
function nearestRule(
  rules: readonly CompiledRule[],
  facts: PolicyFacts,
  view: FactsView,
): NearestRule | undefined {
  let best: { rule: CompiledRule; failing: number[] } | undefined
  for (const rule of rules) {
    const failing: number[] = []
    let noSimulation = false
    for (let i = 0; i < rule.checks.length; i++) {
      const field = rule.fields[i]!
      // Without a simulation the `simulation.*` checks have nothing to read: "no simulation" says it all.
      if (noSimulation && field.startsWith('simulation.')) continue
      if (rule.checks[i]!(view)) continue
      failing.push(i)
      if (field === 'simulation') noSimulation = true
      if (best && failing.length >= best.failing.length) break
    }
    if (!best || failing.length < best.failing.length) best = { rule, failing }
  }
  if (!best) return undefined
  const { rule, failing } = best
  const limits: LimitCharge[] = []
  for (const limit of rule.limits) {
    const charge = chargeOf(rule, limit, facts, view)
    if (charge && charge !== 'unpriced') limits.push(charge)
  }
  return {
    ruleId: rule.id,
    failing: failing.map((i) => whyNot(rule, rule.fields[i]!, facts, view)),
    limits,
  }
}

/** At most `n` items of a list, then how many more. */
function some(items: readonly string[], n = 3): string {
  return items.length > n ? `${items.slice(0, n).join(', ')} and ${items.length - n} more` : items.join(', ')
}

/**
 * Why one condition of a rule does not hold for these facts, in words that name the rule, its threshold and the
 * `match` field: "amount 150 is above rule small-usdc's cap of 100 (match.amount.lte)".
 */
function whyNot(rule: CompiledRule, field: CheckField, facts: PolicyFacts, view: FactsView): string {
  const m = rule.rule.match ?? {}
  const id = rule.id
  const who = counterparty[facts.operation] ?? 'counterparty'
  switch (field) {
    case 'chain':
      return `chain ${facts.chain} is not one of rule ${id}'s chains, ${some(m.chain ?? [])} (match.chain)`
    case 'wallet':
      return `wallet ${facts.wallet} is not one of rule ${id}'s wallets (match.wallet)`
    case 'agent':
      return `agent ${JSON.stringify(facts.agent.slice(0, 64))} is not one of rule ${id}'s agents (match.agent)`
    case 'origin':
      return `this write comes from ${facts.origin === 'order' ? 'a standing order' : facts.origin === 'payout' ? 'a revenue payout' : 'a tool call'}, and rule ${id} names ${some(m.origin ?? [])} (match.origin)`
    case 'developer':
      return facts.developer
        ? `developer ${JSON.stringify(facts.developer.slice(0, 64))} is not one of rule ${id}'s developers (match.developer)`
        : `the caller has no passport naming a developer, and rule ${id} names developers (match.developer)`
    case 'to':
      return facts.to
        ? `the ${who} ${facts.to} is not one of the ${m.to?.length ?? 0} address(es) rule ${id} allows (match.to)`
        : `this ${facts.operation} has no ${who}, and rule ${id} names its ${who}s (match.to)`
    case 'token':
      return `${view.token === 'native' ? 'the native coin' : view.token ? `token ${facts.token}` : 'no token'} is not one of rule ${id}'s tokens, ${some(m.token ?? [])} (match.token)`
    case 'host':
      return facts.host
        ? `host ${JSON.stringify(facts.host.slice(0, 100))} is not one of rule ${id}'s hosts, ${some(m.host ?? [])} (match.host)`
        : `this ${facts.operation} buys from no host, and rule ${id} names hosts (match.host)`
    case 'contract':
      return `the contract called, ${facts.contract ?? 'none'}, is not one of rule ${id}'s contracts, ${some(m.contract ?? [])} (match.contract)`
    case 'addressBook':
      return facts.to
        ? `the ${who} ${facts.to} is ${facts.addressBookListed ? '' : 'not '}in the operator's address book, and rule ${id} allows only ${who}s ${m.addressBook === 'listed' ? '' : 'not '}in it (match.addressBook)`
        : `this ${facts.operation} has no ${who}, and rule ${id} looks its ${who} up in the address book (match.addressBook)`
    case 'function':
      return `the call runs ${some(facts.functions) || 'no function'}, and rule ${id} allows only ${some(m.function ?? [], 5)} (match.function)`
    case 'programs': {
      if (facts.programs === undefined)
        return `this write calls no Solana programs, and rule ${id} names programs (match.programs)`
      if (rule.effect !== 'allow')
        return `the transaction calls none of rule ${id}'s programs, ${some(m.programs ?? [])} (match.programs)`
      if (!m.programs && !m.chain)
        return `rule ${id} names neither a chain nor programs, so it covers EVM chains only; name the Solana cluster in match.chain (match.programs)`
      const named = m.programs ?? standardSolanaPrograms
      const others = facts.programs.filter((p) => !named.includes(p))
      return `the transaction calls ${some(others)}, which rule ${id} does not name (match.programs${m.programs ? '' : '; without it only the standard programs are allowed'})`
    }
    case 'tokenRisks':
      return `the token has ${facts.tokenRisks?.length ? `only the risks ${some(facts.tokenRisks)}` : 'none of the risks'} rule ${id} names, ${some(m.tokenRisks ?? [])} (match.tokenRisks)`
    case 'time': {
      const [from, to] = m.time?.hoursUtc ?? [0, 24]
      const days = m.time?.days ? ` on ${m.time.days.join(', ')}` : ''
      return `it is ${facts.now.toISOString().slice(11, 16)} UTC on ${policyWeekdays[view.day]}, outside rule ${id}'s hours ${from}–${to} UTC${days} (match.time)`
    }
    case 'amount':
      return facts.amount
        ? outOfBounds(
            m.amount,
            facts.amount.raw,
            facts.amount.decimals,
            `amount ${formatAmount(facts.amount.raw, facts.amount.decimals)}`,
            id,
            'match.amount',
            '',
          )
        : `this ${facts.operation} names no amount, and rule ${id} bounds it (match.amount)`
    case 'value':
      return outOfBounds(
        m.value,
        facts.value.raw,
        facts.value.decimals,
        `the native value ${formatAmount(facts.value.raw, facts.value.decimals)}`,
        id,
        'match.value',
        '',
      )
    case 'simulation':
      return `there is no simulation of it, and rule ${id} needs one (match.simulation)`
    case 'simulation.reverts':
      return `the simulation ${facts.simulation?.reverted ? 'reverts' : 'succeeds'}, and rule ${id} needs it to ${m.simulation?.reverts ? 'revert' : 'succeed'} (match.simulation.reverts)`
    case 'simulation.newApprovals': {
      const n = facts.simulation?.approvals.length ?? 0
      const wanted = m.simulation?.newApprovals
      return wanted === 'none'
        ? `the call grants ${n} new approval${n === 1 ? '' : 's'}, and rule ${id} allows none (match.simulation.newApprovals)`
        : `the call grants no ${wanted === 'unlimited' ? 'unlimited ' : ''}approval, and rule ${id} covers only calls that do (match.simulation.newApprovals)`
    }
    case 'simulation.outflowUsd':
      return facts.outflowMicroUsd === undefined
        ? `the outflow has no USD price, and rule ${id} bounds it in USD (match.simulation.outflowUsd)`
        : outOfBounds(
            m.simulation?.outflowUsd,
            facts.outflowMicroUsd,
            6,
            `the outflow, $${formatAmount(facts.outflowMicroUsd, 6)},`,
            id,
            'match.simulation.outflowUsd',
            '$',
          )
  }
}

/** The bounds `raw` breaks, each as "amount 150 is above rule r's cap of 100 (match.amount.lte)". */
function outOfBounds(
  bounds: PolicyBounds | undefined,
  raw: bigint,
  decimals: number,
  subject: string,
  id: string,
  path: string,
  unit: string,
): string {
  const broken: string[] = []
  for (const op of ['lte', 'lt', 'gte', 'gt'] as const) {
    const text = bounds?.[op]
    if (text === undefined) continue
    const c = compareRaw(raw, decimals, parseDecimal(text))
    const fails = op === 'lt' ? c >= 0 : op === 'lte' ? c > 0 : op === 'gt' ? c <= 0 : c < 0
    if (!fails) continue
    const how = {
      lte: `is above rule ${id}'s cap of ${unit}${text}`,
      lt: `is not below rule ${id}'s cap of ${unit}${text} (exclusive)`,
      gte: `is below rule ${id}'s minimum of ${unit}${text}`,
      gt: `is not above rule ${id}'s minimum of ${unit}${text} (exclusive)`,
    }[op]
    broken.push(`${subject} ${how} (${path}.${op})`)
  }
  return broken.join('; ') || `${subject} is outside rule ${id}'s bounds (${path})`
}

function viewOf(facts: PolicyFacts): FactsView {
  const now = facts.now
  return {
    facts,
    chainKeys: chainKeys(facts.chain, facts.chainId, facts.caip2),
    wallet: addressKey(facts.wallet),
    to: facts.to === undefined ? undefined : addressKey(facts.to),
    token: facts.token
      ? addressKey(facts.token)
      : nativeOperations.has(facts.operation)
        ? 'native'
        : undefined,
    contract: facts.contract === undefined ? undefined : addressKey(facts.contract),
    hour: now.getUTCHours(),
    day: now.getUTCDay(),
  }
}

function matches(rule: CompiledRule, view: FactsView): boolean {
  const checks = rule.checks
  for (let i = 0; i < checks.length; i++) if (!checks[i]!(view)) return false
  return true
}

function matching(rules: CompiledRule[], view: FactsView): CompiledRule[] {
  const out: CompiledRule[] = []
  for (const rule of rules) if (matches(rule, view)) out.push(rule)
  return out
}

/**
 * What one limit of an allowing rule takes from its budget: `count` 1, `outflowUsd` the priced outflow (or
 * `unpriced`), `outflow` the sum of the wallet's outflows of the limit's token. An outflow limit of a token whose
 * decimals the facts do not carry has nothing flowing out of it, so it takes nothing and is left out.
 */
function chargeOf(
  rule: CompiledRule,
  limit: CompiledLimit,
  facts: PolicyFacts,
  view: FactsView,
): LimitCharge | 'unpriced' | undefined {
  const base = limitKey({ ruleId: rule.id, limitId: limit.id, chainId: facts.chainId, wallet: view.wallet })
  const common = { ruleId: rule.id, limitId: limit.id, windowSeconds: limit.windowSeconds }
  if (limit.metric === 'count')
    return {
      key: base,
      ...common,
      metric: 'count',
      max: limit.max.int / pow10(limit.max.scale),
      amount: 1n,
      decimals: 0,
    }
  if (limit.metric === 'outflowUsd') {
    if (facts.outflowMicroUsd === undefined) return 'unpriced'
    return {
      key: base,
      ...common,
      metric: 'outflowUsd',
      max: toBaseUnitsFloor(limit.max, 6),
      amount: facts.outflowMicroUsd,
      decimals: 6,
    }
  }
  const tokenKey = limit.tokenKey!
  let amount = 0n
  let decimals: number | undefined
  for (const o of facts.outflows) {
    if ((o.token ? addressKey(o.token) : 'native') !== tokenKey) continue
    amount += o.raw
    decimals ??= o.decimals
  }
  if (decimals === undefined) {
    if (facts.amount && view.token === tokenKey) decimals = facts.amount.decimals
    else if (tokenKey === 'native') decimals = facts.value.decimals
    else return undefined
  }
  return {
    key: limitKey({
      ruleId: rule.id,
      limitId: limit.id,
      chainId: facts.chainId,
      wallet: view.wallet,
      token: tokenKey,
    }),
    ...common,
    metric: 'outflow',
    token: limit.token,
    max: toBaseUnitsFloor(limit.max, decimals),
    amount,
    decimals,
  }
}

/**
 * Why a rule matched, in words for the agent and the approver: the facts that made it match (the call's, never
 * the rule's thresholds), at most two, or the operation and chain.
 */
function explain(rule: CompiledRule, facts: PolicyFacts): string {
  const m = rule.rule.match ?? {}
  const phrases: string[] = []
  const sim = facts.simulation
  const who = counterparty[facts.operation] ?? 'counterparty'
  if (m.simulation?.newApprovals === 'unlimited') {
    const grant = sim?.approvals.find((a) => a.unlimited)
    phrases.push(`the call grants an unlimited approval${grant ? ` to ${grant.spender}` : ''}`)
  } else if (m.simulation?.newApprovals === 'any') phrases.push('the call grants an approval')
  else if (m.simulation?.newApprovals === 'none') phrases.push('the call grants no new approval')
  if (m.simulation?.reverts === true) {
    const why = sim?.revertReason
    phrases.push(
      `the simulation reverts${why ? ` with ${quoteUntrusted(why, 'revert reason', { maxLength: 200 })}` : ''}`,
    )
  } else if (m.simulation?.reverts === false) phrases.push('the simulation succeeds')
  if (m.addressBook)
    phrases.push(
      `the ${who} ${facts.to} is ${m.addressBook === 'listed' ? 'in' : 'not in'} the operator's address book`,
    )
  if (m.simulation?.outflowUsd && facts.outflowMicroUsd !== undefined)
    phrases.push(`the outflow is worth $${formatAmount(facts.outflowMicroUsd, 6)}`)
  if (m.amount && facts.amount)
    phrases.push(`the amount is ${formatAmount(facts.amount.raw, facts.amount.decimals)}`)
  if (m.value)
    phrases.push(`it sends ${formatAmount(facts.value.raw, facts.value.decimals)} of the native coin`)
  if (m.function) phrases.push(`the call runs ${facts.functions.join(', ')}`)
  if (m.to) phrases.push(`the ${who} is ${facts.to}`)
  if (m.contract) phrases.push(`the contract called is ${facts.contract}`)
  if (m.host && facts.host) phrases.push(`it buys from ${JSON.stringify(facts.host.slice(0, 100))}`)
  if (m.time) phrases.push(`it is ${facts.now.toISOString().slice(0, 16).replace('T', ' ')} UTC`)
  return phrases.length
    ? phrases.slice(0, 2).join(' and ')
    : `this ${facts.operation} on ${facts.chain} is one the rule covers`
}
