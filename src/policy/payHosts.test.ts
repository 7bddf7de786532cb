import { describe, expect, it } from 'vitest'
import { compilePolicy } from './compilePolicy.js'
import { payableHost } from './payHosts.js'
import { parsePolicy } from './policySchema.js'

const base = { name: 'base', id: 8453 }
const compiled = (rules: unknown[]) => compilePolicy(parsePolicy({ version: 1, rules }))

describe('payableHost', () => {
  it('is true only where an allow or approval rule for pay could match the chain and the host', () => {
    const policy = compiled([
      {
        id: 'vendor',
        effect: 'allow',
        match: { operation: ['pay'], chain: ['base'], host: ['api.vendor.example'] },
      },
      { id: 'data', effect: 'require_approval', match: { operation: ['pay'], host: ['*.data.example'] } },
      { id: 'no', effect: 'deny', match: { operation: ['pay'], host: ['evil.example'] } },
      { id: 'transfers', effect: 'allow', match: { operation: ['transfer'] } },
    ])
    expect(payableHost(policy, 'api.vendor.example', base)).toBe(true)
    expect(payableHost(policy, 'api.vendor.example', { name: 'ethereum', id: 1 })).toBe(false)
    expect(payableHost(policy, 'eu.data.example', { name: 'ethereum', id: 1 })).toBe(true)
    expect(payableHost(policy, 'data.example', base)).toBe(false)
    expect(payableHost(policy, 'evil.example', base)).toBe(false)
    expect(payableHost(policy, 'other.example', base)).toBe(false)
  })

  it('a pay rule without a host condition lets every host through to the policy; no policy lets none', () => {
    expect(
      payableHost(
        compiled([{ id: 'any', effect: 'allow', match: { operation: ['pay'] } }]),
        'x.example',
        base,
      ),
    ).toBe(true)
    expect(payableHost(compiled([{ id: 'all', effect: 'allow', match: {} }]), 'x.example', base)).toBe(true)
    expect(payableHost(undefined, 'x.example', base)).toBe(false)
  })
})
