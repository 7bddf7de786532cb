/**
 * What the agent's user allowed, as the gateway enforces it (DESIGN §7): taken from the EIP-712 grant the user's
 * wallet signed, carried in the agent's passport. It only narrows the operator's policy, never widens it.
 */
export type GrantScope = {
  /** Tools the agent may call, by name. */
  tools: readonly string[]
  /** CAIP-2 ids of the chains it may touch. */
  chains: readonly string[]
  /** Lowercase addresses a write may send to or empower; empty = any the policy allows. */
  payees: readonly string[]
  /** Spending over a rolling window, in USD display units (a decimal string). */
  budget: { currency: 'USD'; max: string; windowSeconds: number }
  /** What one write may move, in USD display units. */
  amountRange: { currency: 'USD'; min: string; max: string }
  /** Unix seconds after which nothing is allowed. */
  expiry: number
  /** The grant's EIP-712 hash: budgets are kept per agent under it. */
  hash: string
}

/**
 * Who is calling (DESIGN §1, §7). Shared by the MCP layer, the pipeline, the write path and the audit, so it lives
 * at the bottom of the import graph.
 */
export type Caller =
  /** The local operator: stdio, or loopback HTTP without credentials. */
  | { kind: 'operator'; id: string }
  /**
   * An agent holding a passport: `id` is its subject (a did:key), `developer` the developer's did, `user` the wallet
   * that signed the grant, `passport` the credential's id, `grant` what the user allowed.
   */
  | {
      kind: 'agent'
      id: string
      developer?: string | undefined
      user?: string | undefined
      codeHash?: string | undefined
      passport?: string | undefined
      grant?: GrantScope | undefined
    }
  /**
   * A standing order firing: `id` is the order, `agent` the caller who created it as an actor (`operator:local`,
   * `agent:did:key:…`). An agent's order fires with that agent's developer and its grant in force (DESIGN §10).
   */
  | {
      kind: 'order'
      id: string
      agent: string
      developer?: string | undefined
      grant?: GrantScope | undefined
    }

/** The local operator: stdio, and loopback HTTP when the gateway does not require passports. */
export const localOperator: Caller = Object.freeze({ kind: 'operator', id: 'local' })

/**
 * The caller as one string for the intent's `agent` column and the audit entry's `actor`: `operator:local`,
 * `agent:did:key:z…`, `order:<id>`.
 *
 * @example
 * actorOf(localOperator) // 'operator:local'
 */
export function actorOf(caller: Caller): string {
  return `${caller.kind}:${caller.id}`
}

/**
 * The agent a caller acts for, when it is one (an order acts for the agent that created it): the id a per-agent
 * stop, budget and kill switch are kept under.
 *
 * @example agentIdOf({ kind: 'agent', id: 'did:key:z6Mk…' }) // 'did:key:z6Mk…'
 */
export function agentIdOf(caller: Caller | undefined): string | undefined {
  if (caller?.kind === 'agent') return caller.id
  if (caller?.kind === 'order') {
    if (caller.agent.startsWith('did:')) return caller.agent
    if (caller.agent.startsWith('agent:')) return caller.agent.slice('agent:'.length)
  }
  return undefined
}

/**
 * The id the policy sees as `agent` (and grant budgets are kept under): an agent's did, the operator's id (`local`),
 * and for an order the caller that created it.
 *
 * @example actingId({ kind: 'order', id: 'ord_1', agent: 'operator:local' }) // 'local'
 */
export function actingId(caller: Caller): string {
  if (caller.kind !== 'order') return caller.id
  return agentIdOf(caller) ?? caller.agent.replace(/^operator:/, '')
}
