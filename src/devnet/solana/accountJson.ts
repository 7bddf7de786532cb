import { type Address, getBase58Decoder } from '@solana/kit'
import { JsonRpcError } from './jsonRpcError.js'
import { parsedTokenData, type RawAccount } from './tokenState.js'

/** An account as the devnet answers it: litesvm's encoded account. */
export type DevnetAccount = RawAccount & { address: Address; lamports: bigint; executable: boolean }

/** Account encodings this devnet answers (`base64+zstd` is refused: Node 20 has no zstd). */
export type AccountEncoding = 'base64' | 'base58' | 'binary' | 'jsonParsed'

/** `dataSlice` of getAccountInfo and friends. */
export type DataSlice = { offset: number; length: number }

/** Rent-exempt accounts report `u64::MAX` as their rent epoch on real clusters. */
const RENT_EPOCH_EXEMPT = 18446744073709551615n

const base58 = getBase58Decoder()

/**
 * Reads an `encoding` parameter, refusing the ones this devnet cannot produce.
 *
 * @example
 * const encoding = accountEncoding(config.encoding, 'binary')
 * @throws {JsonRpcError} -32602 for an unknown or unsupported encoding
 */
export function accountEncoding(value: unknown, fallback: AccountEncoding): AccountEncoding {
  if (value === undefined || value === null) return fallback
  if (value === 'base64' || value === 'base58' || value === 'binary' || value === 'jsonParsed') return value
  throw new JsonRpcError(-32602, `Invalid params: unsupported encoding ${JSON.stringify(value)}`)
}

/**
 * One account in the RPC's `UiAccount` shape (`{ data, executable, lamports, owner, rentEpoch, space }`).
 *
 * @example
 * encodeAccount(account, 'base64', undefined, decimalsOf)
 * @throws {JsonRpcError} -32600 for base58 of more than 128 bytes, as the real RPC refuses it
 */
export function encodeAccount(
  account: DevnetAccount,
  encoding: AccountEncoding,
  dataSlice: DataSlice | undefined,
  decimalsOf: (mint: Address) => number | undefined,
): Record<string, unknown> {
  const sliced = dataSlice
    ? account.data.subarray(dataSlice.offset, dataSlice.offset + dataSlice.length)
    : account.data
  let data: unknown
  const parsed = encoding === 'jsonParsed' && !dataSlice ? parsedTokenData(account, decimalsOf) : null
  if (parsed) data = parsed
  else if (encoding === 'base58' || encoding === 'binary') {
    if (sliced.length > 128) {
      throw new JsonRpcError(
        -32600,
        'Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.',
      )
    }
    data = encoding === 'binary' ? base58.decode(sliced) : [base58.decode(sliced), 'base58']
  } else
    data = [Buffer.from(sliced.buffer, sliced.byteOffset, sliced.byteLength).toString('base64'), 'base64']
  return {
    data,
    executable: account.executable,
    lamports: account.lamports,
    owner: account.programAddress,
    rentEpoch: RENT_EPOCH_EXEMPT,
    space: BigInt(account.data.length),
  }
}
