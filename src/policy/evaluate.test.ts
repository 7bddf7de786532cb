import fc from 'fast-check'
import { type Address, getAddress } from 'viem'
import { describe, expect, test } from 'vitest'
import type { Simulation } from '../simulate/types.js'
import { compilePolicy } from './compilePolicy.js'
import { evaluatePolicy } from './evaluate.js'
import { type PolicyRule, parsePolicy } from './policySchema.js'
import { type PolicyFacts, type PolicyOperation, policyOperations } from './types.js'

const wallet = getAddress('0x1111111111111111111111111111111111111111')
const alice = getAddress('0x2222222222222222222222222222222222222222')
const bob = getAddress('0x3333333333333333333333333333333333333333')
const usdc = getAddress('0x4444444444444444444444444444444444444444')
const dai = getAddress('0x5555555555555555555555555555555555555555')

const simulation = (over: Partial<Simulation> = {}): Simulation => ({
  method: 'eth_simulateV1',
  blockNumber: 1n,
  reverted: false,
  gasUsed: 21_000n,
  deltas: [],
  approvals: [],
  flags: [],
  ...over,
})

/** A 100 USDC transfer to alice on devnet, Tuesday 2026-03-03 12:00 UTC, simulated, listed, priced. */
function facts(over: Partial<PolicyFacts> = {}): PolicyFacts {
  return {
    operation: 'transfer',
    chain: 'devnet',
    chainId: 31337,
    wallet,
    agent: 'local',
    to: alice,
    token: usdc,
    contract: usdc,
    functions: ['transfer(address,uint256)'],
    amount: { raw: 100_000_000n, decimals: 6 },
    value: { raw: 0n, decimals: 18 },
    addressBookListed: true,
    simulation: simulation(),
    outflows: [{ token: usdc, raw: 100_000_000n, decimals: 6 }],
    outflowMicroUsd: 100_000_000n,
    now: new Date('2026-03-03T12:00:00Z'),
    ...over,
  }
}

const policyOf = (rules: unknown[]) => compilePolicy(parsePolicy({ version: 1, rules }))
const allowIf = (match: Record<string, unknown>) => policyOf([{ id: 'r', effect: 'allow', match }])
const effectOf = (match: Record<string, unknown>, f: PolicyFacts) => evaluatePolicy(allowIf(match), f).effect

