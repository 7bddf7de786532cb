import { describe, expect, it } from 'vitest'
import type { GrantScope } from '../context/caller.js'
import { grantBudgetKey, isGrantBudgetKey, narrowByGrant } from './grantScope.js'
import type { PolicyDecision, PolicyFacts } from './types.js'

const payee = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
const grant: GrantScope = {
  tools: ['transfer'],
  chains: ['eip155:31337'],
  payees: [payee],
  budget: { currency: 'USD', max: '100', windowSeconds: 86_400 },
  amountRange: { currency: 'USD', min: '1', max: '25' },
  expiry: 2_000_000_000,
  hash: '0x01',
}
const allow: PolicyDecision = {
  effect: 'allow',
  ruleIds: ['small'],
  reasons: [],
  limits: [],
  policyHash: 'h',
}
const facts = (over: Partial<PolicyFacts> = {}): PolicyFacts => ({
  operation: 'transfer',
  chain: 'devnet',
  chainId: 31337,
  wallet: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
  agent: 'did:key:z6MkAgent',
  to: payee,
  functions: [],
  value: { raw: 0n, decimals: 18 },
  addressBookListed: true,
  outflows: [],
  outflowMicroUsd: 10_000_000n,
  approvalMicroUsd: 0n,
  now: new Date(1_900_000_000_000),
  ...over,
})

describe('narrowByGrant', () => {
  it('adds the agent’s budget to what the policy allows, charged with the USD outflow', () => {
    const d = narrowByGrant(allow, facts(), grant)
    expect(d.effect).toBe('allow')
    expect(d.limits).toEqual([
      expect.objectContaining({
        key: grantBudgetKey('did:key:z6MkAgent'),
        max: 100_000_000n,
        amount: 10_000_000n,
      }),
    ])
    expect(isGrantBudgetKey(d.limits[0]!.key)).toBe(true)
  })
  it('never widens: a policy denial stays as it was', () => {
    const deny: PolicyDecision = { ...allow, effect: 'deny', ruleIds: ['no'] }
    expect(narrowByGrant(deny, facts(), grant)).toBe(deny)
  })
  it.each([
    ['another chain', { chainId: 1, chain: 'ethereum' }, /chain ethereum \(eip155:1\)/],
    [
      'a payee the grant does not list',
      { to: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc' as const },
      /payee/,
    ],
    ['no payee', { to: undefined }, /names no payee/],
    ['no USD price', { outflowMicroUsd: undefined }, /no USD price/],
    ['an approval without a USD bound', { approvalMicroUsd: undefined }, /approval without a USD bound/],
    [
      'an approval that with the outflow passes the range',
      { approvalMicroUsd: 15_000_001n },
      /moves or approves \$25\.000001/,
    ],
    [
      'more than the range',
      { outflowMicroUsd: 25_000_001n },
      /\$25\.000001, outside the grant's range of \$1 to \$25/,
    ],
    ['less than the range', { outflowMicroUsd: 999_999n }, /outside the grant's range/],
    ['after the expiry', { now: new Date(2_000_000_000_000) }, /expired/],
  ])('denies %s, naming the grant', (_, over, reason) => {
    const d = narrowByGrant(allow, facts(over as Partial<PolicyFacts>), grant)
    expect(d.effect).toBe('deny')
    expect(d.ruleIds).toEqual(['grant'])
    expect(d.limits).toEqual([])
    expect(d.reasons[0]).toMatch(reason)
  })
  it('holds for a human what the policy holds, still charging the budget', () => {
    const d = narrowByGrant({ ...allow, effect: 'require_approval' }, facts(), grant)
    expect(d.effect).toBe('require_approval')
    expect(d.limits).toHaveLength(1)
  })
})
