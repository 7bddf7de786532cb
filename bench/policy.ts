// Policy evaluation speed: evaluatePolicy with 100 rules, the match found late. Goal: ≤ 50 µs median.
// Pure CPU, no devnet: each scenario is timed call by call with process.hrtime.bigint() after a warm-up.
import { type Address, getAddress } from 'viem'
import { compilePolicy } from '../src/policy/compilePolicy.js'
import { evaluatePolicy } from '../src/policy/evaluate.js'
import { parsePolicy } from '../src/policy/policySchema.js'
import type { PolicyFacts } from '../src/policy/types.js'
import { summarize } from './stats.js'

const address = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`)
const wallet = address(0xa11ce)
const usdc = address(0x05dc)
const tokens = Array.from({ length: 10 }, (_, i) => address(0x7000 + i))

/**
 * 100 rules as an operator with many counterparties would write them: 5 deny rules, 5 holds, then 90 allow rules
 * per recipient and token (address lists, amount caps, simulation and time conditions, daily limits). The benched
 * transfer matches only rule 98, so every rule before it is checked.
 */
function hundredRules(): unknown[] {
  const rules: unknown[] = [
    { id: 'deny-unlimited', effect: 'deny', match: { simulation: { newApprovals: 'unlimited' } } },
    { id: 'deny-reverting', effect: 'deny', match: { simulation: { reverts: true } } },
    {
      id: 'deny-blocked',
      effect: 'deny',
      match: { to: Array.from({ length: 50 }, (_, i) => address(0xbad00 + i)) },
    },
    { id: 'deny-night', effect: 'deny', match: { operation: ['swap'], time: { hoursUtc: [0, 6] } } },
    { id: 'deny-big-value', effect: 'deny', match: { value: { gt: '100' } } },
    {
      id: 'hold-unlisted',
      effect: 'require_approval',
      match: { operation: ['transfer'], addressBook: 'unlisted' },
    },
    {
      id: 'hold-big-usd',
      effect: 'require_approval',
      match: { simulation: { outflowUsd: { gt: '10000' } } },
    },
    { id: 'hold-weekend', effect: 'require_approval', match: { time: { days: ['sat', 'sun'] } } },
    { id: 'hold-agent', effect: 'require_approval', match: { agent: ['did:key:untrusted'] } },
    {
      id: 'hold-contracts',
      effect: 'require_approval',
      match: { operation: ['write_contract'], value: { gt: '1' } },
    },
  ]
  for (let i = 0; rules.length < 100; i++) {
    const token = i === 88 ? usdc : tokens[i % tokens.length]!
    rules.push({
      id: `pay-${i}`,
      effect: 'allow',
      match: {
        operation: ['transfer', 'pay'],
        chain: ['devnet', 'base'],
        to: [address(0x10000 + i), address(0x20000 + i)],
        token: [token],
        addressBook: 'listed',
        amount: { lte: `${1000 + i}.5`, gt: '0' },
        simulation: { newApprovals: 'none', reverts: false, outflowUsd: { lte: '5000' } },
        time: { hoursUtc: [0, 24], days: ['mon', 'tue', 'wed', 'thu', 'fri'] },
      },
      limits: [
        { id: 'daily', metric: 'outflow', window: '24h', max: '2500' },
        { id: 'usd', metric: 'outflowUsd', window: '7d', max: '20000' },
        { id: 'count', metric: 'count', window: '1h', max: '20' },
      ],
    })
  }
  return rules
}

function transferFacts(to: Address): PolicyFacts {
  return {
    operation: 'transfer',
    chain: 'devnet',
    chainId: 31337,
    wallet,
    agent: 'local',
    to,
    token: usdc,
    contract: usdc,
    functions: ['transfer(address,uint256)'],
    amount: { raw: 900_000_000n, decimals: 6 },
    value: { raw: 0n, decimals: 18 },
    addressBookListed: true,
    simulation: {
      method: 'eth_simulateV1',
      blockNumber: 1n,
      reverted: false,
      gasUsed: 50_000n,
      deltas: [{ kind: 'erc20', token: usdc, raw: -900_000_000n }],
      approvals: [],
      flags: [],
    },
    outflows: [{ token: usdc, raw: 900_000_000n, decimals: 6 }],
    outflowMicroUsd: 900_000_000n,
    now: new Date('2026-03-03T12:00:00Z'),
  }
}

function timeOne(run: () => unknown, iterations: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) run()
  const samples = new Array<number>(iterations)
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint()
    run()
    samples[i] = Number(process.hrtime.bigint() - t) / 1000
  }
  return samples
}

/**
 * Times `evaluatePolicy` on a 100-rule policy: a transfer allowed by rule 98 (three limits charged) and a transfer
 * no rule allows (deny by default after every rule), ~20,000 calls each after a warm-up.
 *
 * @example for (const r of await benchPolicy()) console.log(r.name, r.median_us)
 */
export async function benchPolicy(
  iterations = 20_000,
): Promise<{ name: string; median_us: number; p95_us: number; rules: number }[]> {
  const policy = compilePolicy(parsePolicy({ version: 1, rules: hundredRules() }))
  const rules = policy.rules.length
  const scenarios: [string, PolicyFacts, string][] = [
    ['policy: allow found late (100 rules)', transferFacts(address(0x10000 + 88)), 'allow'],
    ['policy: deny by default (100 rules)', transferFacts(address(0x30000)), 'deny'],
  ]
  const out: { name: string; median_us: number; p95_us: number; rules: number }[] = []
  for (const [name, facts, expected] of scenarios) {
    const decision = evaluatePolicy(policy, facts)
    if (decision.effect !== expected) throw new Error(`${name}: expected ${expected}, got ${decision.effect}`)
    const { median, p95 } = summarize(timeOne(() => evaluatePolicy(policy, facts), iterations, 2_000))
    out.push({ name, median_us: round(median), p95_us: round(p95), rules })
  }
  return out
}

const round = (us: number) => Math.round(us * 100) / 100