describe('each match field', () => {
  const lower = (a: Address) => a.toLowerCase() as Address
  test.each<[string, Record<string, unknown>, Partial<PolicyFacts>, 'allow' | 'deny']>([
    ['operation listed', { operation: ['transfer', 'swap'] }, {}, 'allow'],
    ['operation not listed', { operation: ['swap'] }, {}, 'deny'],
    ['chain by name', { chain: ['devnet'] }, {}, 'allow'],
    ['chain by id', { chain: [31337] }, {}, 'allow'],
    ['chain by CAIP-2', { chain: ['eip155:31337'] }, {}, 'allow'],
    ['chain not listed', { chain: ['base'] }, {}, 'deny'],
    ['wallet, case-insensitive', { wallet: [wallet.toLowerCase()] }, {}, 'allow'],
    ['wallet not listed', { wallet: [bob] }, {}, 'deny'],
    ['agent listed', { agent: ['local'] }, {}, 'allow'],
    ['agent not listed', { agent: ['did:key:other'] }, {}, 'deny'],
    ['to listed', { to: [alice] }, { to: lower(alice) }, 'allow'],
    ['to not listed', { to: [bob] }, {}, 'deny'],
    ['to absent from the facts', { to: [alice] }, { to: undefined }, 'deny'],
    ['token listed', { token: [usdc] }, {}, 'allow'],
    ['token not listed', { token: [dai] }, {}, 'deny'],
    ['native token of a transfer', { token: ['native'] }, { token: undefined }, 'allow'],
    ['native does not match a token transfer', { token: ['native'] }, {}, 'deny'],
    [
      'native does not match an undecoded contract call',
      { token: ['native'] },
      { operation: 'write_contract', token: undefined },
      'deny',
    ],
    ['contract listed', { contract: [usdc] }, {}, 'allow'],
    ['contract absent (typed data)', { contract: [usdc] }, { contract: undefined }, 'deny'],
    ['function listed', { function: ['transfer(address,uint256)'] }, {}, 'allow'],
    ['function not listed', { function: ['approve(address,uint256)'] }, {}, 'deny'],
    ['no function (plain send)', { function: ['transfer(address,uint256)'] }, { functions: [] }, 'deny'],
    ['addressBook listed', { addressBook: 'listed' }, {}, 'allow'],
    ['addressBook unlisted, listed facts', { addressBook: 'unlisted' }, {}, 'deny'],
    ['addressBook unlisted', { addressBook: 'unlisted' }, { addressBookListed: false }, 'allow'],
    [
      'addressBook with no counterparty',
      { addressBook: 'unlisted' },
      { to: undefined, addressBookListed: false },
      'deny',
    ],
    ['amount within', { amount: { lte: '100', gt: '0' } }, {}, 'allow'],
    ['amount above', { amount: { lt: '100' } }, {}, 'deny'],
    ['amount gte at', { amount: { gte: '100' } }, {}, 'allow'],
    ['amount absent', { amount: { gte: '0' } }, { amount: undefined }, 'deny'],
    ['amount with more digits than the token', { amount: { gt: '99.9999999' } }, {}, 'allow'],
    ['value within', { value: { lte: '0.1' } }, { value: { raw: 10n ** 17n, decimals: 18 } }, 'allow'],
    ['value above', { value: { lte: '0.1' } }, { value: { raw: 10n ** 17n + 1n, decimals: 18 } }, 'deny'],
    ['outflowUsd within', { simulation: { outflowUsd: { lte: '100' } } }, {}, 'allow'],
    ['outflowUsd above', { simulation: { outflowUsd: { lte: '99.999999' } } }, {}, 'deny'],
    [
      'outflowUsd unknown',
      { simulation: { outflowUsd: { lte: '1000' } } },
      { outflowMicroUsd: undefined },
      'deny',
    ],
    ['newApprovals none', { simulation: { newApprovals: 'none' } }, {}, 'allow'],
    [
      'newApprovals none, with one',
      { simulation: { newApprovals: 'none' } },
      {
        simulation: simulation({
          approvals: [{ kind: 'erc20', token: usdc, spender: bob, amount: 5n, unlimited: false }],
        }),
      },
      'deny',
    ],
    [
      'newApprovals any',
      { simulation: { newApprovals: 'any' } },
      {
        simulation: simulation({
          approvals: [{ kind: 'erc20', token: usdc, spender: bob, amount: 5n, unlimited: false }],
        }),
      },
      'allow',
    ],
    [
      'newApprovals unlimited, limited one',
      { simulation: { newApprovals: 'unlimited' } },
      {
        simulation: simulation({
          approvals: [{ kind: 'erc20', token: usdc, spender: bob, amount: 5n, unlimited: false }],
        }),
      },
      'deny',
    ],
    ['reverts false', { simulation: { reverts: false } }, {}, 'allow'],
    ['reverts true on a success', { simulation: { reverts: true } }, {}, 'deny'],
    ['simulation missing', { simulation: { reverts: false } }, { simulation: undefined }, 'deny'],
    ['hours inside', { time: { hoursUtc: [8, 18] } }, {}, 'allow'],
    ['hours: to is exclusive', { time: { hoursUtc: [8, 12] } }, {}, 'deny'],
    ['hours: from is inclusive', { time: { hoursUtc: [12, 13] } }, {}, 'allow'],
    ['day listed (Tuesday)', { time: { days: ['tue'] } }, {}, 'allow'],
    ['day not listed', { time: { days: ['sat', 'sun'] } }, {}, 'deny'],
    [
      'UTC, not local: 23:30 UTC Monday',
      { time: { days: ['mon'] } },
      { now: new Date('2026-03-02T23:30:00Z') },
      'allow',
    ],
  ])('%s', (_name, match, over, effect) => {
    expect(effectOf(match, facts(over))).toBe(effect)
  })

  test('several fields must all hold (AND)', () => {
    const m = { operation: ['transfer'], token: [usdc], addressBook: 'listed', amount: { lte: '1000' } }
    expect(effectOf(m, facts())).toBe('allow')
    expect(effectOf(m, facts({ addressBookListed: false }))).toBe('deny')
  })
})

