import { type Selectable, sql } from 'kysely'
import { type Address, getAddress } from 'viem'
import type { AuditLog } from '../audit/auditLog.js'
import { InvalidAddressError, InvalidInputError } from '../errors/index.js'
import { addressProblem } from '../schemas/address.js'
import { solanaAddressProblem } from '../schemas/solanaAddress.js'
import type { AddressBookTable } from '../store/database.js'
import type { Store } from '../store/openStore.js'
import { rejectHiddenCharacters } from '../untrusted/rejectHiddenCharacters.js'
import { sanitizeText } from '../untrusted/sanitizeText.js'

/** An operator-added address. `address` is EIP-55. */
export type AddressBookEntry = {
  address: Address
  label: string
  note: string | null
  addedBy: string
  createdAt: Date
}

/** Input of {@link AddressBook.add}. */
export type AddAddressParameters = {
  /** EIP-55 checksummed or all lowercase. */
  address: string
  /** 1–64 characters of plain text. */
  label: string
  /** Up to 500 characters; line breaks kept. */
  note?: string | undefined
  /** Who added it (operator name). */
  addedBy: string
}

/**
 * The operator's address book (CLI and admin API only; never written from tool output). Policy rules can require
 * a listed recipient, and a recipient that merely looks like a listed one is refused (ADVERSARIAL 5).
 */
export type AddressBook = {
  /**
   * Adds an address, or updates the label and note of one already listed (`addedBy` and `createdAt` stay).
   * @throws {InvalidAddressError} malformed, broken checksum, all-uppercase, or hidden characters
   * @throws {InvalidInputError} label empty, longer than 64 characters or hiding characters; note too long
   */
  add(entry: AddAddressParameters): Promise<AddressBookEntry>
  /**
   * Removes an address; `false` when it was not listed. `removedBy` is recorded in the audit log.
   * @throws {InvalidAddressError} malformed address
   */
  remove(address: string, removedBy?: string): Promise<boolean>
  /** Every entry, oldest first. */
  list(): Promise<AddressBookEntry[]>
  /**
   * The entry for exactly this address (any accepted case).
   * @throws {InvalidAddressError} malformed address
   */
  lookup(address: Address): Promise<AddressBookEntry | undefined>
  /**
   * An entry that looks like `address` (same first 4 and last 4 hex digits, case-insensitive) but is a
   * different address: the mark of an address-poisoning attack.
   * @throws {InvalidAddressError} malformed address
   */
  findLookalike(address: Address): Promise<AddressBookEntry | undefined>
}

const hex40 = /^0x[0-9a-fA-F]{40}$/
const base58 = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/

/**
 * Whether `a` and `b` are different addresses with the same first 4 and last 4 hex digits after `0x`
 * (case-insensitive): how poisoned addresses are made to pass a glance (ADVERSARIAL 5). `false` for anything
 * that is not a 0x-prefixed 40-hex-digit string.
 *
 * @example
 * isLookalike('0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045', '0xd8da000000000000000000000000000000006045') // true
 * isLookalike('0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045', '0xd8da6bf26964af9d7eed9e03e53415d37aa96045') // false: same address
 */
export function isLookalike(a: string, b: string): boolean {
  // Solana (base58, case-sensitive): the same first and last 4 characters, another address.
  // Compared without case: a near miss in case passes a glance as well.
  if (base58.test(a) && base58.test(b)) {
    const [x, y] = [a.toLowerCase(), b.toLowerCase()]
    return a !== b && x.slice(0, 4) === y.slice(0, 4) && x.slice(-4) === y.slice(-4)
  }
  if (!hex40.test(a) || !hex40.test(b)) return false
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x !== y && x.slice(2, 6) === y.slice(2, 6) && x.slice(-4) === y.slice(-4)
}

/**
 * The address book over a store; changes are audited (`address_book.added` / `address_book.removed`) in the
 * same transaction when `audit` is given.
 *
 * @example
 * const book = createAddressBook(store, { audit })
 * await book.add({ address: '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045', label: 'vitalik', addedBy: 'operator' })
 * await book.findLookalike('0xd8da000000000000000000000000000000006045') // the vitalik entry
 */
