import type { CompiledPolicy } from './compilePolicy.js'
import type { PolicyBounds } from './policySchema.js'
import { policyOperations } from './types.js'

/** One per-write cap of an allow rule: a bound on what a single write may move, as get_limits shows it. */
export type PerWriteCap = {
  rule: string
  /** The operations the rule covers (all of them when it names none). */
  operations: string[]
  /** The `match` field the bound sits on. */
  field: 'match.amount' | 'match.value' | 'match.simulation.outflowUsd'
  /** The rule's tokens (addresses, or `native`) when it names them: the asset `match.amount` is counted in. */
  tokens?: string[] | undefined
  /** The bounds as the policy writes them, in display units (USD for outflowUsd). */
  bounds: PolicyBounds
  /** The rule's windowed limits, which apply on top (see `limits`). */
  limits: string[]
  /** One line for humans: "amount ≤ 1000 per transfer of token 0x… (rule usdc-to-known)". */
  description: string
}

const symbols = { lte: '≤', lt: '<', gte: '≥', gt: '>' } as const

/**
 * The per-write caps of a policy's allow rules that can apply on a chain: each `match.amount`, `match.value` and
 * `match.simulation.outflowUsd` bound, with the rule's operations and tokens. Pure; the windowed limits are
 * `guard.budgets`.
 *
 * @example
 * perWriteCaps(compiled, ['devnet', '31337', 'eip155:31337'])
 * // [{ rule: 'usdc-to-known', field: 'match.amount', bounds: { lte: '1000' }, description: 'amount ≤ 1000 per transfer of token 0x… (rule usdc-to-known)', … }]
 */
export function perWriteCaps(compiled: CompiledPolicy, chainKeys: readonly string[]): PerWriteCap[] {
  const keys = chainKeys.map((k) => k.toLowerCase())
  const out: PerWriteCap[] = []
  for (const rule of compiled.rules) {
    if (rule.effect !== 'allow') continue
    const m = rule.rule.match ?? {}
    if (m.chain && !m.chain.some((c) => keys.includes(String(c).toLowerCase()))) continue
    const operations = [...(m.operation ?? policyOperations)]
    const per = `per ${operations.length === policyOperations.length ? 'write' : operations.join('/')}`
    const limits = rule.limits.map((l) => l.id)
    const add = (field: PerWriteCap['field'], bounds: PolicyBounds | undefined, what: string) => {
      if (!bounds) return
      const text = (['lte', 'lt', 'gte', 'gt'] as const)
        .filter((op) => bounds[op] !== undefined)
        .map((op) => `${what} ${symbols[op]} ${field.endsWith('outflowUsd') ? '$' : ''}${bounds[op]}`)
        .join(' and ')
      const tokens = field === 'match.amount' ? m.token : undefined
      out.push({
        rule: rule.id,
        operations,
        field,
        ...(tokens ? { tokens: [...tokens] } : {}),
        bounds: { ...bounds },
        limits,
        description: `${text} ${per}${tokens ? ` of ${tokens.map((t) => (t === 'native' ? 'the native coin' : `token ${t}`)).join(' or ')}` : ''} (rule ${rule.id})`,
      })
    }
    add('match.amount', m.amount, 'amount')
    add('match.value', m.value, 'native value')
    add('match.simulation.outflowUsd', m.simulation?.outflowUsd, 'outflow worth')
  }
  return out
}