describe('precedence', () => {
  const deny = { id: 'no-bob', effect: 'deny', match: { to: [bob] } }
  const hold = { id: 'hold-big', effect: 'require_approval', match: { amount: { gt: '50' } } }
  const allow = { id: 'all-transfers', effect: 'allow', match: { operation: ['transfer'] } }

  test('deny wins over allow and approval, naming every denying rule', () => {
    const policy = policyOf([allow, hold, deny, { ...deny, id: 'no-bob-2' }])
    const d = evaluatePolicy(policy, facts({ to: bob }))
    expect(d.effect).toBe('deny')
    expect(d.ruleIds).toEqual(['no-bob', 'no-bob-2'])
    expect(d.limits).toEqual([])
    expect(d.reasons[0]).toMatch(/^denied by rule no-bob: the recipient is 0x3333/)
  })

  test('approval wins over allow', () => {
    const d = evaluatePolicy(policyOf([allow, hold]), facts())
    expect(d).toMatchObject({ effect: 'require_approval', ruleIds: ['hold-big'], limits: [] })
    expect(d.reasons[0]).toMatch(/^held for approval by rule hold-big: the amount is 100$/)
  })

  test('allow when only allow rules match', () => {
    expect(
      evaluatePolicy(policyOf([allow, hold]), facts({ amount: { raw: 1n, decimals: 6 } })),
    ).toMatchObject({
      effect: 'allow',
      ruleIds: ['all-transfers'],
      reasons: ['allowed by rule all-transfers'],
    })
  })

  test('no matching rule → deny by default', () => {
    const policy = policyOf([{ id: 'swaps', effect: 'allow', match: { operation: ['swap'] } }])
    const d = evaluatePolicy(policy, facts())
    expect(d).toMatchObject({ effect: 'deny', ruleIds: [], limits: [], policyHash: policy.policyHash })
    expect(d.reasons).toEqual([
      'no rule allows this transfer on devnet',
      'the policy has no allow rule for a transfer',
    ])
    expect(evaluatePolicy(policyOf([]), facts()).effect).toBe('deny')
  })
})

describe('ADVERSARIAL', () => {
  test('10: exactly at the cap is allowed, cap + 1 base unit is denied', () => {
    const policy = allowIf({ token: [usdc], amount: { lte: '1000' } })
    expect(evaluatePolicy(policy, facts({ amount: { raw: 1_000_000_000n, decimals: 6 } })).effect).toBe(
      'allow',
    )
    expect(evaluatePolicy(policy, facts({ amount: { raw: 1_000_000_001n, decimals: 6 } })).effect).toBe(
      'deny',
    )
    // 18 decimals: the float 1000 + 1e-18 is 1000; the comparison is exact.
    const weth = allowIf({ amount: { lte: '1000' } })
    expect(
      evaluatePolicy(weth, facts({ amount: { raw: 1000n * 10n ** 18n + 1n, decimals: 18 } })).effect,
    ).toBe('deny')
  })

  test('22: an unknown selector on an allowed contract is denied', () => {
    const policy = allowIf({ contract: [usdc], function: ['transfer(address,uint256)'] })
    const write = (functions: string[]) => facts({ operation: 'write_contract', functions })
    expect(evaluatePolicy(policy, write(['transfer(address,uint256)'])).effect).toBe('allow')
    expect(evaluatePolicy(policy, write(['opaque'])).effect).toBe('deny')
    expect(evaluatePolicy(policy, write(['mint(address,uint256)'])).effect).toBe('deny')
  })

  test('24: a multicall wrapping an inner call that is not listed does not match', () => {
    const policy = allowIf({ function: ['multicall(bytes[])', 'transfer(address,uint256)'] })
    const write = (functions: string[]) => facts({ operation: 'write_contract', functions })
    expect(evaluatePolicy(policy, write(['multicall(bytes[])', 'transfer(address,uint256)'])).effect).toBe(
      'allow',
    )
    expect(
      evaluatePolicy(
        policy,
        write(['multicall(bytes[])', 'transfer(address,uint256)', 'approve(address,uint256)']),
      ).effect,
    ).toBe('deny')
    expect(evaluatePolicy(policy, write(['multicall(bytes[])', 'opaque'])).effect).toBe('deny')
  })

  test('13: a limit on native catches the value sent along with a token call', () => {
    const policy = policyOf([
      {
        id: 'calls',
        effect: 'allow',
        match: { operation: ['write_contract'] },
        limits: [
          { id: 'eth', metric: 'outflow', token: 'native', window: '24h', max: '1' },
          { id: 'usdc', metric: 'outflow', token: usdc, window: '24h', max: '500' },
        ],
      },
    ])
    const d = evaluatePolicy(
      policy,
      facts({
        operation: 'write_contract',
        value: { raw: 5n * 10n ** 17n, decimals: 18 },
        outflows: [
          { raw: 5n * 10n ** 17n, decimals: 18 },
          { token: usdc, raw: 100_000_000n, decimals: 6 },
        ],
      }),
    )
    expect(d.effect).toBe('allow')
    expect(d.limits.map((l) => [l.limitId, l.amount, l.max])).toEqual([
      ['eth', 5n * 10n ** 17n, 10n ** 18n],
      ['usdc', 100_000_000n, 500_000_000n],
    ])
  })
})

