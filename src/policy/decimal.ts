// Exact decimal arithmetic for policy bounds: a rule's display-unit number ("1.5") against a fact's base units
// (1500000n at 6 decimals), with bigints only. A float would round 1000.000001 USDC into "at the cap".

/** A plain decimal string as an integer and a power-of-ten scale: `"1.50"` → `{ int: 150n, scale: 2 }`. */
export type Decimal = { int: bigint; scale: number }

const plainDecimal = /^(\d+)(?:\.(\d+))?$/
const powers: bigint[] = []

/**
 * 10^n as a bigint, from a table (policy decimals stay well under 100).
 *
 * @example pow10(6) // 1000000n
 */
export function pow10(n: number): bigint {
  let p = powers[n]
  if (p === undefined) {
    p = 10n ** BigInt(n)
    if (n < 128) powers[n] = p
  }
  return p
}

/**
 * Parses a plain decimal string (digits, at most one `.`); trailing fraction zeros are dropped so that `"1.0"` and
 * `"1"` compile to the same value.
 *
 * @example parseDecimal('1000.50') // { int: 100005n, scale: 1 }
 * @throws {Error} not a plain decimal string (the schema rejects those first, with the field's path)
 */
export function parseDecimal(value: string): Decimal {
  const m = plainDecimal.exec(value)
  if (!m) throw new Error(`"${value.slice(0, 40)}" is not a plain decimal string`)
  const fraction = (m[2] ?? '').replace(/0+$/, '')
  return { int: BigInt(m[1]! + fraction), scale: fraction.length }
}

/**
 * Compares `raw / 10^decimals` with a decimal, exactly: negative, zero or positive like a sort comparator.
 *
 * @example compareRaw(1000000001n, 6, parseDecimal('1000')) // 1
 */
export function compareRaw(raw: bigint, decimals: number, d: Decimal): number {
  // raw / 10^decimals  vs  int / 10^scale   ⇔   raw * 10^scale  vs  int * 10^decimals
  const left = d.scale > decimals ? raw * pow10(d.scale - decimals) : raw
  const right = d.scale < decimals ? d.int * pow10(decimals - d.scale) : d.int
  return left < right ? -1 : left > right ? 1 : 0
}

/**
 * The decimal in base units of an asset with `decimals`, rounded down (a cap never grows by rounding).
 *
 * @example toBaseUnitsFloor(parseDecimal('2500'), 6) // 2500000000n
 */
export function toBaseUnitsFloor(d: Decimal, decimals: number): bigint {
  return d.scale <= decimals ? d.int * pow10(decimals - d.scale) : d.int / pow10(d.scale - decimals)
}
