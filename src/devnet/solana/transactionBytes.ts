import {
  type Address,
  type CompiledTransactionMessage,
  type CompiledTransactionMessageWithLifetime,
  getBase58Decoder,
  getBase58Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Transaction,
} from '@solana/kit'
import { JsonRpcError } from './jsonRpcError.js'

/** A compiled legacy or v0 message (v1 messages are refused: no cluster takes them yet). */
export type DecodedMessage = Extract<CompiledTransactionMessage, { version: 'legacy' | 0 }> &
  CompiledTransactionMessageWithLifetime

/** A wire transaction taken apart once, for the ledger and the RPC answers. */
export type DecodedTransaction = {
  transaction: Transaction
  message: DecodedMessage
  /** Base58 signatures in signer order; an unsigned slot reads as 64 zero bytes, as on real clusters. */
  signatures: string[]
  /** The first signature: the transaction's id. */
  signature: string
}

/** The most bytes a wire transaction may have (the packet data size). */
export const MAX_TRANSACTION_BYTES = 1232

const base58 = getBase58Decoder()
const ZERO_SIGNATURE = new Uint8Array(64)

/**
 * Decodes the `transaction` parameter of sendTransaction / simulateTransaction (base58 by default, as the real RPC).
 *
 * @example
 * const bytes = transactionParamBytes(params[0], 'base64')
 * @throws {JsonRpcError} -32602 for a non-string, a bad encoding name or undecodable text
 */
export function transactionParamBytes(value: unknown, encoding: unknown): Uint8Array {
  if (typeof value !== 'string')
    throw new JsonRpcError(-32602, 'Invalid params: the transaction must be a string')
  const name = encoding ?? 'base58'
  if (name === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
      throw new JsonRpcError(-32602, 'Invalid params: the transaction is not valid base64')
    }
    return new Uint8Array(Buffer.from(value, 'base64'))
  }
  if (name === 'base58') {
    try {
      return new Uint8Array(getBase58Encoder().encode(value))
    } catch {
      throw new JsonRpcError(-32602, 'Invalid params: the transaction is not valid base58')
    }
  }
  throw new JsonRpcError(-32602, `Invalid params: unsupported transaction encoding ${JSON.stringify(name)}`)
}

/**
 * Decodes a wire transaction (legacy or v0).
 *
 * @example
 * const decoded = decodeTransaction(bytes)
 * @throws {JsonRpcError} -32602 when the bytes are too many or not a transaction
 */
export function decodeTransaction(wire: Uint8Array): DecodedTransaction {
  if (wire.length > MAX_TRANSACTION_BYTES) {
    throw new JsonRpcError(
      -32602,
      `Invalid params: transaction too large: ${wire.length} bytes (max: ${MAX_TRANSACTION_BYTES} bytes)`,
    )
  }
  let transaction: Transaction
  let message: CompiledTransactionMessage & CompiledTransactionMessageWithLifetime
  try {
    transaction = getTransactionDecoder().decode(wire)
    message = getCompiledTransactionMessageDecoder().decode(transaction.messageBytes)
  } catch (error) {
    throw new JsonRpcError(
      -32602,
      `Invalid params: failed to deserialize the transaction: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  if (message.version !== 'legacy' && message.version !== 0) {
    throw new JsonRpcError(-32602, `Invalid params: transaction version ${message.version} is not supported`)
  }
  const decodedMessage = message as DecodedMessage
  const signers = decodedMessage.staticAccounts.slice(0, decodedMessage.header.numSignerAccounts)
  if (signers.length === 0) throw new JsonRpcError(-32602, 'Invalid params: the transaction has no signer')
  const signatures = signers.map((signer) => base58.decode(transaction.signatures[signer] ?? ZERO_SIGNATURE))
  return { transaction, message: decodedMessage, signatures, signature: signatures[0]! }
}

/**
 * The same transaction with another recent blockhash in its message (the signatures then no longer match: only for
 * simulations with sigVerify off, as `replaceRecentBlockhash` is on real clusters).
 *
 * @example
 * const replaced = withRecentBlockhash(decoded.transaction, latest.blockhash)
 */
export function withRecentBlockhash(transaction: Transaction, blockhash: string): Transaction {
  const bytes = new Uint8Array(transaction.messageBytes)
  let offset = (bytes[0] ?? 0) & 0x80 ? 1 : 0 // versioned messages start with a 0x80 | version prefix
  offset += 3 // header
  let count = 0
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[offset++] ?? 0
    count |= (byte & 0x7f) << shift
    if ((byte & 0x80) === 0) break
  }
  offset += count * 32
  bytes.set(getBase58Encoder().encode(blockhash), offset)
  return { ...transaction, messageBytes: bytes as unknown as Transaction['messageBytes'] }
}

const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111'
// Builtins are given 3,000 compute units each when no limit is set; every other program 200,000.
const BUILTIN_PROGRAMS = new Set<string>([
  '11111111111111111111111111111111',
  COMPUTE_BUDGET_PROGRAM,
  'AddressLookupTab1e1111111111111111111111111',
  'Vote111111111111111111111111111111111111111',
  'BPFLoaderUpgradeab1e11111111111111111111111',
  'BPFLoader2111111111111111111111111111111111',
  'BPFLoader1111111111111111111111111111111111',
  'LoaderV411111111111111111111111111111111111',
])
const PRECOMPILES = new Set<string>([
  'Ed25519SigVerify111111111111111111111111111',
  'KeccakSecp256k11111111111111111111111111111',
  'Secp256r1SigVerify1111111111111111111111111',
])
export const LAMPORTS_PER_SIGNATURE = 5000n

/**
 * The fee litesvm charges for a message: 5,000 lamports per signature (precompile signatures included) plus the
 * priority fee, `ceil(unit price × unit limit / 10^6)` (limit: SetComputeUnitLimit, else 3,000 per builtin
 * instruction and 200,000 per other one).
 *
 * @example
 * estimateFee(decoded.message) // 5000n for a plain transfer
 */
export function estimateFee(message: DecodedMessage): bigint {
  let signatures = BigInt(message.header.numSignerAccounts)
  let limit: bigint | undefined
  let price = 0n
  let defaultLimit = 0n
  for (const instruction of message.instructions) {
    const program: Address | undefined = message.staticAccounts[instruction.programAddressIndex]
    const data = instruction.data
    if (program === COMPUTE_BUDGET_PROGRAM && data && data.length > 0) {
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength)
      if (data[0] === 2 && data.length >= 5) limit = BigInt(dv.getUint32(1, true))
      if (data[0] === 3 && data.length >= 9) price = dv.getBigUint64(1, true)
    }
    if (program && PRECOMPILES.has(program)) signatures += BigInt(data?.[0] ?? 0)
    defaultLimit += program && BUILTIN_PROGRAMS.has(program) ? 3_000n : 200_000n
  }
  const units = limit ?? (defaultLimit > 1_400_000n ? 1_400_000n : defaultLimit)
  return LAMPORTS_PER_SIGNATURE * signatures + (price * units + 999_999n) / 1_000_000n
}