describe('limits', () => {
  const rules = [
    {
      id: 'usdc-to-known',
      effect: 'allow',
      match: { operation: ['transfer'], token: [usdc] },
      limits: [
        { id: 'usdc-daily', metric: 'outflow', window: '24h', max: '2500.5' },
        { id: 'per-minute', metric: 'count', window: '1m', max: '3' },
      ],
    },
    {
      id: 'usd-cap',
      effect: 'allow',
      match: { chain: ['devnet'] },
      limits: [{ id: 'weekly', metric: 'outflowUsd', window: '7d', max: '1000.25' }],
    },
  ]

  test('every limit of every matching allow rule is charged, with its key, window, cap and amount', () => {
    const d = evaluatePolicy(policyOf(rules), facts())
    const w = wallet.toLowerCase()
    expect(d.ruleIds).toEqual(['usdc-to-known', 'usd-cap'])
    expect(d.reasons).toEqual([
      'allowed by rule usdc-to-known, within its limits usdc-daily, per-minute',
      'allowed by rule usd-cap, within its limit weekly',
    ])
    expect(d.limits).toEqual([
      {
        key: `usdc-to-known/usdc-daily/31337/${w}/${usdc.toLowerCase()}`,
        ruleId: 'usdc-to-known',
        limitId: 'usdc-daily',
        metric: 'outflow',
        token: usdc,
        windowSeconds: 86_400,
        max: 2_500_500_000n,
        amount: 100_000_000n,
        decimals: 6,
      },
      {
        key: `usdc-to-known/per-minute/31337/${w}`,
        ruleId: 'usdc-to-known',
        limitId: 'per-minute',
        metric: 'count',
        windowSeconds: 60,
        max: 3n,
        amount: 1n,
        decimals: 0,
      },
      {
        key: `usd-cap/weekly/31337/${w}`,
        ruleId: 'usd-cap',
        limitId: 'weekly',
        metric: 'outflowUsd',
        windowSeconds: 604_800,
        max: 1_000_250_000n,
        amount: 100_000_000n,
        decimals: 6,
      },
    ])
  })

  test('a USD limit with no USD price: that rule does not apply (fail closed), with a reason', () => {
    const d = evaluatePolicy(policyOf([rules[1]]), facts({ outflowMicroUsd: undefined }))
    expect(d.effect).toBe('deny')
    expect(d.reasons).toEqual([
      'no rule allows this transfer on devnet',
      'rule usd-cap does not apply: it has a USD limit and the outflow has no USD price, so its budget cannot be checked',
    ])
    // Another allowing rule still allows, without the unpriced rule's charges.
    const both = evaluatePolicy(policyOf(rules), facts({ outflowMicroUsd: undefined }))
    expect(both.ruleIds).toEqual(['usdc-to-known'])
    expect(both.limits.map((l) => l.limitId)).toEqual(['usdc-daily', 'per-minute'])
  })

  test('outflows of the limit token are summed; the key is per wallet and chain, lowercase', () => {
    const d = evaluatePolicy(
      policyOf([rules[0]]),
      facts({
        wallet: getAddress('0xABCDEFabcdefABCDEFabcdefABCDEFabcdefABCD'),
        chainId: 8453,
        chain: 'base',
        outflows: [
          { token: usdc, raw: 1n, decimals: 6 },
          { token: usdc.toLowerCase() as Address, raw: 2n, decimals: 6 },
        ],
      }),
    )
    expect(d.limits[0]!.amount).toBe(3n)
    expect(d.limits[0]!.key).toBe(
      `usdc-to-known/usdc-daily/8453/0xabcdefabcdefabcdefabcdefabcdefabcdefabcd/${usdc.toLowerCase()}`,
    )
  })

  test('a token with no outflow is charged 0 at the amount’s decimals', () => {
    const d = evaluatePolicy(policyOf([rules[0]]), facts({ outflows: [] }))
    expect(d.limits[0]).toMatchObject({ amount: 0n, decimals: 6, max: 2_500_500_000n })
  })

  test('a native limit key ends in /native', () => {
    const policy = policyOf([
      {
        id: 'eth',
        effect: 'allow',
        match: { token: ['native'] },
        limits: [{ id: 'daily', metric: 'outflow', window: '24h', max: '3' }],
      },
    ])
    const d = evaluatePolicy(
      policy,
      facts({
        token: undefined,
        outflows: [{ raw: 10n ** 18n, decimals: 18 }],
        amount: { raw: 10n ** 18n, decimals: 18 },
      }),
    )
    expect(d.limits).toEqual([
      expect.objectContaining({
        key: `eth/daily/31337/${wallet.toLowerCase()}/native`,
        max: 3n * 10n ** 18n,
        amount: 10n ** 18n,
      }),
    ])
    expect(d.limits[0]!.token).toBeUndefined()
  })
})

