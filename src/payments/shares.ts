/**
 * Splits a charge between payees by their percent shares, in whole base units: each payee gets the floor of its
 * share, and what rounding leaves goes to the first payee, so the shares always add up to the charge exactly.
 *
 * @example splitShares(10_000n, [{ address: a, share: 80 }, { address: b, share: 20 }]) // 8000n, 2000n
 */
export function splitShares<A extends string>(
  amount: bigint,
  payees: readonly { address: A; share: number }[],
): { address: A; amount: bigint }[] {
  if (payees.length === 0) throw new Error('A charge needs at least one payee')
  // Shares in millionths of a percent: exact for the percentages a config writes (up to six decimals).
  const parts = payees.map((p) => BigInt(Math.round(p.share * 1_000_000)))
  const total = parts.reduce((s, x) => s + x, 0n)
  const out = payees.map((p, i) => ({ address: p.address, amount: (amount * parts[i]!) / total }))
  const rest = amount - out.reduce((s, x) => s + x.amount, 0n)
  out[0]!.amount += rest
  return out
}
