import { describe, expect, it } from 'vitest'
import { addressProblem, EvmAddress } from './address.js'

const vitalik = '0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e'

describe('EvmAddress (ADVERSARIAL 1–3, 6, 7)', () => {
  it('accepts a checksummed address unchanged', () => {
    // viem's own checksum of the lowercase form is the reference
    expect(EvmAddress.parse(vitalik.toLowerCase())).toMatch(/^0x[0-9a-fA-F]{40}$/)
    const normalized = EvmAddress.parse(vitalik.toLowerCase())
    expect(EvmAddress.parse(normalized)).toBe(normalized)
  })

  it('accepts all-lowercase and normalizes it to EIP-55', () => {
    const out = EvmAddress.parse('0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e')
    expect(out).not.toBe(out.toLowerCase())
    expect(out.toLowerCase()).toBe('0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e')
  })

  it.each([
    [`0x${'a'.repeat(39)}`, /39 hex digits/],
    [`0x${'a'.repeat(41)}`, /41 hex digits/],
    ['d8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e', /start with 0x/],
    ['0X' + 'd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e', /start with 0x/],
    ['0xg8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e', /not hex digits/],
    ['', /start with 0x/],
  ])('rejects malformed %j', (value, reason) => {
    expect(addressProblem(value)).toMatch(reason)
    expect(EvmAddress.safeParse(value).success).toBe(false)
  })

  it('rejects a mixed-case address with a broken checksum instead of fixing it', () => {
    const good = EvmAddress.parse('0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e')
    // flip the case of one letter
    const i = good.search(/[a-f]/)
    const broken = good.slice(0, i) + good[i]!.toUpperCase() + good.slice(i + 1)
    expect(addressProblem(broken)).toMatch(/checksum is wrong/)
    const result = EvmAddress.safeParse(broken)
    expect(result.success).toBe(false)
    expect((result.error?.issues[0] as { params?: unknown } | undefined)?.params).toEqual({
      airlock: 'INVALID_ADDRESS',
    })
  })

  it('rejects all-uppercase hex', () => {
    expect(addressProblem('0xD8DA6BF26964AF9D7EED9E10E89A5ED2D02C1F0E')).toMatch(/all-uppercase/)
  })

  it.each([
    ['zero-width space', '0xd8da6bf26964af9d7eed9e10e89a5ed2\u200bd02c1f0e', /U\+200B/],
    ['right-to-left override', '\u202e0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0e', /U\+202E/],
    ['full-width digit', '0xd8da6bf26964af9d7eed9e10e89a5ed2d02c1f0\uff45', /U\+FF45/],
  ])('rejects an address hiding a %s, naming the code point', (_label, value, cp) => {
    expect(addressProblem(value)).toMatch(cp)
  })

  it('rejects an ENS name where only an address is allowed, pointing at resolve_ens', () => {
    expect(addressProblem('alice.eth')).toMatch(/resolve_ens/)
  })
})
