import type { z } from 'zod'
import { InvalidInputError } from '../errors/index.js'
import { classifyCodePoint, describeCodePoint, type HiddenCharacterKind } from './characters.js'

/** The first hidden or look-alike character of an input string, located for the user. */
export type HiddenCharacter = {
  /** `U+200B ZERO WIDTH SPACE` */
  label: string
  kind: HiddenCharacterKind
  /** 1-based position in code points, as a user counts characters. */
  position: number
  /** Up to 8 characters before it, so the user can find it (empty at the start). */
  after: string
  /** How many more such characters follow. */
  more: number
}

/**
 * Finds the first character an input string must not contain: control characters (tab and line breaks included),
 * bidi controls (U+202E RIGHT-TO-LEFT OVERRIDE…), zero-width and other invisible characters, variation selectors,
 * tag characters, spaces other than U+0020, full-width forms (U+FF01–FF5E), lone surrogates, unassigned code points.
 *
 * @example
 * findHiddenCharacter('0x12\u200B34')?.label // 'U+200B ZERO WIDTH SPACE'
 * findHiddenCharacter('alice.eth') // undefined
 */
export function findHiddenCharacter(value: string): HiddenCharacter | undefined {
  let found: HiddenCharacter | undefined
  let position = 0
  let offset = 0
  for (const char of value) {
    position++
    offset += char.length
    // Printable ASCII is never hidden: the common case skips the classification.
    if (char.length === 1 && char >= ' ' && char <= '~') continue
    const kind = classifyCodePoint(char)
    if (kind === undefined) continue
    if (found) found.more++
    else
      found = {
        label: describeCodePoint(char, kind),
        kind,
        position,
        after: lastCodePoints(value.slice(Math.max(0, offset - char.length - 16), offset - char.length), 8),
        more: 0,
      }
  }
  return found
}

/**
 * The last `count` code points of `text`. `text` is cut from a string with no lone surrogate before the hidden
 * character, so a low surrogate at its start is half of a pair the cut split: dropped.
 */
function lastCodePoints(text: string, count: number): string {
  const points = Array.from(text)
  const first = points[0]?.charCodeAt(0) ?? 0
  if (first >= 0xdc00 && first <= 0xdfff) points.shift()
  return points.slice(-count).join('')
}

/**
 * Describes a hidden character for an error message, e.g. for an `InvalidAddressError` reason.
 *
 * @example
 * describeHiddenCharacter(findHiddenCharacter('0x12\u200B34')!) // 'U+200B ZERO WIDTH SPACE at position 5 (after "0x12")'
 */
export function describeHiddenCharacter(found: HiddenCharacter): string {
  const where = found.after ? ` (after "${found.after}")` : ' (at the start)'
  const more = found.more
    ? `, and ${found.more} more hidden or look-alike character${found.more > 1 ? 's' : ''}`
    : ''
  return `${found.label} at position ${found.position}${where}${more}`
}

/** Options of {@link rejectHiddenCharacters}. */
export type RejectHiddenCharactersOptions = {
  /** The input field, as a dotted path (`to`, `recipients.0.address`); named in the error. */
  field: string
}

/**
 * Refuses an input string (an address, an ENS name, an amount, a label supplied by the agent) that hides
 * characters a user cannot see or could mistake for others; returns the value unchanged otherwise.
 *
 * @example
 * rejectHiddenCharacters('0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045', { field: 'to' }) // returns the address
 * rejectHiddenCharacters('1\u200B.5', { field: 'amount' })
 * // throws InvalidInputError: Field "amount" contains U+200B ZERO WIDTH SPACE at position 2 (after "1").
 * @throws {InvalidInputError} the value contains a control, bidi, zero-width, full-width or other hidden character
 */
export function rejectHiddenCharacters(value: string, { field }: RejectHiddenCharactersOptions): string {
  const found = findHiddenCharacter(value)
  if (!found) return value
  throw new InvalidInputError(`Field "${field}" contains ${describeHiddenCharacter(found)}.`, {
    field,
    metaMessages: [
      'Remove it and retype the value as plain text: invisible, bidirectional, control and full-width characters are refused because they can make one value look like another.',
    ],
  })
}

/**
 * Predicate form for `z.string().refine(isFreeOfHiddenCharacters)`; prefer {@link refineNoHiddenCharacters},
 * whose message names the character.
 *
 * @example z.string().refine(isFreeOfHiddenCharacters, 'must not contain hidden characters')
 */
export function isFreeOfHiddenCharacters(value: string): boolean {
  return findHiddenCharacter(value) === undefined
}

/**
 * zod refinement that reports the offending code point and its position, for input schemas.
 *
 * @example
 * const Name = z.string().superRefine(refineNoHiddenCharacters)
 * Name.safeParse('bob\u202Eeth').error?.issues[0]?.message
 * // 'contains U+202E RIGHT-TO-LEFT OVERRIDE at position 4 (after "bob"); remove it and retype the value as plain text'
 */
export function refineNoHiddenCharacters(value: string, ctx: z.RefinementCtx<string>): void {
  const found = findHiddenCharacter(value)
  if (!found) return
  ctx.addIssue({
    code: 'custom',
    message: `contains ${describeHiddenCharacter(found)}; remove it and retype the value as plain text`,
    input: value,
  })
}
