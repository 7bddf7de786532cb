import { type Address, getAddressDecoder, type ReadonlyUint8Array } from '@solana/kit'

/** The SPL Token program. */
export const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA' as Address
/** The Token-2022 (Token Extensions) program. */
export const TOKEN_2022_PROGRAM = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb' as Address

/** An account as the devnet stores it: enough to decode token state. */
export type RawAccount = { programAddress: Address; data: ReadonlyUint8Array }

/** One Token-2022 extension: its TLV type and value bytes. */
export type TokenExtension = { type: number; value: ReadonlyUint8Array }

/** A decoded SPL Token / Token-2022 token account. */
export type TokenAccountState = {
  program: Address
  mint: Address
  owner: Address
  amount: bigint
  delegate: Address | null
  /** 0 uninitialized, 1 initialized, 2 frozen. */
  state: number
  /** The rent-exempt reserve of a wrapped-SOL account; null for any other token. */
  isNative: bigint | null
  delegatedAmount: bigint
  closeAuthority: Address | null
  extensions: TokenExtension[]
}

/** A decoded SPL Token / Token-2022 mint. */
export type MintState = {
  program: Address
  mintAuthority: Address | null
  supply: bigint
  decimals: number
  isInitialized: boolean
  freezeAuthority: Address | null
  extensions: TokenExtension[]
}

const BASE_ACCOUNT_LENGTH = 165
const MINT_LENGTH = 82
const MULTISIG_LENGTH = 355
const ACCOUNT_TYPE_MINT = 1
const ACCOUNT_TYPE_ACCOUNT = 2

const addressDecoder = getAddressDecoder()

function view(data: ReadonlyUint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength)
}

function addressAt(data: ReadonlyUint8Array, offset: number): Address {
  return addressDecoder.decode(data.subarray(offset, offset + 32))
}

/** `COption<Pubkey>`: a u32 tag then 32 bytes. */
function optionalAddressAt(data: ReadonlyUint8Array, offset: number): Address | null {
  return view(data).getUint32(offset, true) === 0 ? null : addressAt(data, offset + 4)
}

/** Token-2022's `OptionalNonZeroPubkey`: 32 bytes, all zero meaning none. */
function nonZeroAddressAt(data: ReadonlyUint8Array, offset: number): Address | null {
  return data.subarray(offset, offset + 32).every((b) => b === 0) ? null : addressAt(data, offset)
}

function isTokenProgram(program: Address): boolean {
  return program === TOKEN_PROGRAM || program === TOKEN_2022_PROGRAM
}

/** Reads the TLV entries after the account-type byte at offset 165. */
function readExtensions(data: ReadonlyUint8Array): TokenExtension[] {
  const out: TokenExtension[] = []
  const dv = view(data)
  let offset = BASE_ACCOUNT_LENGTH + 1
  while (offset + 4 <= data.length) {
    const type = dv.getUint16(offset, true)
    const length = dv.getUint16(offset + 2, true)
    if (type === 0) break // Uninitialized: the rest is padding
    if (offset + 4 + length > data.length) break
    out.push({ type, value: data.subarray(offset + 4, offset + 4 + length) })
    offset += 4 + length
  }
  return out
}

/**
 * Decodes a token account of either token program; null for anything else (a mint, a multisig, another owner).
 *
 * @example
 * const state = readTokenAccount(svm.getAccount(ata))
 */
export function readTokenAccount(account: RawAccount): TokenAccountState | null {
  const { data, programAddress } = account
  if (!isTokenProgram(programAddress) || data.length < BASE_ACCOUNT_LENGTH || data.length === MULTISIG_LENGTH)
    return null
  if (data.length > BASE_ACCOUNT_LENGTH && data[BASE_ACCOUNT_LENGTH] !== ACCOUNT_TYPE_ACCOUNT) return null
  const dv = view(data)
  const state = data[108] ?? 0
  if (state === 0) return null
  return {
    program: programAddress,
    mint: addressAt(data, 0),
    owner: addressAt(data, 32),
    amount: dv.getBigUint64(64, true),
    delegate: optionalAddressAt(data, 72),
    state,
    isNative: dv.getUint32(109, true) === 0 ? null : dv.getBigUint64(113, true),
    delegatedAmount: dv.getBigUint64(121, true),
    closeAuthority: optionalAddressAt(data, 129),
    extensions: data.length > BASE_ACCOUNT_LENGTH ? readExtensions(data) : [],
  }
}

