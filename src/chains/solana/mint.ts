import { getBase58Decoder } from '@solana/kit'

const b58 = getBase58Decoder()
const zero32 = '11111111111111111111111111111111'

/**
 * What a mint account says, decoded from its bytes (SPL Token's 82-byte mint, then Token-2022's extensions).
 * Extension facts are what the policy sees as risks (DESIGN §8, ADVERSARIAL 61); metadata is untrusted text.
 */
export type MintFacts = {
  program: 'spl-token' | 'token-2022'
  decimals: number
  supply: bigint
  mintAuthority: string | null
  freezeAuthority: string | null
  extensions: MintExtensions
}

/** Token-2022 extensions that change what a transfer does or who controls the holder's tokens. */
export type MintExtensions = {
  /** A fee withheld from every transfer (the larger of the configured older and newer fee). */
  transferFee?: { basisPoints: number; maximumFee: bigint } | undefined
  /** Someone who can move or burn anyone's tokens of this mint. */
  permanentDelegate?: string | undefined
  /** A program every transfer calls. */
  transferHook?: string | undefined
  /** An authority can pause all transfers; `paused` is the current state. */
  pausable?: { paused: boolean } | undefined
  /** New token accounts start frozen. */
  defaultFrozen?: boolean | undefined
  /** The mint can be closed by this authority. */
  closeAuthority?: string | undefined
  nonTransferable?: boolean | undefined
  /** Balances are shown scaled or with accrued interest, not as the raw amount. */
  interestBearing?: boolean | undefined
  scaledUiAmount?: boolean | undefined
  confidentialTransfers?: boolean | undefined
  /** Name, symbol and URI from the TokenMetadata extension, raw (the caller marks them untrusted). */
  metadata?: { name: string; symbol: string; uri: string } | undefined
  /** Extension type numbers present but not decoded here. */
  other?: number[] | undefined
}

/** The risks among a mint's extensions, by name, as the policy's `tokenRisks` fact lists them. */
export function mintRisks(extensions: MintExtensions): string[] {
  const risks: string[] = []
  if (extensions.transferFee && extensions.transferFee.basisPoints > 0) risks.push('transfer-fee')
  if (extensions.permanentDelegate) risks.push('permanent-delegate')
  if (extensions.transferHook) risks.push('transfer-hook')
  if (extensions.pausable) risks.push('pausable')
  if (extensions.defaultFrozen) risks.push('default-frozen')
  if (extensions.closeAuthority) risks.push('close-authority')
  if (extensions.nonTransferable) risks.push('non-transferable')
  if (extensions.confidentialTransfers) risks.push('confidential-transfers')
  if (extensions.interestBearing || extensions.scaledUiAmount) risks.push('scaled-amounts')
  // An extension this gateway does not decode may change what a transfer does: a risk until it is understood.
  if (extensions.other?.length) risks.push('unknown-extension')
  return risks
}

const u64 = (data: Uint8Array, at: number) =>
  new DataView(data.buffer, data.byteOffset + at, 8).getBigUint64(0, true)
const u32 = (data: Uint8Array, at: number) =>
  new DataView(data.buffer, data.byteOffset + at, 4).getUint32(0, true)
const u16 = (data: Uint8Array, at: number) =>
  new DataView(data.buffer, data.byteOffset + at, 2).getUint16(0, true)
const key = (data: Uint8Array, at: number) => b58.decode(data.subarray(at, at + 32))
const optionalKey = (data: Uint8Array, at: number) => {
  const k = key(data, at)
  return k === zero32 ? undefined : k
}

/**
 * Decodes a mint account. `undefined` when the bytes are not an initialized mint of that program.
 *
 * @example decodeMint(program, bytes)?.extensions.transferFee // { basisPoints: 100, maximumFee: 5000000n }
 */
export function decodeMint(program: 'spl-token' | 'token-2022', data: Uint8Array): MintFacts | undefined {
  if (data.length < 82) return undefined
  if (data[45] !== 1) return undefined // is_initialized
  const mintAuthority = u32(data, 0) === 1 ? key(data, 4) : null
  const supply = u64(data, 36)
  const decimals = data[44] as number
  const freezeAuthority = u32(data, 46) === 1 ? key(data, 50) : null
  const extensions: MintExtensions = {}
  if (program === 'token-2022' && data.length > 166) {
    if (data[165] !== 1) return undefined // account type: 1 = mint
    let at = 166
    while (at + 4 <= data.length) {
      const type = u16(data, at)
      const length = u16(data, at + 2)
      const value = data.subarray(at + 4, at + 4 + length)
      at += 4 + length
      if (type === 0 || value.length < length) break
      switch (type) {
        case 1: {
          if (length < 108) break
          const older = { maxFee: u64(value, 80), bps: u16(value, 88) }
          const newer = { maxFee: u64(value, 98), bps: u16(value, 106) }
          // Whichever fee is in force, the larger of the two (older until an epoch, newer after it) is assumed.
          const fees = [older.maxFee, newer.maxFee].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
          extensions.transferFee = {
            basisPoints: Math.max(older.bps, newer.bps),
            maximumFee: fees[0] as bigint,
          }
          break
        }
        case 3:
          extensions.closeAuthority = length >= 32 ? optionalKey(value, 0) : undefined
          break
        case 4:
          extensions.confidentialTransfers = true
          break
        case 6:
          extensions.defaultFrozen = value[0] === 2
          break
        case 9:
          extensions.nonTransferable = true
          break
        case 10:
          extensions.interestBearing = true
          break
        case 12:
          extensions.permanentDelegate = length >= 32 ? optionalKey(value, 0) : undefined
          break
        case 14:
          extensions.transferHook = length >= 64 ? optionalKey(value, 32) : undefined
          break
        case 19:
          extensions.metadata = decodeMetadata(value)
          break
        case 25:
          extensions.scaledUiAmount = true
          break
        case 26:
          extensions.pausable = { paused: length >= 33 && value[32] === 1 }
          break
        case 18: // metadata pointer: where metadata lives, not a risk
        case 20:
        case 21:
        case 22:
        case 23:
          break
        default:
          extensions.other = [...(extensions.other ?? []), type]
      }
    }
  }
  return {
    program,
    decimals,
    supply,
    mintAuthority,
    freezeAuthority,
    extensions,
  }
}

function decodeMetadata(value: Uint8Array): MintExtensions['metadata'] {
  try {
    let at = 64
    const text = () => {
      const n = u32(value, at)
      if (n > 1024 || at + 4 + n > value.length) throw new RangeError('metadata string too long')
      const s = new TextDecoder('utf-8', { fatal: false }).decode(value.subarray(at + 4, at + 4 + n))
      at += 4 + n
      return s
    }
    return { name: text(), symbol: text(), uri: text() }
  } catch {
    return undefined
  }
}

/** The balance and owner of a token account (SPL Token's 165-byte layout, the same in Token-2022). */
export function decodeTokenAccount(
  data: Uint8Array,
): { mint: string; owner: string; amount: bigint; frozen: boolean } | undefined {
  if (data.length < 165) return undefined
  const state = data[108]
  if (state !== 1 && state !== 2) return undefined
  return { mint: key(data, 0), owner: key(data, 32), amount: u64(data, 64), frozen: state === 2 }
}
