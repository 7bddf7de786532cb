import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { InvalidInputError } from '../errors/index.js'
import {
  findHiddenCharacter,
  isFreeOfHiddenCharacters,
  refineNoHiddenCharacters,
  rejectHiddenCharacters,
} from './rejectHiddenCharacters.js'

const address = '0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045'

function errorOf(fn: () => unknown): InvalidInputError {
  try {
    fn()
  } catch (error) {
    if (error instanceof InvalidInputError) return error
    throw error
  }
  throw new Error('expected an InvalidInputError')
}

describe('rejectHiddenCharacters', () => {
  it('returns clean input unchanged', () => {
    expect(rejectHiddenCharacters(address, { field: 'to' })).toBe(address)
    expect(rejectHiddenCharacters('café.eth', { field: 'to' })).toBe('café.eth')
    expect(rejectHiddenCharacters('1.5', { field: 'amount' })).toBe('1.5')
  })

  it('names the field, the code point and where it is for a zero-width space in an address', () => {
    const error = errorOf(() => rejectHiddenCharacters(`0x12\u200B${address.slice(4)}`, { field: 'to' }))
    expect(error.shortMessage).toBe(
      'Field "to" contains U+200B ZERO WIDTH SPACE at position 5 (after "0x12").',
    )
    expect(error.field).toBe('to')
    expect(error.code).toBe('INVALID_INPUT')
    expect(error.metaMessages.join(' ')).toMatch(/retype/)
  })

  it('rejects a right-to-left override in a name', () => {
    const error = errorOf(() => rejectHiddenCharacters('alice\u202Ehte.eth', { field: 'name' }))
    expect(error.shortMessage).toContain('U+202E RIGHT-TO-LEFT OVERRIDE at position 6 (after "alice")')
  })

  it('rejects full-width digits in an amount and shows the ASCII they imitate', () => {
    const error = errorOf(() => rejectHiddenCharacters('１.5', { field: 'amount' }))
    expect(error.shortMessage).toBe(
      'Field "amount" contains U+FF11 FULLWIDTH "1" at position 1 (at the start).',
    )
  })

  it('rejects controls, unusual spaces, BOM, tags and lone surrogates', () => {
    const cases: [string, string][] = [
      ['a\tb', 'U+0009 CHARACTER TABULATION'],
      ['a\nb', 'U+000A LINE FEED'],
      ['a\u0007b', 'U+0007 BELL'],
      ['a\u0090b', 'U+0090 CONTROL CHARACTER'],
      ['1\u00A0000', 'U+00A0 NO-BREAK SPACE'],
      ['\uFEFFalice.eth', 'U+FEFF ZERO WIDTH NO-BREAK SPACE'],
      ['bob.eth\u{E0041}', 'U+E0041 TAG CHARACTER'],
      ['x\uFE0F', 'U+FE0F VARIATION SELECTOR'],
      ['x\uD800', 'U+D800 LONE SURROGATE'],
      ['x\u0378', 'U+0378 UNASSIGNED CODE POINT'],
      ['x\u00ADy', 'U+00AD SOFT HYPHEN'],
    ]
    for (const [value, label] of cases) {
      expect(findHiddenCharacter(value)?.label, JSON.stringify(value)).toBe(label)
    }
  })

  it('counts the further offenders', () => {
    const error = errorOf(() => rejectHiddenCharacters('a\u200Bb\u200Cc\u200D', { field: 'label' }))
    expect(error.shortMessage).toContain('and 2 more hidden or look-alike characters')
  })

  it('works as a zod refinement whose message names the code point', () => {
    const Name = z.object({ name: z.string().superRefine(refineNoHiddenCharacters) })
    const result = Name.safeParse({ name: 'bob\u202Eeth' })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path).toEqual(['name'])
    expect(result.error?.issues[0]?.message).toBe(
      'contains U+202E RIGHT-TO-LEFT OVERRIDE at position 4 (after "bob"); remove it and retype the value as plain text',
    )
    expect(Name.safeParse({ name: 'bob.eth' }).success).toBe(true)
  })

  it('offers a boolean predicate', () => {
    expect(isFreeOfHiddenCharacters('alice.eth')).toBe(true)
    expect(isFreeOfHiddenCharacters('alice\u200B.eth')).toBe(false)
    expect(z.string().refine(isFreeOfHiddenCharacters).safeParse('ａ').success).toBe(false)
  })
})

describe('findHiddenCharacter on large input (ADVERSARIAL 52)', () => {
  it('finds a hidden character after 1 MiB of text, naming where it is', () => {
    const text = `${'0123456789abcdef'.repeat(65_536)}😀x\u200By\u202E`
    expect(findHiddenCharacter(text)).toEqual({
      label: 'U+200B ZERO WIDTH SPACE',
      kind: 'invisible',
      position: 1024 * 1024 + 3,
      after: 'abcdef😀x',
      more: 1,
    })
    expect(findHiddenCharacter(`${'a'.repeat(1024 * 1024)}`)).toBeUndefined()
  })
})
