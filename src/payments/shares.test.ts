import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { splitShares } from './shares.js'

describe('splitShares', () => {
  test('splits by percent, the rounding remainder to the first payee', () => {
    expect(
      splitShares(10_000n, [
        { address: 'a', share: 80 },
        { address: 'b', share: 20 },
      ]),
    ).toEqual([
      { address: 'a', amount: 8000n },
      { address: 'b', amount: 2000n },
    ])
    expect(
      splitShares(100n, [
        { address: 'a', share: 33.34 },
        { address: 'b', share: 33.33 },
        { address: 'c', share: 33.33 },
      ]),
    ).toEqual([
      { address: 'a', amount: 34n },
      { address: 'b', amount: 33n },
      { address: 'c', amount: 33n },
    ])
  })

  test('shares always add up to the charge, none negative', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }),
        (amount, weights) => {
          const sum = weights.reduce((s, w) => s + w, 0)
          const payees = weights.map((w, i) => ({ address: `p${i}`, share: (w * 100) / sum }))
          const out = splitShares(amount, payees)
          expect(out.reduce((s, x) => s + x.amount, 0n)).toBe(amount)
          for (const x of out) expect(x.amount >= 0n).toBe(true)
        },
      ),
    )
  })
})