/**
 * Decodes a mint of either token program; null for anything else.
 *
 * @example
 * const mint = readMint(svm.getAccount(usdcMint))
 */
export function readMint(account: RawAccount): MintState | null {
  const { data, programAddress } = account
  if (!isTokenProgram(programAddress)) return null
  if (data.length !== MINT_LENGTH) {
    if (data.length <= BASE_ACCOUNT_LENGTH || data[BASE_ACCOUNT_LENGTH] !== ACCOUNT_TYPE_MINT) return null
  }
  const dv = view(data)
  if (data[45] !== 1) return null
  return {
    program: programAddress,
    mintAuthority: optionalAddressAt(data, 0),
    supply: dv.getBigUint64(36, true),
    decimals: data[44] ?? 0,
    isInitialized: true,
    freezeAuthority: optionalAddressAt(data, 46),
    extensions: data.length > BASE_ACCOUNT_LENGTH ? readExtensions(data) : [],
  }
}

/**
 * A raw amount as the RPC's `uiAmountString`: decimal, trailing zeros trimmed.
 *
 * @example
 * formatUiAmount(1_500_000n, 6) // '1.5'
 */
export function formatUiAmount(amount: bigint, decimals: number): string {
  if (decimals === 0) return amount.toString()
  const digits = amount.toString().padStart(decimals + 1, '0')
  const whole = digits.slice(0, -decimals)
  const fraction = digits.slice(-decimals).replace(/0+$/, '')
  return fraction === '' ? whole : `${whole}.${fraction}`
}

/** The RPC's `UiTokenAmount`. */
export type UiTokenAmount = { amount: string; decimals: number; uiAmount: number; uiAmountString: string }

/**
 * Builds the RPC's `UiTokenAmount` for a raw amount.
 *
 * @example
 * uiTokenAmount(1_000_000n, 6) // { amount: '1000000', decimals: 6, uiAmount: 1, uiAmountString: '1' }
 */
export function uiTokenAmount(amount: bigint, decimals: number): UiTokenAmount {
  const uiAmountString = formatUiAmount(amount, decimals)
  return { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString }
}

const ACCOUNT_STATES = ['uninitialized', 'initialized', 'frozen'] as const

function transferFee(value: ReadonlyUint8Array, offset: number) {
  const dv = view(value)
  return {
    epoch: dv.getBigUint64(offset, true),
    maximumFee: dv.getBigUint64(offset + 8, true),
    transferFeeBasisPoints: dv.getUint16(offset + 16, true),
  }
}

