/**
 * The strings a chain and a limit are known by in the policy and the limit ledger: one definition, used where a
 * decision charges a limit (evaluate), where get_limits reads it back (the guard's budgets) and where the
 * settlement takes apart a key to settle it on what moved.
 */

/**
 * The names a policy's `chain` condition may use for one chain: its registry name (lowercased), decimal id and
 * CAIP-2 id.
 *
 * @example chainKeys('Base', 8453) // ['base', '8453', 'eip155:8453']
 */
export function chainKeys(name: string, chainId: number, caip2?: string): [string, string, string] {
  return [name.toLowerCase(), String(chainId), caip2?.startsWith('solana:') ? caip2 : `eip155:${chainId}`]
}

/**
 * The one spelling of an address a policy compares and a limit key holds: an EVM address lowercase (its case is a
 * checksum, not identity), a Solana address as it is (base58 is case-sensitive: two spellings are two accounts).
 *
 * @example addressKey('0xAbC…') // '0xabc…'
 * @example addressKey('9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin') // unchanged
 */
export function addressKey(address: string): string {
  return address.startsWith('0x') ? address.toLowerCase() : address
}

/** What a limit key is made of. `token` only for outflow limits: `native` or a lowercase token address. */
export type LimitKeyParts = {
  ruleId: string
  limitId: string
  chainId: number
  wallet: string
  token?: string | undefined
}

/**
 * The limit ledger's key of one limit of one rule, per chain and wallet (and per token for outflow limits):
 * `<rule>/<limit>/<chain id>/<wallet>[/<token>]`, lowercase.
 *
 * @example limitKey({ ruleId: 'small', limitId: 'daily', chainId: 1, wallet, token: 'native' }) // 'small/daily/1/0xf39f…/native'
 */
export function limitKey(parts: LimitKeyParts): string {
  const base = `${parts.ruleId}/${parts.limitId}/${parts.chainId}/${addressKey(parts.wallet)}`
  return parts.token === undefined ? base : `${base}/${addressKey(parts.token)}`
}

const keyPattern =
  /^([a-z0-9._-]+)\/([a-z0-9._-]+)\/(\d+)\/(0x[0-9a-f]{40}|[1-9A-HJ-NP-Za-km-z]{32,44})(?:\/(native|0x[0-9a-f]{40}|[1-9A-HJ-NP-Za-km-z]{32,44}))?$/

/**
 * The parts of a key {@link limitKey} made, or undefined for any other string.
 *
 * @example parseLimitKey('small/daily/1/0xf39f…/native')?.token // 'native'
 */
export function parseLimitKey(key: string): LimitKeyParts | undefined {
  const m = keyPattern.exec(key)
  if (!m) return undefined
  return {
    ruleId: m[1] as string,
    limitId: m[2] as string,
    chainId: Number(m[3]),
    wallet: m[4] as string,
    ...(m[5] === undefined ? {} : { token: m[5] }),
  }
}
