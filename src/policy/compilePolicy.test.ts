import { getAddress } from 'viem'
import { describe, expect, test } from 'vitest'
import { canonicalJson, compilePolicy } from './compilePolicy.js'
import { parsePolicy } from './policySchema.js'

const usdc = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'

describe('policyHash', () => {
  const a = {
    version: 1,
    rules: [
      {
        id: 'usdc',
        effect: 'allow',
        match: { token: [usdc], amount: { lte: '10', gt: '0' } },
        limits: [{ id: 'daily', metric: 'outflow', window: '24h', max: '100' }],
      },
    ],
  }
  const reordered = {
    rules: [
      {
        limits: [{ max: '100', window: '24h', metric: 'outflow', id: 'daily' }],
        match: { amount: { gt: '0', lte: '10' }, token: [usdc] },
        effect: 'allow',
        id: 'usdc',
      },
    ],
    version: 1,
  }
  const hash = (value: unknown) => compilePolicy(parsePolicy(value)).policyHash

  test('is sha256 hex and ignores key order', () => {
    expect(hash(a)).toMatch(/^[0-9a-f]{64}$/)
    expect(hash(reordered)).toBe(hash(a))
  })

  test('changes when the policy changes', () => {
    const changed = structuredClone(a)
    changed.rules[0]!.match.amount.lte = '11'
    expect(hash(changed)).not.toBe(hash(a))
    const swapped = {
      version: 1,
      rules: [
        { id: 'x', effect: 'deny' },
        { id: 'y', effect: 'deny' },
      ],
    }
    const order = {
      version: 1,
      rules: [
        { id: 'y', effect: 'deny' },
        { id: 'x', effect: 'deny' },
      ],
    }
    expect(hash(swapped)).not.toBe(hash(order))
  })

  test('canonicalJson sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }], u: undefined })).toBe(
      '{"a":[2,{"c":4,"d":3}],"b":1}',
    )
  })
})

describe('compilePolicy', () => {
  test('precomputes windows, decimals, tokens and the per-operation rule lists', () => {
    const compiled = compilePolicy(
      parsePolicy({
        version: 1,
        rules: [
          { id: 'no', effect: 'deny', match: { operation: ['approve'] } },
          { id: 'hold', effect: 'require_approval' },
          {
            id: 'usdc',
            effect: 'allow',
            match: { operation: ['transfer'], token: [usdc] },
            limits: [{ id: 'daily', metric: 'outflow', window: '7d', max: '2500.50' }],
          },
        ],
      }),
    )
    expect(compiled.rules[2]!.limits).toEqual([
      {
        id: 'daily',
        metric: 'outflow',
        token: getAddress(usdc),
        tokenKey: usdc,
        windowSeconds: 604_800,
        max: { int: 25005n, scale: 1 },
      },
    ])
    expect(compiled.byOperation.approve.deny.map((r) => r.id)).toEqual(['no'])
    expect(compiled.byOperation.transfer.deny).toEqual([])
    expect(compiled.byOperation.transfer.approval.map((r) => r.id)).toEqual(['hold'])
    expect(compiled.byOperation.transfer.allow.map((r) => r.id)).toEqual(['usdc'])
    expect(compiled.byOperation.swap.allow).toEqual([])
  })
})
