import { createHash } from 'node:crypto'
import { type Address, toFunctionSelector } from 'viem'
import { compareRaw, type Decimal, parseDecimal } from './decimal.js'
import { addressKey } from './keys.js'
import {
  type Policy,
  type PolicyBounds,
  type PolicyLimit,
  type PolicyRule,
  policyWeekdays,
  windowSeconds,
} from './policySchema.js'
import { type PolicyFacts, type PolicyOperation, policyOperations } from './types.js'

/**
 * The facts in the shape the compiled checks read, computed once per evaluation: addresses lowercased, the chain's
 * three spellings, the UTC hour and weekday.
 */
export type FactsView = {
  facts: PolicyFacts
  /** Lowercased registry name, decimal chain id, `eip155:<id>`. */
  chainKeys: readonly [string, string, string]
  wallet: string
  to: string | undefined
  /** Lowercased token address, `native` for the native coin of a transfer/swap/pay, else undefined. */
  token: string | undefined
  contract: string | undefined
  hour: number
  day: number
}

/** One condition of a rule, compiled. */
export type PolicyCheck = (view: FactsView) => boolean

/** Comparison bounds with their decimals parsed. */
export type CompiledBounds = { op: 'lt' | 'lte' | 'gt' | 'gte'; value: Decimal }[]

/** A limit with its window in seconds, its cap parsed and its token resolved. */
export type CompiledLimit = {
  id: string
  metric: PolicyLimit['metric']
  /** Checksummed token; undefined for the native coin and for count / USD limits. */
  token: Address | undefined
  /** `native` or a lowercased address for outflow limits; undefined for count / USD limits. */
  tokenKey: string | undefined
  windowSeconds: number
  max: Decimal
}

/**
 * Which condition of a rule's `match` a check tests: the field path, so a denial can name the condition that failed
 * (`amount`, `simulation.outflowUsd`, …). `simulation` alone is the "a simulation exists" check the other
 * `simulation.*` checks rely on.
 */
export type CheckField =
  | 'chain'
  | 'wallet'
  | 'agent'
  | 'developer'
  | 'origin'
  | 'to'
  | 'token'
  | 'host'
  | 'contract'
  | 'addressBook'
  | 'function'
  | 'time'
  | 'programs'
  | 'tokenRisks'
  | 'amount'
  | 'value'
  | 'simulation'
  | 'simulation.reverts'
  | 'simulation.newApprovals'
  | 'simulation.outflowUsd'

/** A rule ready to evaluate: its conditions as checks, cheapest first. */
export type CompiledRule = {
  id: string
  effect: PolicyRule['effect']
  /** Position in the policy (decisions list rule ids in policy order). */
  index: number
  rule: PolicyRule
  checks: PolicyCheck[]
  /** The `match` field each check tests, index for index with `checks`. */
  fields: CheckField[]
  limits: CompiledLimit[]
}

/** The rules a given operation can meet, split by effect, in policy order. */
export type RulesByEffect = { deny: CompiledRule[]; approval: CompiledRule[]; allow: CompiledRule[] }

/** A policy with everything an evaluation needs precomputed. */
export type CompiledPolicy = {
  policy: Policy
  /** sha256 (hex) of the policy's canonical JSON: sorted keys, so key order does not change it. */
  policyHash: string
  rules: CompiledRule[]
  byOperation: Readonly<Record<PolicyOperation, RulesByEffect>>
}

/**
 * JSON with object keys sorted at every level (arrays keep their order): the same policy always hashes the same.
 *
 * @example canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/**
 * Compiles a validated policy: address sets, parsed decimals, window seconds, per-operation rule lists and the
 * policy hash. Evaluations then do set lookups and bigint comparisons only.
 *
 * @example const compiled = compilePolicy(parsePolicy(json)); evaluatePolicy(compiled, facts)
 */
