import { describe, expect, it } from 'vitest'
import { createAuditLog } from '../audit/auditLog.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createAddressBook, isLookalike } from './addressBook.js'

const vitalik = '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045'
// Same first 4 (d8da) and last 4 (6045) hex digits, different middle: a poisoned address.
const poisoned = `0xd8da${'0'.repeat(32)}6045`
const other = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

describe('isLookalike', () => {
  it('flags the same first and last 4 hex digits with a different middle, case-insensitively', () => {
    expect(isLookalike(vitalik, poisoned)).toBe(true)
    expect(isLookalike(poisoned.toUpperCase().replace('0X', '0x'), vitalik.toLowerCase())).toBe(true)
  })

  it('does not flag the address itself (in any case), a different address, or non-addresses', () => {
    expect(isLookalike(vitalik, vitalik)).toBe(false)
    expect(isLookalike(vitalik, vitalik.toLowerCase())).toBe(false)
    expect(isLookalike(vitalik, other)).toBe(false)
    expect(isLookalike('0xd8da6045', vitalik)).toBe(false)
  })
})

describe.each(testStoreDrivers)('address book on %s', (driver) => {
  const t = useTestStore(driver)

  it('adds (stored EIP-55), lists, looks up in any accepted case, re-adds as an update, removes; audited', async () => {
    const audit = createAuditLog(t.store)
    const book = createAddressBook(t.store, { audit })
    const added = await book.add({ address: vitalik.toLowerCase(), label: ' Vitalik ', addedBy: 'operator' })
    expect(added).toMatchObject({ address: vitalik, label: 'Vitalik', note: null, addedBy: 'operator' })
    expect(added.createdAt).toBeInstanceOf(Date)
    expect((await book.lookup(vitalik.toLowerCase() as `0x${string}`))?.label).toBe('Vitalik')

    const updated = await book.add({
      address: vitalik,
      label: 'V',
      note: 'line 1\nline 2',
      addedBy: 'someone',
    })
    expect(updated).toMatchObject({
      address: vitalik,
      label: 'V',
      note: 'line 1\nline 2',
      addedBy: 'operator',
    })
    expect((await book.list()).map((e) => e.address)).toEqual([vitalik])

    expect(await book.remove(vitalik, 'operator')).toBe(true)
    expect(await book.remove(vitalik)).toBe(false)
    expect(await book.lookup(vitalik)).toBeUndefined()
    expect(await book.list()).toEqual([])

    const entries = await audit.read({ newestFirst: true, limit: 3 })
    expect(entries.map((e) => [e.kind, e.data.updated])).toEqual([
      ['address_book.removed', undefined],
      ['address_book.added', true],
      ['address_book.added', false],
    ])
    expect(entries[0]).toMatchObject({ actor: 'operator', data: { address: vitalik, label: 'V' } })
  })

  it('rejects a broken checksum, all-uppercase hex, a short address and hidden characters', async () => {
    const book = createAddressBook(t.store)
    const broken = vitalik.replace('dA6B', 'Da6B')
    for (const address of [
      broken,
      `0x${vitalik.slice(2).toUpperCase()}`,
      vitalik.slice(0, 41),
      `${vitalik}\u200b`,
    ])
      await expect(book.add({ address, label: 'x', addedBy: 'operator' })).rejects.toMatchObject({
        code: 'INVALID_ADDRESS',
        field: 'address',
      })
    await expect(book.lookup(broken as `0x${string}`)).rejects.toMatchObject({ code: 'INVALID_ADDRESS' })
    expect(await book.list()).toEqual([])
  })

  it('rejects an empty label, one over 64 characters, and one hiding characters', async () => {
    const book = createAddressBook(t.store)
    for (const label of ['', '   ', 'a'.repeat(65), 'pay\u202Eme', 'tab\there'])
      await expect(book.add({ address: other, label, addedBy: 'operator' })).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        field: 'label',
      })
    await expect(
      book.add({ address: other, label: 'a'.repeat(64), addedBy: 'operator' }),
    ).resolves.toMatchObject({
      label: 'a'.repeat(64),
    })
    await book.remove(other)
  })

  it('finds a lookalike of a listed address (ADVERSARIAL 5), but never the address itself', async () => {
    const book = createAddressBook(t.store)
    await book.add({ address: vitalik, label: 'vitalik', addedBy: 'operator' })
    await book.add({ address: other, label: 'other', addedBy: 'operator' })
    expect((await book.findLookalike(poisoned as `0x${string}`))?.address).toBe(vitalik)
    expect(await book.findLookalike(vitalik)).toBeUndefined()
    expect(await book.findLookalike(vitalik.toLowerCase() as `0x${string}`)).toBeUndefined()
    expect(await book.findLookalike('0x0000000000000000000000000000000000000001')).toBeUndefined()
    await book.remove(vitalik)
    await book.remove(other)
  })
})
