/**
 * Who is calling (DESIGN §1, §7). Shared by the MCP layer, the pipeline, the write path and the audit, so it lives
 * at the bottom of the import graph. Only `operator` is produced until passports land; `agent` and `order` are the
 * shapes those issues fill in.
 */
export type Caller =
  /** The local operator: stdio, or loopback HTTP without credentials. */
  | { kind: 'operator'; id: string }
  /** An agent holding a passport: `id` is its subject (a did:key). */
  | { kind: 'agent'; id: string; developer?: string | undefined }
  /** A standing order firing: `id` is the order, `agent` the caller who created it. */
  | { kind: 'order'; id: string; agent: string }

/** The local operator, the caller of every request until passports land. */
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