describe('a default deny names the nearest allow rule', () => {
  const rules = [
    {
      id: 'dai-anywhere',
      effect: 'allow',
      match: { operation: ['transfer'], token: [dai], to: [bob] },
    },
    {
      id: 'small-usdc',
      effect: 'allow',
      match: { operation: ['transfer'], token: [usdc], amount: { lte: '100' } },
      limits: [{ id: 'small-daily', metric: 'outflow', window: '24h', max: '250' }],
    },
  ]

  test('over a per-transfer cap: the rule, its cap, the match field, and the limits it would charge', () => {
    const amount = { raw: 150_000_000n, decimals: 6 }
    const d = evaluatePolicy(policyOf(rules), facts({ amount, outflows: [{ token: usdc, ...amount }] }))
    expect(d.effect).toBe('deny')
    expect(d.reasons).toEqual([
      'no rule allows this transfer on devnet',
      "the nearest allow rule is small-usdc: amount 150 is above rule small-usdc's cap of 100 (match.amount.lte)",
    ])
    expect(d.nearest).toMatchObject({
      ruleId: 'small-usdc',
      limits: [{ limitId: 'small-daily', amount: 150_000_000n, max: 250_000_000n }],
    })
  })

  test('the rule with the fewest failing conditions wins; each failing one is named', () => {
    // dai-anywhere fails on token and recipient; small-usdc on the amount only.
    const d = evaluatePolicy(policyOf(rules), facts({ amount: { raw: 100_000_001n, decimals: 6 } }))
    expect(d.nearest?.ruleId).toBe('small-usdc')
    const far = evaluatePolicy(policyOf([rules[0]]), facts())
    expect(far.nearest?.failing).toEqual([
      `the recipient ${alice} is not one of the 1 address(es) rule dai-anywhere allows (match.to)`,
      `token ${usdc} is not one of rule dai-anywhere's tokens, ${dai} (match.token)`,
    ])
  })

  test('bounds, time, simulation and address-book conditions say what the rule wants', () => {
    const why = (match: Record<string, unknown>, f: Partial<PolicyFacts> = {}) =>
      evaluatePolicy(allowIf(match), facts(f)).nearest?.failing
    expect(why({ amount: { gte: '200' } })).toEqual([
      "amount 100 is below rule r's minimum of 200 (match.amount.gte)",
    ])
    expect(why({ simulation: { outflowUsd: { lt: '50' } } })).toEqual([
      "the outflow, $100, is not below rule r's cap of $50 (exclusive) (match.simulation.outflowUsd.lt)",
    ])
    expect(why({ simulation: { outflowUsd: { lte: '50' } } }, { outflowMicroUsd: undefined })).toEqual([
      'the outflow has no USD price, and rule r bounds it in USD (match.simulation.outflowUsd)',
    ])
    expect(why({ simulation: { newApprovals: 'none', reverts: false } }, { simulation: undefined })).toEqual([
      'there is no simulation of it, and rule r needs one (match.simulation)',
    ])
    expect(why({ time: { hoursUtc: [0, 6], days: ['sat', 'sun'] } })).toEqual([
      "it is 12:00 UTC on tue, outside rule r's hours 0–6 UTC on sat, sun (match.time)",
    ])
    expect(why({ addressBook: 'listed' }, { addressBookListed: false })).toEqual([
      `the recipient ${alice} is not in the operator's address book, and rule r allows only recipients in it (match.addressBook)`,
    ])
  })
})

