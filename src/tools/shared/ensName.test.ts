import fc from 'fast-check'
import type { Address } from 'viem'
import { normalize } from 'viem/ens'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ensAddress, ensCacheTtlMs, normalizeName } from './ensName.js'

const alice = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const carol = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address

/** An ENS client whose record the test sets, counting the look-ups. */
function fakeEns(record: Address | null) {
  const client = {
    record,
    getEnsAddress: vi.fn(async (_: { name: string }) => client.record),
  }
  return client
}

describe('ensAddress (ENS resolutions cached for a short time)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('asks the chain once within the TTL, and sees a changed record after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const client = fakeEns(alice)
    expect(await ensAddress(client, 'alice.eth')).toBe(alice)
    client.record = carol // the owner moves the name
    vi.advanceTimersByTime(ensCacheTtlMs - 1)
    expect(await ensAddress(client, 'alice.eth')).toBe(alice)
    expect(client.getEnsAddress).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(1)
    expect(await ensAddress(client, 'alice.eth')).toBe(carol)
    expect(client.getEnsAddress).toHaveBeenCalledTimes(2)
  })

  it('concurrent look-ups of one name share one request; names and clients are kept apart', async () => {
    const client = fakeEns(alice)
    const other = fakeEns(carol)
    const answers = await Promise.all([
      ensAddress(client, 'alice.eth'),
      ensAddress(client, 'alice.eth'),
      ensAddress(other, 'alice.eth'),
    ])
    expect(answers).toEqual([alice, alice, carol])
    expect(client.getEnsAddress).toHaveBeenCalledTimes(1)
    await ensAddress(client, 'bob.eth')
    expect(client.getEnsAddress).toHaveBeenCalledTimes(2)
  })

  it('keeps neither a name without an address nor a failed look-up', async () => {
    const client = fakeEns(null)
    expect(await ensAddress(client, 'nobody.eth')).toBeNull()
    client.record = alice
    expect(await ensAddress(client, 'nobody.eth')).toBe(alice)
    const failing = {
      getEnsAddress: vi.fn().mockRejectedValueOnce(new Error('down')).mockResolvedValue(alice),
    }
    await expect(ensAddress(failing, 'alice.eth')).rejects.toThrow('down')
    expect(await ensAddress(failing, 'alice.eth')).toBe(alice)
    expect(failing.getEnsAddress).toHaveBeenCalledTimes(2)
  })
})

describe('normalizeName', () => {
  it('leaves a plain ASCII name as ENSIP-15 does (the fast path agrees with the full normalization)', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,8}(?:-[a-z0-9]{1,8}){0,2}$/)
    fc.assert(
      fc.property(fc.array(label, { minLength: 2, maxLength: 4 }), (labels) => {
        const name = labels.join('.')
        expect(normalizeName(name)).toBe(normalize(name))
      }),
      { numRuns: 500 },
    )
  })

  it('normalizes everything else in full, and refuses what ENSIP-15 refuses', () => {
    expect(normalizeName('Alice.ETH')).toBe('alice.eth')
    expect(normalizeName('ａlice.eth')).toBe(normalize('ａlice.eth'))
    expect(() => normalizeName('ab--cd.eth')).toThrow(/not a valid ENS name/)
    expect(() => normalizeName('a..eth')).toThrow(/not a valid ENS name/)
  })
})