export function compilePolicy(policy: Policy): CompiledPolicy {
  const policyHash = createHash('sha256').update(canonicalJson(policy)).digest('hex')
  const rules = policy.rules.map(compileRule)
  const byOperation = {} as Record<PolicyOperation, RulesByEffect>
  for (const operation of policyOperations) {
    const lists: RulesByEffect = { deny: [], approval: [], allow: [] }
    for (const rule of rules) {
      const ops = rule.rule.match?.operation
      if (ops && !ops.includes(operation)) continue
      lists[rule.effect === 'require_approval' ? 'approval' : rule.effect].push(rule)
    }
    byOperation[operation] = lists
  }
  return { policy, policyHash, rules, byOperation }
}

const lower = addressKey

/**
 * The programs a Solana write may call under an allow rule that names none: the ones the gateway's own transfers
 * use. Any other program must be named by the rule's `match.programs` (DESIGN §8, ADVERSARIAL 62).
 */
export const standardSolanaPrograms: readonly string[] = [
  'system',
  'spl-token',
  'token-2022',
  'associated-token',
  'compute-budget',
]

function compileRule(rule: PolicyRule, index: number): CompiledRule {
  const m = rule.match ?? {}
  const checks: PolicyCheck[] = []
  const fields: CheckField[] = []
  const check = (field: CheckField, test: PolicyCheck) => {
    checks.push(test)
    fields.push(field)
  }
  // Cheap set lookups first: most rules fail on one of them.
  if (m.chain) {
    const set = new Set(m.chain)
    check('chain', (v) => set.has(v.chainKeys[0]) || set.has(v.chainKeys[1]) || set.has(v.chainKeys[2]))
  }
  if (m.wallet) {
    const set = new Set(m.wallet.map(lower))
    check('wallet', (v) => set.has(v.wallet))
  }
  if (m.agent) {
    const set = new Set(m.agent)
    check('agent', (v) => set.has(v.facts.agent))
  }
  if (m.origin) {
    const set = new Set<string>(m.origin)
    check('origin', (v) => set.has(v.facts.origin ?? 'tool'))
  }
  if (m.developer) {
    const set = new Set(m.developer)
    check('developer', (v) => v.facts.developer !== undefined && set.has(v.facts.developer))
  }
  if (m.to) {
    const set = new Set(m.to.map(lower))
    check('to', (v) => v.to !== undefined && set.has(v.to))
  }
  if (m.token) {
    const set = new Set(m.token.map(lower))
    check('token', (v) => v.token !== undefined && set.has(v.token))
  }
  if (m.host) {
    const exact = new Set(m.host.filter((h) => !h.startsWith('*.')))
    const suffixes = m.host.filter((h) => h.startsWith('*.')).map((h) => h.slice(1))
    check('host', (v) => {
      const host = v.facts.host
      return host !== undefined && (exact.has(host) || suffixes.some((s) => host.endsWith(s)))
    })
  }
  if (m.contract) {
    const set = new Set(m.contract.map(lower))
    check('contract', (v) => v.contract !== undefined && set.has(v.contract))
  }
  if (m.addressBook) {
    const listed = m.addressBook === 'listed'
    // No counterparty at all matches neither value: an absent fact never satisfies a condition.
    check('addressBook', (v) => v.to !== undefined && v.facts.addressBookListed === listed)
  }
  if (m.function) {
    // Compared by 4-byte selector: what the contract actually dispatches on. A call whose agent-chosen name differs
    // but whose selector is the same is the same call, for allow and deny rules alike.
    const set = new Set<string>(m.function.map((f) => toFunctionSelector(f)))
    check('function', (v) => {
      const selectors = selectorsOf(v.facts)
      if (selectors.length === 0) return false
      for (const f of selectors) if (!set.has(f)) return false
      return true
    })
  }
  if (rule.effect === 'allow') {
    // Allow: every program the write calls must be named; without `programs` the standard ones are. A rule that
    // names neither programs nor a chain was written before Solana was served (or for EVM): it does not allow a
    // Solana write (those carry program facts), so an EVM policy never starts allowing SOL by accident.
    const named = m.programs
    const set = new Set(named ?? standardSolanaPrograms)
    const solanaToo = named !== undefined || m.chain !== undefined
    check('programs', (v) => {
      const programs = v.facts.programs
      if (programs === undefined) return named === undefined
      if (!solanaToo) return false
      for (const p of programs) if (!set.has(p)) return false
      return true
    })
  } else if (m.programs) {
    // Deny and hold: the write calls any of these programs.
    const set = new Set(m.programs)
    check('programs', (v) => (v.facts.programs ?? []).some((p) => set.has(p)))
  }
  if (m.tokenRisks) {
    const set = new Set<string>(m.tokenRisks)
    check('tokenRisks', (v) => (v.facts.tokenRisks ?? []).some((r) => set.has(r)))
  }
  if (m.time) {
    const [from, to] = m.time.hoursUtc ?? [0, 24]
    const days = m.time.days ? new Set(m.time.days.map((d) => policyWeekdays.indexOf(d))) : undefined
    check('time', (v) => v.hour >= from && v.hour < to && (days === undefined || days.has(v.day)))
  }
  if (m.amount) {
    const bounds = compileBounds(m.amount)
    check('amount', (v) => {
      const a = v.facts.amount
      return a !== undefined && inBounds(bounds, a.raw, a.decimals)
    })
  }
  if (m.value) {
    const bounds = compileBounds(m.value)
    check('value', (v) => inBounds(bounds, v.facts.value.raw, v.facts.value.decimals))
  }
  if (m.simulation) {
    const { outflowUsd, newApprovals, reverts } = m.simulation
    check('simulation', (v) => v.facts.simulation !== undefined)
    if (reverts !== undefined) check('simulation.reverts', (v) => v.facts.simulation!.reverted === reverts)
    if (newApprovals === 'none')
      check('simulation.newApprovals', (v) => v.facts.simulation!.approvals.length === 0)
    if (newApprovals === 'any')
      check('simulation.newApprovals', (v) => v.facts.simulation!.approvals.length > 0)
    if (newApprovals === 'unlimited')
      check('simulation.newApprovals', (v) => v.facts.simulation!.approvals.some((a) => a.unlimited))
    if (outflowUsd) {
      const bounds = compileBounds(outflowUsd)
      check('simulation.outflowUsd', (v) => {
        const usd = v.facts.outflowMicroUsd
        return usd !== undefined && inBounds(bounds, usd, 6)
      })
    }
  }
  const limits = (rule.limits ?? []).map((limit): CompiledLimit => {
    // Validation guarantees an outflow limit without a token has a rule pinned to exactly one token.
    const token = limit.metric === 'outflow' ? (limit.token ?? m.token?.[0]) : undefined
    return {
      id: limit.id,
      metric: limit.metric,
      token: token === undefined || token === 'native' ? undefined : token,
      tokenKey: token === undefined ? undefined : lower(token),
      windowSeconds: windowSeconds(limit.window)!,
      max: parseDecimal(limit.max),
    }
  })
  return { id: rule.id, effect: rule.effect, index, rule, checks, fields, limits }
}