describe('purity', () => {
  test('time comes from facts.now only', () => {
    const policy = allowIf({ time: { hoursUtc: [9, 17] } })
    expect(evaluatePolicy(policy, facts({ now: new Date('2020-01-01T09:00:00Z') })).effect).toBe('allow')
    expect(evaluatePolicy(policy, facts({ now: new Date('2020-01-01T17:00:00Z') })).effect).toBe('deny')
  })

  test('an unknown operation in the facts is denied by default', () => {
    const d = evaluatePolicy(allowIf({}), facts({ operation: 'bridge' as PolicyOperation }))
    expect(d.effect).toBe('deny')
  })
})

describe('properties', () => {
  const addresses = [wallet, alice, bob, usdc, dai]
  const arbAddress = fc.constantFrom(...addresses)
  const arbDecimal = fc.bigInt({ min: 0n, max: 10n ** 9n }).chain((int) =>
    fc.integer({ min: 0, max: 8 }).map((scale) => {
      const digits = int.toString().padStart(scale + 1, '0')
      return scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits
    }),
  )
  const sub = <T>(arb: fc.Arbitrary<T>) => fc.uniqueArray(arb, { minLength: 1, maxLength: 3 })
  const arbMatch = fc
    .record(
      {
        operation: sub(fc.constantFrom(...policyOperations)),
        chain: sub(fc.constantFrom('devnet', 'base', '31337')),
        to: sub(arbAddress),
        token: sub(fc.constantFrom<Address | 'native'>('native', usdc, dai)),
        addressBook: fc.constantFrom('listed', 'unlisted'),
        amount: fc.record({ lte: arbDecimal }),
        function: sub(
          fc.constantFrom('transfer(address,uint256)', 'approve(address,uint256)', 'multicall(bytes[])'),
        ),
        simulation: fc.record({ newApprovals: fc.constantFrom('none', 'any', 'unlimited') }),
        time: fc.record({ days: sub(fc.constantFrom('mon', 'tue', 'wed', 'sat')) }),
      },
      { requiredKeys: [] },
    )
    // At most two conditions per rule, so that random rules and facts match often enough to test something.
    .chain((m) =>
      fc
        .subarray(Object.keys(m), { maxLength: 2 })
        .map((keys) => Object.fromEntries(keys.map((k) => [k, m[k as keyof typeof m]]))),
    )
  const arbRule = (effect: fc.Arbitrary<PolicyRule['effect']>) =>
    fc.record({ effect, match: arbMatch }).map((r) => ({ ...r, id: 'x' }))
  const arbRules = fc
    .array(arbRule(fc.constantFrom('allow', 'deny', 'require_approval')), { maxLength: 8 })
    .map((rules) => rules.map((r, i) => ({ ...r, id: `r${i}` })))
  const arbFacts = fc
    .record({
      operation: fc.constantFrom(...policyOperations),
      chain: fc.constantFrom('devnet', 'base'),
      to: fc.option(arbAddress, { nil: undefined }),
      token: fc.option(fc.constantFrom(usdc, dai), { nil: undefined }),
      raw: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      decimals: fc.integer({ min: 0, max: 18 }),
      listed: fc.boolean(),
      functions: fc.array(
        fc.constantFrom(
          'transfer(address,uint256)',
          'approve(address,uint256)',
          'multicall(bytes[])',
          'opaque',
        ),
        { maxLength: 3 },
      ),
      approvals: fc.integer({ min: 0, max: 2 }),
      unlimited: fc.boolean(),
      simulated: fc.boolean(),
      day: fc.integer({ min: 1, max: 7 }),
    })
    .map((a) =>
      facts({
        operation: a.operation,
        chain: a.chain,
        chainId: a.chain === 'devnet' ? 31337 : 8453,
        to: a.to,
        token: a.token,
        amount: { raw: a.raw, decimals: a.decimals },
        addressBookListed: a.listed,
        functions: a.functions,
        simulation: a.simulated
          ? simulation({
              approvals: Array.from({ length: a.approvals }, () => ({
                kind: 'erc20' as const,
                token: usdc,
                spender: bob,
                amount: 1n,
                unlimited: a.unlimited,
              })),
            })
          : undefined,
        now: new Date(`2026-03-0${a.day}T10:00:00Z`),
      }),
    )
  const compile = (rules: unknown[]) => policyOf(rules)
  const denyMatches = (rules: { effect: string; id: string }[], f: PolicyFacts) =>
    rules.filter(
      (r) =>
        r.effect === 'deny' && evaluatePolicy(compile([{ ...r, effect: 'allow' }]), f).effect === 'allow',
    )

  test('(1) if any deny rule matches, the effect is deny', () => {
    fc.assert(
      fc.property(arbRules, arbFacts, (rules, f) => {
        const d = evaluatePolicy(compile(rules), f)
        const denying = denyMatches(rules, f)
        if (denying.length) {
          expect(d.effect).toBe('deny')
          expect(d.ruleIds).toEqual(denying.map((r) => r.id))
        }
      }),
      { numRuns: 300 },
    )
  })

  test('(2) with no allow rule the effect is never allow', () => {
    const noAllow = fc
      .array(arbRule(fc.constantFrom('deny', 'require_approval')), { maxLength: 8 })
      .map((rules) => rules.map((r, i) => ({ ...r, id: `r${i}` })))
    fc.assert(
      fc.property(noAllow, arbFacts, (rules, f) => {
        expect(evaluatePolicy(compile(rules), f).effect).not.toBe('allow')
      }),
      { numRuns: 300 },
    )
  })

  test('(3) evaluation is deterministic', () => {
    fc.assert(
      fc.property(arbRules, arbFacts, (rules, f) => {
        const policy = compile(rules)
        expect(evaluatePolicy(policy, f)).toEqual(evaluatePolicy(compile(rules), { ...f }))
      }),
      { numRuns: 200 },
    )
  })

  test('(4) adding an allow rule never turns a deny-rule match into allow', () => {
    fc.assert(
      fc.property(arbRules, arbRule(fc.constant('allow')), fc.nat(8), arbFacts, (rules, extra, at, f) => {
        const before = evaluatePolicy(compile(rules), f)
        if (before.effect !== 'deny' || before.ruleIds.length === 0) return
        const more = [...rules]
        more.splice(Math.min(at, more.length), 0, { ...extra, id: 'added' })
        const after = evaluatePolicy(compile(more), f)
        expect(after.effect).toBe('deny')
        expect(after.ruleIds).toEqual(before.ruleIds)
      }),
      { numRuns: 300 },
    )
  })
})
