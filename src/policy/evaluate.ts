import { formatAmount } from '../schemas/amount.js'
import type { CompiledLimit, CompiledPolicy, CompiledRule, FactsView } from './compilePolicy.js'
import { pow10, toBaseUnitsFloor } from './decimal.js'
import type { LimitCharge, PolicyDecision, PolicyFacts, PolicyOperation } from './types.js'

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
}

/**
 * Decides one write intent under a compiled policy. Pure: the same policy and facts always give the same decision
 * (time comes from `facts.now`), and nothing is read or written.
 *
 * Any matching `deny` rule wins; else any matching `require_approval`; else the matching `allow` rules, with the
 * limits of all of them to reserve; else deny (deny by default: no rule, no write). An allow rule with an
 * `outflowUsd` limit does not apply when the outflow has no USD value (fail closed).
 *
 * @example
 * const decision = evaluatePolicy(compilePolicy(policy), facts)
 * if (decision.effect === 'allow') await ledger.reserve(decision.limits)
 */
export function evaluatePolicy(compiled: CompiledPolicy, facts: PolicyFacts): PolicyDecision {
  const view = viewOf(facts)
  const policyHash = compiled.policyHash
  const lists = compiled.byOperation[facts.operation]
  if (!lists) return defaultDeny(facts, [], policyHash)

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
  return defaultDeny(facts, skipped, policyHash)
}

function defaultDeny(facts: PolicyFacts, extra: string[], policyHash: string): PolicyDecision {
  return {
    effect: 'deny',
    ruleIds: [],
    reasons: [`no rule allows this ${facts.operation} on ${facts.chain}`, ...extra],
    limits: [],
    policyHash,
  }
}

function viewOf(facts: PolicyFacts): FactsView {
  const now = facts.now
  return {
    facts,
    chainKeys: [facts.chain.toLowerCase(), String(facts.chainId), `eip155:${facts.chainId}`],
    wallet: facts.wallet.toLowerCase(),
    to: facts.to?.toLowerCase(),
    token: facts.token
      ? facts.token.toLowerCase()
      : nativeOperations.has(facts.operation)
        ? 'native'
        : undefined,
    contract: facts.contract?.toLowerCase(),
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
  const base = `${rule.id}/${limit.id}/${facts.chainId}/${view.wallet}`
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
    if ((o.token ? o.token.toLowerCase() : 'native') !== tokenKey) continue
    amount += o.raw
    decimals ??= o.decimals
  }
  if (decimals === undefined) {
    if (facts.amount && view.token === tokenKey) decimals = facts.amount.decimals
    else if (tokenKey === 'native') decimals = facts.value.decimals
    else return undefined
  }
  return {
    key: `${base}/${tokenKey}`,
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
    const why = sim?.revertReason?.slice(0, 200)
    phrases.push(`the simulation reverts${why ? ` (${why})` : ''}`)
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
  if (m.time) phrases.push(`it is ${facts.now.toISOString().slice(0, 16).replace('T', ' ')} UTC`)
  return phrases.length
    ? phrases.slice(0, 2).join(' and ')
    : `this ${facts.operation} on ${facts.chain} is one the rule covers`
}