function compileBounds(b: PolicyBounds): CompiledBounds {
  const out: CompiledBounds = []
  for (const op of ['lt', 'lte', 'gt', 'gte'] as const) {
    const text = b[op]
    if (text !== undefined) out.push({ op, value: parseDecimal(text) })
  }
  return out
}

/**
 * Whether `raw / 10^decimals` satisfies every bound, compared exactly.
 *
 * @example inBounds([{ op: 'lte', value: parseDecimal('1000') }], 1000000000n, 6) // true
 */
export function inBounds(bounds: CompiledBounds, raw: bigint, decimals: number): boolean {
  for (const { op, value } of bounds) {
    const c = compareRaw(raw, decimals, value)
    if (op === 'lt' ? c >= 0 : op === 'lte' ? c > 0 : op === 'gt' ? c <= 0 : c < 0) return false
  }
  return true
}

const selectorCache = new WeakMap<PolicyFacts, readonly string[]>()

/**
 * The selectors of the functions a call runs (`facts.selectors` when the pipeline decoded them, else derived from the
 * signatures); `opaque` stays `opaque` and never matches.
 */
function selectorsOf(facts: PolicyFacts): readonly string[] {
  if (facts.selectors) return facts.selectors
  let cached = selectorCache.get(facts)
  if (!cached) {
    cached = facts.functions.map((f) => (f === 'opaque' ? 'opaque' : toFunctionSelector(f)))
    selectorCache.set(facts, cached)
  }
  return cached
}
