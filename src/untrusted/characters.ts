/**
 * Code-point classes shared by {@link sanitizeText} (output side) and {@link rejectHiddenCharacters} (input side).
 * Internal to `src/untrusted`: tools import the operations, not these tables.
 */

/** Why a code point is refused in input or stripped from output. */
export type HiddenCharacterKind =
  | 'control'
  | 'bidi'
  | 'invisible'
  | 'variation-selector'
  | 'tag'
  | 'fullwidth'
  | 'space'
  | 'line-break'
  | 'surrogate'
  | 'unassigned'

const names: ReadonlyMap<number, string> = new Map([
  [0x00, 'NULL'],
  [0x07, 'BELL'],
  [0x08, 'BACKSPACE'],
  [0x09, 'CHARACTER TABULATION'],
  [0x0a, 'LINE FEED'],
  [0x0b, 'LINE TABULATION'],
  [0x0c, 'FORM FEED'],
  [0x0d, 'CARRIAGE RETURN'],
  [0x1b, 'ESCAPE'],
  [0x7f, 'DELETE'],
  [0x85, 'NEXT LINE'],
  [0xa0, 'NO-BREAK SPACE'],
  [0xad, 'SOFT HYPHEN'],
  [0x034f, 'COMBINING GRAPHEME JOINER'],
  [0x061c, 'ARABIC LETTER MARK'],
  [0x115f, 'HANGUL CHOSEONG FILLER'],
  [0x1160, 'HANGUL JUNGSEONG FILLER'],
  [0x1680, 'OGHAM SPACE MARK'],
  [0x17b4, 'KHMER VOWEL INHERENT AQ'],
  [0x17b5, 'KHMER VOWEL INHERENT AA'],
  [0x180e, 'MONGOLIAN VOWEL SEPARATOR'],
  [0x200b, 'ZERO WIDTH SPACE'],
  [0x200c, 'ZERO WIDTH NON-JOINER'],
  [0x200d, 'ZERO WIDTH JOINER'],
  [0x200e, 'LEFT-TO-RIGHT MARK'],
  [0x200f, 'RIGHT-TO-LEFT MARK'],
  [0x2028, 'LINE SEPARATOR'],
  [0x2029, 'PARAGRAPH SEPARATOR'],
  [0x202a, 'LEFT-TO-RIGHT EMBEDDING'],
  [0x202b, 'RIGHT-TO-LEFT EMBEDDING'],
  [0x202c, 'POP DIRECTIONAL FORMATTING'],
  [0x202d, 'LEFT-TO-RIGHT OVERRIDE'],
  [0x202e, 'RIGHT-TO-LEFT OVERRIDE'],
  [0x202f, 'NARROW NO-BREAK SPACE'],
  [0x205f, 'MEDIUM MATHEMATICAL SPACE'],
  [0x2060, 'WORD JOINER'],
  [0x2061, 'FUNCTION APPLICATION'],
  [0x2062, 'INVISIBLE TIMES'],
  [0x2063, 'INVISIBLE SEPARATOR'],
  [0x2064, 'INVISIBLE PLUS'],
  [0x2066, 'LEFT-TO-RIGHT ISOLATE'],
  [0x2067, 'RIGHT-TO-LEFT ISOLATE'],
  [0x2068, 'FIRST STRONG ISOLATE'],
  [0x2069, 'POP DIRECTIONAL ISOLATE'],
  [0x2800, 'BRAILLE PATTERN BLANK'],
  [0x3000, 'IDEOGRAPHIC SPACE'],
  [0x3164, 'HANGUL FILLER'],
  [0xfeff, 'ZERO WIDTH NO-BREAK SPACE'],
  [0xffa0, 'HALFWIDTH HANGUL FILLER'],
  [0xe0001, 'LANGUAGE TAG'],
])

const bidi = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u
const variationSelector = /[\u180B-\u180D\u180F\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/u
const tag = /[\u{E0000}-\u{E007F}]/u
// Not format characters by category, but render as nothing and are used to fake "blank" or spoofed names.
const invisibleLetters = /[\u034F\u115F\u1160\u17B4\u17B5\u2800\u3164\uFFA0]/u
const format = /\p{Cf}/u
const control = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F]/u
const lineBreak = /[\n\r\u0085\u2028\u2029]/u
const tab = /\t/u
const unusualSpace = /[\p{Zs}]/u
const fullwidth = /[\uFF01-\uFF5E]/u
const surrogate = /[\uD800-\uDFFF]/u
const unassigned = /\p{Cn}/u

/**
 * The class of a single code point (given as a string of one code point), or `undefined` when it is an ordinary
 * visible character or U+0020 SPACE.
 *
 * @example classifyCodePoint('\u202E') // 'bidi'
 */
export function classifyCodePoint(char: string): HiddenCharacterKind | undefined {
  if (char === ' ') return undefined
  if (lineBreak.test(char)) return 'line-break'
  if (tab.test(char) || control.test(char)) return 'control'
  if (bidi.test(char)) return 'bidi'
  if (tag.test(char)) return 'tag'
  if (variationSelector.test(char)) return 'variation-selector'
  if (invisibleLetters.test(char) || format.test(char)) return 'invisible'
  if (unusualSpace.test(char)) return 'space'
  if (fullwidth.test(char)) return 'fullwidth'
  if (surrogate.test(char)) return 'surrogate'
  if (unassigned.test(char)) return 'unassigned'
  return undefined
}

/**
 * Names a code point the way a user can look it up: `U+200B ZERO WIDTH SPACE`, `U+FF41 FULLWIDTH "a"`.
 *
 * @example describeCodePoint('\u200B', 'invisible') // 'U+200B ZERO WIDTH SPACE'
 */
export function describeCodePoint(char: string, kind: HiddenCharacterKind): string {
  const cp = char.codePointAt(0) ?? 0
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`
  const name = names.get(cp)
  if (name) return `${hex} ${name}`
  switch (kind) {
    case 'fullwidth':
      return `${hex} FULLWIDTH "${String.fromCodePoint(cp - 0xfee0)}"`
    case 'variation-selector':
      return `${hex} VARIATION SELECTOR`
    case 'tag':
      return `${hex} TAG CHARACTER`
    case 'control':
      return `${hex} CONTROL CHARACTER`
    case 'space':
      return `${hex} SPACE CHARACTER`
    case 'surrogate':
      return `${hex} LONE SURROGATE`
    case 'unassigned':
      return `${hex} UNASSIGNED CODE POINT`
    default:
      return `${hex} INVISIBLE FORMAT CHARACTER`
  }
}
