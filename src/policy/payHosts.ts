import type { CompiledPolicy } from './compilePolicy.js'
import { chainKeys } from './keys.js'

/**
 * Whether any rule could let the gateway pay `host` on a chain (DESIGN §9): an `allow` or `require_approval` rule
 * for `pay` whose chain and host conditions hold (its other conditions are decided later, on the payment itself).
 * `fetch_with_payment` asks this before its first request, so an agent cannot use the gateway to reach hosts the
 * operator never meant to buy from. Pure; no policy means no.
 *
 * @example payableHost(policy, 'api.vendor.example', { name: 'base', id: 8453 }) // true when a rule names it
 */
export function payableHost(
  policy: CompiledPolicy | undefined,
  host: string,
  chain: { name: string; id: number },
): boolean {
  if (!policy) return false
  const keys = chainKeys(chain.name, chain.id)
  const rules = [...policy.byOperation.pay.allow, ...policy.byOperation.pay.approval]
  return rules.some((rule) => {
    const m = rule.rule.match ?? {}
    // As the rule's own chain condition compares (src/policy/compilePolicy.ts).
    if (m.chain && !keys.some((k) => (m.chain as readonly unknown[]).includes(k))) return false
    return !m.host || m.host.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === h))
  })
}