/** One extension in the RPC's jsonParsed form (the names and fields of agave's account decoder). */
function parsedExtension({ type, value }: TokenExtension): Record<string, unknown> {
  const unparseable = { extension: 'unparseableExtension' }
  const sized = (n: number) => value.length >= n
  switch (type) {
    case 1:
      if (!sized(108)) return unparseable
      return {
        extension: 'transferFeeConfig',
        state: {
          transferFeeConfigAuthority: nonZeroAddressAt(value, 0),
          withdrawWithheldAuthority: nonZeroAddressAt(value, 32),
          withheldAmount: view(value).getBigUint64(64, true),
          olderTransferFee: transferFee(value, 72),
          newerTransferFee: transferFee(value, 90),
        },
      }
    case 2:
      if (!sized(8)) return unparseable
      return { extension: 'transferFeeAmount', state: { withheldAmount: view(value).getBigUint64(0, true) } }
    case 3:
      if (!sized(32)) return unparseable
      return { extension: 'mintCloseAuthority', state: { closeAuthority: nonZeroAddressAt(value, 0) } }
    case 6:
      return {
        extension: 'defaultAccountState',
        state: { accountState: ACCOUNT_STATES[value[0] ?? 0] ?? 'uninitialized' },
      }
    case 7:
      return { extension: 'immutableOwner' }
    case 8:
      return { extension: 'memoTransfer', state: { requireIncomingTransferMemos: value[0] === 1 } }
    case 9:
      return { extension: 'nonTransferable' }
    case 11:
      return { extension: 'cpiGuard', state: { lockCpi: value[0] === 1 } }
    case 12:
      if (!sized(32)) return unparseable
      return { extension: 'permanentDelegate', state: { delegate: nonZeroAddressAt(value, 0) } }
    case 13:
      return { extension: 'nonTransferableAccount' }
    case 14:
      if (!sized(64)) return unparseable
      return {
        extension: 'transferHook',
        state: { authority: nonZeroAddressAt(value, 0), programId: nonZeroAddressAt(value, 32) },
      }
    case 15:
      return { extension: 'transferHookAccount', state: { transferring: value[0] === 1 } }
    case 18:
      if (!sized(64)) return unparseable
      return {
        extension: 'metadataPointer',
        state: { authority: nonZeroAddressAt(value, 0), metadataAddress: nonZeroAddressAt(value, 32) },
      }
    case 26:
      if (!sized(33)) return unparseable
      return {
        extension: 'pausableConfig',
        state: { authority: nonZeroAddressAt(value, 0), paused: value[32] === 1 },
      }
    case 27:
      return { extension: 'pausableAccount' }
    default:
      return unparseable
  }
}

/**
 * The `data` of a token program account in the RPC's jsonParsed form, or null when the account is neither a mint
 * nor a token account (the caller then answers base64, as the real RPC does).
 *
 * @example
 * parsedTokenData(account, (mint) => readMint(svm.getAccount(mint))?.decimals)
 */
export function parsedTokenData(
  account: RawAccount,
  decimalsOf: (mint: Address) => number | undefined,
): Record<string, unknown> | null {
  const program = account.programAddress === TOKEN_2022_PROGRAM ? 'spl-token-2022' : 'spl-token'
  const withExtensions = (info: Record<string, unknown>, extensions: TokenExtension[]) =>
    extensions.length === 0 ? info : { ...info, extensions: extensions.map(parsedExtension) }
  const tokenAccount = readTokenAccount(account)
  if (tokenAccount) {
    const decimals = decimalsOf(tokenAccount.mint)
    if (decimals === undefined) return null
    const info: Record<string, unknown> = {
      isNative: tokenAccount.isNative !== null,
      mint: tokenAccount.mint,
      owner: tokenAccount.owner,
      state: ACCOUNT_STATES[tokenAccount.state] ?? 'initialized',
      tokenAmount: uiTokenAmount(tokenAccount.amount, decimals),
    }
    if (tokenAccount.delegate) {
      info.delegate = tokenAccount.delegate
      info.delegatedAmount = uiTokenAmount(tokenAccount.delegatedAmount, decimals)
    }
    if (tokenAccount.isNative !== null)
      info.rentExemptReserve = uiTokenAmount(tokenAccount.isNative, decimals)
    if (tokenAccount.closeAuthority) info.closeAuthority = tokenAccount.closeAuthority
    return {
      program,
      parsed: { type: 'account', info: withExtensions(info, tokenAccount.extensions) },
      space: BigInt(account.data.length),
    }
  }
  const mint = readMint(account)
  if (mint) {
    const info = {
      decimals: mint.decimals,
      freezeAuthority: mint.freezeAuthority,
      isInitialized: mint.isInitialized,
      mintAuthority: mint.mintAuthority,
      supply: mint.supply.toString(),
    }
    return {
      program,
      parsed: { type: 'mint', info: withExtensions(info, mint.extensions) },
      space: BigInt(account.data.length),
    }
  }
  return null
}