export function createAddressBook(store: Store, options: { audit?: AuditLog | undefined } = {}): AddressBook {
  const { db } = store
  const { audit } = options

  return {
    async add(entry) {
      const address = normalize(entry.address)
      const label = cleanLabel(entry.label)
      const note = cleanNote(entry.note)
      const addedBy = plain(entry.addedBy, 'addedBy', 200)
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('address_book')
          .values({ address, label, note, added_by: addedBy })
          .onConflict((oc) => oc.column('address').doUpdateSet({ label, note }))
          .returningAll()
          // xmax is 0 for a freshly inserted row, non-zero for one the conflict clause updated.
          .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
          .executeTakeFirstOrThrow()
        if (audit)
          await audit.appendWithin(trx, {
            kind: 'address_book.added',
            actor: addedBy,
            data: { address, label, note, updated: !row.inserted },
          })
        return toEntry(row)
      })
    },

    async remove(input, removedBy) {
      const address = normalize(input)
      const actor = removedBy === undefined ? undefined : plain(removedBy, 'removedBy', 200)
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .deleteFrom('address_book')
          .where('address', '=', address)
          .returningAll()
          .executeTakeFirst()
        if (!row) return false
        if (audit)
          await audit.appendWithin(trx, {
            kind: 'address_book.removed',
            actor,
            data: { address, label: row.label },
          })
        return true
      })
    },

    async list() {
      const rows = await db
        .selectFrom('address_book')
        .selectAll()
        .orderBy('created_at', 'asc')
        .orderBy('address', 'asc')
        .execute()
      return rows.map(toEntry)
    },

    async lookup(input) {
      const address = normalize(input)
      const row = await db
        .selectFrom('address_book')
        .selectAll()
        .where('address', '=', address)
        .executeTakeFirst()
      return row ? toEntry(row) : undefined
    },

    async findLookalike(input) {
      if (!input.startsWith('0x')) {
        const solana = normalize(input)
        const row = await db
          .selectFrom('address_book')
          .selectAll()
          .where(sql<string>`lower(left(address, 4))`, '=', solana.slice(0, 4).toLowerCase())
          .where(sql<string>`lower(right(address, 4))`, '=', solana.slice(-4).toLowerCase())
          .where('address', '<>', solana)
          .where('address', 'not like', '0x%')
          .orderBy('created_at', 'asc')
          .executeTakeFirst()
        return row ? toEntry(row) : undefined
      }
      const address = normalize(input).toLowerCase()
      const row = await db
        .selectFrom('address_book')
        .selectAll()
        .where(sql<string>`lower(substr(address, 3, 4))`, '=', address.slice(2, 6))
        .where(sql<string>`lower(right(address, 4))`, '=', address.slice(-4))
        .where(sql<string>`lower(address)`, '<>', address)
        .orderBy('created_at', 'asc')
        .executeTakeFirst()
      return row ? toEntry(row) : undefined
    },
  }
}

/**
 * An accepted address in the one form the book keeps: an EVM address (EIP-55 or all lowercase) in its EIP-55 form,
 * a Solana address (base58, 32 bytes) as written (base58 is case-sensitive).
 */
function normalize(value: string): Address {
  if (typeof value === 'string' && !value.startsWith('0x') && !/\.[a-z]{2,}$/i.test(value)) {
    const problem = solanaAddressProblem(value)
    if (problem) throw new InvalidAddressError({ reason: problem, field: 'address', family: 'solana' })
    return value as Address
  }
  const problem = typeof value === 'string' ? addressProblem(value) : 'it is not a string'
  if (problem) throw new InvalidAddressError({ reason: problem, field: 'address' })
  return getAddress(value)
}

function cleanLabel(value: string): string {
  if (typeof value !== 'string') throw new InvalidInputError('The label must be text.', { field: 'label' })
  rejectHiddenCharacters(value, { field: 'label' })
  const { text, truncated } = sanitizeText(value, { maxLength: 64 })
  if (!text)
    throw new InvalidInputError('The label is empty.', {
      field: 'label',
      metaMessages: ['Give 1–64 characters that say whose address this is.'],
    })
  if (truncated)
    throw new InvalidInputError('The label is longer than 64 characters.', {
      field: 'label',
      metaMessages: ['Shorten it; put longer text in the note.'],
    })
  return text
}

function cleanNote(value: string | undefined): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw new InvalidInputError('The note must be text.', { field: 'note' })
  const { text, truncated } = sanitizeText(value, { maxLength: 500, allowNewlines: true })
  if (truncated) throw new InvalidInputError('The note is longer than 500 characters.', { field: 'note' })
  return text || null
}

function plain(value: string, field: string, maxLength: number): string {
  const text = typeof value === 'string' ? sanitizeText(value, { maxLength }).text : ''
  if (!text) throw new InvalidInputError(`${field} must be non-empty text.`, { field })
  return text
}

function toEntry(row: Selectable<AddressBookTable>): AddressBookEntry {
  return {
    address: row.address as Address,
    label: row.label,
    note: row.note,
    addedBy: row.added_by,
    createdAt: row.created_at,
  }
}
