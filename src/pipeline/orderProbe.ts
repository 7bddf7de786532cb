import type { Address } from 'viem'
import type { ChainContext } from '../chains/chains.js'
import { actingId, type Caller } from '../context/caller.js'
import { BaseError } from '../errors/index.js'
import type { OrderSpec, OrderToken } from '../orders/spec.js'
import { evaluatePolicy } from '../policy/evaluate.js'
import type { PolicyOperation } from '../policy/types.js'
import type { Simulation } from '../simulate/types.js'
import { buildFacts, factsChain } from './facts.js'
import type { GuardrailParts } from './guard.js'

const nativeSentinel = '0x0000000000000000000000000000000000000000'

/**
 * Asks the policy, before an order exists, whether it would deny what the order's fires do (DESIGN §10): each
 * action as the write it becomes — a transfer to its recipient; a swap (and every pair of a rebalance) through the
 * chain's router — with its real amount, or the smallest trade when the amount is only known at the fire. A denial
 * refuses the order with the policy's reasons; a hold is fine (each fire then waits for a human), and every fire is
 * checked again in full.
 *
 * @throws {BaseError} POLICY_DENIED: the policy would deny an action of this order
 */
export async function probeOrderActions(
  spec: OrderSpec,
  caller: Caller,
  chain: ChainContext,
  wallet: Address,
  router: Address | undefined,
  parts: Pick<GuardrailParts, 'policy' | 'addressBook' | 'prices'>,
): Promise<void> {
  const policy = parts.policy()
  if (!policy) return // the order itself is then denied by the guard, with the reason
  const book = new Set((await parts.addressBook.list()).map((e) => e.address.toLowerCase()))
  const prices = await parts.prices(chain)
  const probes: {
    operation: PolicyOperation
    what: string
    details: Record<string, unknown>
    token: OrderToken
    raw: bigint
  }[] = []
  const a = spec.action
  if (a.kind === 'transfer') {
    const native = a.token.address === nativeSentinel
    probes.push({
      operation: 'transfer',
      what: `its transfer of ${a.token.symbol} to ${a.to}`,
      details: { to: a.to, ...(native ? {} : { token: a.token.address }), amount: { raw: a.amount } },
      token: a.token,
      raw: BigInt(a.amount),
    })
  } else {
    const pairs =
      a.kind === 'swap'
        ? [{ tokenIn: a.tokenIn, raw: BigInt(a.amountIn) }]
        : a.weights.map((w) => ({ tokenIn: w.token, raw: 1n }))
    for (const p of pairs)
      probes.push({
        operation: 'swap',
        what: `its swaps selling ${p.tokenIn.symbol}`,
        details: { router, tokenIn: p.tokenIn.address, amountIn: { raw: p.raw.toString() } },
        token: p.tokenIn,
        raw: p.raw,
      })
  }
  for (const probe of probes) {
    const native = probe.token.address === nativeSentinel
    const simulation: Simulation = {
      method: 'typed-data',
      blockNumber: 0n,
      reverted: false,
      gasUsed: 0n,
      deltas: [
        native
          ? { kind: 'native', raw: -probe.raw }
          : { kind: 'erc20', token: probe.token.address, raw: -probe.raw },
      ],
      approvals: [],
      flags: ['standing-order-probe'],
    }
    const facts = buildFacts({
      operation: probe.operation,
      chain: factsChain(chain),
      wallet,
      agent: actingId(caller),
      origin: 'order',
      developer: caller.kind === 'agent' ? caller.developer : undefined,
      ...(probe.operation === 'transfer' && native
        ? { call: { to: probe.details.to as Address, data: '0x', value: probe.raw } }
        : {}),
      details: probe.details,
      simulation,
      addressBookListed: (x) => book.has(x.toLowerCase()),
      decimals: (t) =>
        t.toLowerCase() === probe.token.address.toLowerCase() ? probe.token.decimals : undefined,
      priceMicroUsd: prices,
      now: new Date(),
    })
    const decision = evaluatePolicy(policy, facts)
    if (decision.effect === 'deny')
      throw new BaseError(
        'POLICY_DENIED',
        `Denied: the policy would deny ${probe.what} (${decision.reasons.join('; ')}), so this order could never fire.`,
        {
          field: 'action',
          metaMessages: [
            decision.ruleIds.length ? `Rule(s): ${decision.ruleIds.join(', ')}.` : 'No rule allows it.',
            'Nothing was created. Change the action, or ask the operator; get_limits shows your budgets.',
          ],
        },
      )
  }
}
