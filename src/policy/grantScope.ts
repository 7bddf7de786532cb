import { formatUnits } from 'viem'
import type { GrantScope } from '../context/caller.js'
import { parseDecimal, toBaseUnitsFloor } from './decimal.js'
import { addressKey } from './keys.js'
import type { LimitCharge, PolicyDecision, PolicyFacts } from './types.js'

/** The rule id a grant's refusals and its budget are named by (no policy rule can take this id: it has no dash). */
export const grantRuleId = 'grant'

/**
 * The limit ledger's key of an agent's grant budget: one per agent, whatever grant it holds now, so a new grant
 * cannot reset what the agent already spent in the window.
 *
 * @example grantBudgetKey('did:key:z6Mk…') // 'agent/did:key:z6Mk…/budget'
 */
export function grantBudgetKey(agent: string): string {
  return `agent/${agent}/budget`
}

/**
 * Whether a limit key is a grant budget's (a USD budget settled like a policy's `outflowUsd` limit).
 *
 * @example isGrantBudgetKey(grantBudgetKey(did)) // true
 */
export function isGrantBudgetKey(key: string): boolean {
  return key.startsWith('agent/') && key.endsWith('/budget')
}

/**
 * The grant's budget as a limit charge for `amount` micro-USD (what get_limits, whoami and the reservation use).
 *
 * @example grantCharge(did, grant, 5_000_000n)
 */
export function grantCharge(agent: string, grant: GrantScope, amount: bigint): LimitCharge {
  return {
    key: grantBudgetKey(agent),
    ruleId: grantRuleId,
    limitId: 'budget',
    metric: 'outflowUsd',
    windowSeconds: grant.budget.windowSeconds,
    max: usd(grant.budget.max),
    amount,
    decimals: 6,
  }
}

/**
 * Narrows a policy decision by what the agent's user allowed (DESIGN §7): pure, after the policy. A grant never
 * widens: a denial stays a denial, and an allow (or a hold for a human) becomes a denial when the write is on a
 * chain the grant does not name, sends to a payee it does not list, cannot be priced in USD, moves an amount
 * outside the grant's range, or comes after its expiry. What remains charges the grant's budget as one more limit,
 * reserved atomically with the policy's own.
 *
 * @example const decision = narrowByGrant(evaluatePolicy(policy, facts), facts, caller.grant)
 */
export function narrowByGrant(
  decision: PolicyDecision,
  facts: PolicyFacts,
  grant: GrantScope,
): PolicyDecision {
  if (decision.effect === 'deny') return decision
  const deny = (reason: string): PolicyDecision => ({
    effect: 'deny',
    ruleIds: [grantRuleId],
    reasons: [`${reason} (the user's grant to this agent)`],
    limits: [],
    policyHash: decision.policyHash,
  })
  if (facts.now.getTime() >= grant.expiry * 1000)
    return deny(`the grant expired at ${new Date(grant.expiry * 1000).toISOString()}`)
  const caip2 = facts.caip2 ?? `eip155:${facts.chainId}`
  if (!grant.chains.includes(caip2))
    return deny(
      `chain ${facts.chain} (${caip2}) is not one of the ${grant.chains.length} chain(s) the grant names`,
    )
  // Creating a standing order moves nothing: each of its fires is narrowed (payees, range) and charged to the
  // budget as it happens, acting for this agent. Its own budget is the policy's to weigh.
  if (facts.operation === 'standing_order') return decision
  if (grant.payees.length > 0) {
    const to = facts.to === undefined ? undefined : addressKey(facts.to)
    if (to === undefined || !grant.payees.map(addressKey).includes(to))
      return deny(
        to === undefined
          ? `this ${facts.operation} names no payee, and the grant lists its payees`
          : `${facts.to} is not one of the ${grant.payees.length} payee(s) the grant allows`,
      )
  }
  if (facts.outflowMicroUsd === undefined)
    return deny(`what this ${facts.operation} moves has no USD price, and the grant limits the agent in USD`)
  // An approval lets a spender take funds later, outside any later check: it counts like what it allows.
  if (facts.approvalMicroUsd === undefined)
    return deny(
      `this ${facts.operation} grants an approval without a USD bound (unlimited, an NFT, or a token without a price), and the grant limits the agent in USD`,
    )
  const outflow = facts.outflowMicroUsd + facts.approvalMicroUsd
  const min = usd(grant.amountRange.min)
  const max = usd(grant.amountRange.max)
  if (outflow < min || outflow > max)
    return deny(
      `it moves or approves $${formatUnits(outflow, 6)}, outside the grant's range of $${grant.amountRange.min} to $${grant.amountRange.max} per write`,
    )
  return { ...decision, limits: [...decision.limits, grantCharge(facts.agent, grant, outflow)] }
}

/** A USD display amount (decimal string) in micro-USD, rounded down. */
function usd(amount: string): bigint {
  return toBaseUnitsFloor(parseDecimal(amount), 6)
}
