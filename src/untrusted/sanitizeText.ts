import { InvalidInputError } from '../errors/index.js'

/** Options of {@link sanitizeText}. */
export type SanitizeTextOptions = {
  /** Longest result, in Unicode code points (never splits a surrogate pair). Default 256. */
  maxLength?: number | undefined
  /**
   * Keep line breaks (normalized to `\n`, at most one blank line in a row) — for descriptions. Default `false`:
   * every line break becomes a space, as a name or symbol must be one line.
   */
  allowNewlines?: boolean | undefined
}

/** What {@link sanitizeText} returns. */
export type SanitizeTextReturnType = {
  /** The text that is safe to show: NFC, one kind of space, nothing invisible, at most `maxLength` code points. */
  text: string
  /** Characters were removed, replaced or normalized (not counting truncation). */
  modified: boolean
  /** The text was cut at `maxLength`. */
  truncated: boolean
}

/** The default cap: enough for any honest name or symbol. */
export const defaultMaxTextLength = 256

const lineBreaks = /\r\n?|[\n\u0085\u2028\u2029]/g
// Tabs, vertical tab, form feed and every Unicode space separator become U+0020.
const spaces = /[\t\v\f\p{Zs}]/gu
// Removed outright: C0/C1 controls (line breaks were handled above), format characters (bidi controls, zero-width
// characters, soft hyphen, BOM, tags…), variation selectors, and letters that render as nothing.
const removed =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is matched alone, combining ones included
  /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\p{Cf}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFFA0\uFE00-\uFE0F\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]/gu
const loneSurrogates = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
// Unassigned code points (and noncharacters) may render as anything in a newer font: show them as U+FFFD.
const unassigned = /\p{Cn}/gu
// "Zalgo" text: a base letter buried under dozens of combining marks. No script needs more than a few in a row.
const markFlood = /(\p{M}{8})\p{M}+/gu
const blankLines = /\n{3,}/g

/**
 * Makes untrusted text (a token name, NFT metadata, an ENS record, a revert reason) safe to show to a user or a
 * model: removes control, bidi and zero-width characters, turns every kind of space into U+0020, applies NFC, and
 * caps the length in code points. The meaning of the text is untouched — an instruction stays an instruction, and
 * callers still mark it untrusted (see `untrustedText`).
 *
 * @example
 * sanitizeText('USDC\u202Egnp.exe') // { text: 'USDCgnp.exe', modified: true, truncated: false }
 * sanitizeText('a'.repeat(300)).truncated // true, text has 256 code points
 * sanitizeText('line 1\r\nline 2', { allowNewlines: true }).text // 'line 1\nline 2'
 * @throws {InvalidInputError} `maxLength` is not a positive integer
 */
export function sanitizeText(value: string, options: SanitizeTextOptions = {}): SanitizeTextReturnType {
  const maxLength = options.maxLength ?? defaultMaxTextLength
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
    throw new InvalidInputError(`maxLength must be a positive integer, got ${String(maxLength)}.`, {
      field: 'maxLength',
    })
  }
  let text = value
    .replace(lineBreaks, options.allowNewlines ? '\n' : ' ')
    .replace(spaces, ' ')
    .replace(removed, '')
    .replace(loneSurrogates, '\uFFFD')
    .replace(unassigned, '\uFFFD')
    .normalize('NFC')
    .replace(markFlood, '$1')
  if (options.allowNewlines) text = text.replace(blankLines, '\n\n')
  text = trimEdges(text)
  const modified = text !== value
  const cut = codePointPrefix(text, maxLength)
  return { text: cut, modified, truncated: cut.length !== text.length }
}

/**
 * `text` without leading and trailing spaces and line feeds. By hand: `/[ \n]+$/` retries at every position of
 * every inner run of spaces, quadratic in the run's length.
 */
function trimEdges(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && isEdge(text.charCodeAt(start))) start++
  while (end > start && isEdge(text.charCodeAt(end - 1))) end--
  return start === 0 && end === text.length ? text : text.slice(start, end)
}

function isEdge(c: number): boolean {
  return c === 0x20 || c === 0x0a
}

/** The first `max` code points of `text`; a surrogate pair counts as one and is never split. */
function codePointPrefix(text: string, max: number): string {
  if (text.length <= max) return text
  let units = 0
  for (let count = 0; count < max && units < text.length; count++) {
    const cp = text.codePointAt(units) ?? 0
    units += cp > 0xffff ? 2 : 1
  }
  return text.slice(0, units)
}

const latinLetter = /\p{Script=Latin}/u
const letter = /\p{L}/u
// Scripts with capital and small letters drawn like Latin ones (А/A, Ο/O, Տ/S, Ꭺ/A).
const lookalikeScript = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}]/u
// Letters of those scripts that pass for a Latin letter on their own; a word made only of these reads as Latin.
const latinLookalikes = new Set(
  Array.from(
    // Cyrillic
    'АВЕЅІЈКМНОРСТУХԚԜаеѕіјорсухԁһԛԝӏ' +
      // Greek
      'ΑΒΕΖΗΙΚΜΝΟΡΤΥΧοινρυ' +
      // Armenian
      'ՍՏՕօսհոցք' +
      // Cherokee
      'ᎪᏴᏟᎠᎬᎻᏦᏞᎷᏢᏚᎢᏙᏔᏃ',
  ),
)
const fullwidthForm = /[\uFF01-\uFF5E]/u
const asciiAlphanumeric = /[A-Za-z0-9]/

/**
 * Tells whether a short string (a token symbol or name) may pass for a different ASCII string: it mixes Latin with
 * Cyrillic, Greek, Armenian or Cherokee letters (`USDС` with a Cyrillic С), is written only in such lookalike
 * letters (`ЕТН`), or uses full-width or compatibility forms of ASCII letters and digits (`ＵＳＤＣ`, `𝐔𝐒𝐃𝐂`).
 * A `true` marks the symbol unverified; policy never matches symbols, only addresses.
 *
 * @example
 * detectHomoglyphs('USDС') // true — the last letter is U+0421 CYRILLIC CAPITAL LETTER ES
 * detectHomoglyphs('USDC') // false
 * detectHomoglyphs('ＵＳＤＣ') // true
 */
export function detectHomoglyphs(value: string): boolean {
  let hasLatin = false
  let hasLookalikeScript = false
  let allLettersLookalike = true
  let letters = 0
  for (const char of value) {
    if (fullwidthForm.test(char)) return true
    const code = char.codePointAt(0) ?? 0
    // A non-ASCII character whose compatibility form is an ASCII letter or digit: full-width, mathematical,
    // circled, superscript, Kelvin sign (U+212A), ligatures.
    if (code > 0x7f && asciiAlphanumeric.test(char.normalize('NFKC'))) return true
    if (!letter.test(char)) continue
    letters++
    if (latinLetter.test(char)) hasLatin = true
    else if (lookalikeScript.test(char)) hasLookalikeScript = true
    if (!latinLookalikes.has(char)) allLettersLookalike = false
  }
  if (hasLatin && hasLookalikeScript) return true
  return !hasLatin && letters > 0 && allLettersLookalike
}
