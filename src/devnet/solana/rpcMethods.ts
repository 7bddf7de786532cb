import {
  type Address,
  getBase58Decoder,
  getCompiledTransactionMessageDecoder,
  getTransactionEncoder,
  isAddress,
} from '@solana/kit'
import { type AccountEncoding, accountEncoding, type DataSlice, encodeAccount } from './accountJson.js'
import { JsonRpcError } from './jsonRpcError.js'
import type { LocalLedger, TransactionRecord } from './localLedger.js'
import { readMint, readTokenAccount, TOKEN_2022_PROGRAM, TOKEN_PROGRAM, uiTokenAmount } from './tokenState.js'
import {
  type DecodedMessage,
  decodeTransaction,
  estimateFee,
  transactionParamBytes,
} from './transactionBytes.js'

/** What the devnet reports as its software version (getVersion, and `apiVersion` in every context). */
export const SOLANA_DEVNET_VERSION = '0.0.0-litesvm.1.5.0'

/** One JSON-RPC method: positional params in, result out. */
export type SolanaRpcMethod = (params: readonly unknown[]) => unknown

const SLOTS_PER_EPOCH = 432_000n
const MAX_MULTIPLE_ACCOUNTS = 100
const MAX_SIGNATURE_STATUSES = 256
const base58 = getBase58Decoder()

function invalidParams(message: string): JsonRpcError {
  return new JsonRpcError(-32602, message)
}

function addressParam(value: unknown, what = 'pubkey'): Address {
  if (typeof value !== 'string' || !isAddress(value))
    throw invalidParams(`Invalid param: ${what} is not a base58 address`)
  return value
}

function configParam(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidParams('Invalid params: the configuration must be an object')
  return value as Record<string, unknown>
}

function unsignedIntegerParam(value: unknown, what: string): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidParams(`Invalid params: ${what} must be a non-negative integer`)
  }
  return BigInt(value)
}

function dataSliceParam(value: unknown): DataSlice | undefined {
  if (value === undefined || value === null) return undefined
  const slice = configParam(value)
  return {
    offset: Number(unsignedIntegerParam(slice.offset, 'dataSlice.offset')),
    length: Number(unsignedIntegerParam(slice.length, 'dataSlice.length')),
  }
}

function signatureParam(value: unknown): string {
  if (typeof value !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(value)) {
    throw invalidParams('Invalid param: not a base58 signature')
  }
  return value
}

function statusJson(record: TransactionRecord) {
  return {
    slot: record.slot,
    confirmations: null,
    err: record.err,
    confirmationStatus: 'finalized',
    status: record.err === null ? { Ok: null } : { Err: record.err },
  }
}

function messageJson(message: DecodedMessage) {
  return {
    accountKeys: message.staticAccounts,
    header: {
      numRequiredSignatures: message.header.numSignerAccounts,
      numReadonlySignedAccounts: message.header.numReadonlySignerAccounts,
      numReadonlyUnsignedAccounts: message.header.numReadonlyNonSignerAccounts,
    },
    instructions: message.instructions.map((instruction) => ({
      programIdIndex: instruction.programAddressIndex,
      accounts: instruction.accountIndices ?? [],
      data: base58.decode(instruction.data ?? new Uint8Array()),
      stackHeight: null,
    })),
    recentBlockhash: message.lifetimeToken,
    ...(message.version === 0
      ? {
          addressTableLookups: (message.addressTableLookups ?? []).map((lookup) => ({
            accountKey: lookup.lookupTableAddress,
            writableIndexes: lookup.writableIndexes,
            readonlyIndexes: lookup.readonlyIndexes,
          })),
        }
      : {}),
  }
}

function transactionJson(record: TransactionRecord, encoding: string, withVersion: boolean) {
  const { decoded } = record
  const wire = () => new Uint8Array(getTransactionEncoder().encode(decoded.transaction))
  let transaction: unknown
  if (encoding === 'json')
    transaction = { signatures: decoded.signatures, message: messageJson(decoded.message) }
  else if (encoding === 'base64') transaction = [Buffer.from(wire()).toString('base64'), 'base64']
  else transaction = [base58.decode(wire()), 'base58']
  return {
    slot: record.slot,
    blockTime: record.blockTime,
    transaction,
    meta: {
      err: record.err,
      status: record.err === null ? { Ok: null } : { Err: record.err },
      fee: record.fee,
      preBalances: record.preBalances,
      postBalances: record.postBalances,
      innerInstructions: record.innerInstructions,
      logMessages: record.logMessages,
      preTokenBalances: record.preTokenBalances,
      postTokenBalances: record.postTokenBalances,
      rewards: [],
      loadedAddresses: record.loadedAddresses,
      computeUnitsConsumed: record.computeUnitsConsumed,
      ...(record.returnData ? { returnData: record.returnData } : {}),
    },
    ...(withVersion ? { version: decoded.message.version } : {}),
  }
}

/**
 * The devnet's JSON-RPC methods, by name, over one ledger: the subset of the Solana RPC the gateway uses, answering
 * in the real RPC's shapes (`{ context, value }`, its error codes, u64 values as JSON numbers).
 *
 * @example
 * const methods = createSolanaRpcMethods(ledger, genesisHash)
 * await methods.getBalance?.([address])
 */
export function createSolanaRpcMethods(
  ledger: LocalLedger,
  genesisHash: string,
): Record<string, SolanaRpcMethod> {
  const withContext = (value: unknown) => ({
    context: { slot: ledger.slot, apiVersion: SOLANA_DEVNET_VERSION },
    value,
  })
  const encodeOrNull = (
    address: Address,
    encoding: AccountEncoding,
    dataSlice: DataSlice | undefined,
  ): Record<string, unknown> | null => {
    const account = ledger.getAccount(address)
    return account ? encodeAccount(account, encoding, dataSlice, (mint) => ledger.decimalsOf(mint)) : null
  }
  const tokenAmountOf = (value: unknown) => {
    const address = addressParam(value)
    const account = ledger.getAccount(address)
    if (!account) throw invalidParams('Invalid param: could not find account')
    const state = readTokenAccount(account)
    const decimals = state ? ledger.decimalsOf(state.mint) : undefined
    if (!state || decimals === undefined) throw invalidParams('Invalid param: not a Token account')
    return uiTokenAmount(state.amount, decimals)
  }

  return {
    getGenesisHash: () => genesisHash,
    getHealth: () => 'ok',
    getVersion: () => ({ 'solana-core': SOLANA_DEVNET_VERSION, 'feature-set': 0 }),
    getSlot: () => ledger.slot,
    getBlockHeight: () => ledger.blockHeight,
    getTransactionCount: () => ledger.transactionCount,
    getEpochInfo: () => ({
      absoluteSlot: ledger.slot,
      blockHeight: ledger.blockHeight,
      epoch: ledger.slot / SLOTS_PER_EPOCH,
      slotIndex: ledger.slot % SLOTS_PER_EPOCH,
      slotsInEpoch: SLOTS_PER_EPOCH,
      transactionCount: ledger.transactionCount,
    }),
    getLatestBlockhash: () => withContext(ledger.latestBlockhash()),
    isBlockhashValid: ([blockhash]) => {
      if (typeof blockhash !== 'string') throw invalidParams('Invalid params: the blockhash must be a string')
      return withContext(ledger.isBlockhashValid(blockhash))
    },
    getBalance: ([address]) => withContext(ledger.getAccount(addressParam(address))?.lamports ?? 0n),
    getAccountInfo: ([address, config]) => {
      const c = configParam(config)
      const pubkey = addressParam(address)
      return withContext(
        encodeOrNull(pubkey, accountEncoding(c.encoding, 'binary'), dataSliceParam(c.dataSlice)),
      )
    },
    getMultipleAccounts: ([addresses, config]) => {
      if (!Array.isArray(addresses)) throw invalidParams('Invalid params: expected an array of addresses')
      if (addresses.length > MAX_MULTIPLE_ACCOUNTS) {
        throw invalidParams(`Invalid params: too many inputs provided; max ${MAX_MULTIPLE_ACCOUNTS}`)
      }
      const c = configParam(config)
      const encoding = accountEncoding(c.encoding, 'base64')
      const dataSlice = dataSliceParam(c.dataSlice)
      const pubkeys = addresses.map((a) => addressParam(a))
      return withContext(pubkeys.map((pubkey) => encodeOrNull(pubkey, encoding, dataSlice)))
    },
    getTokenAccountsByOwner: ([owner, filter, config]) => {
      const ownerAddress = addressParam(owner, 'owner')
      const f = configParam(filter)
      let program: Address
      let mint: Address | undefined
      if (f.mint !== undefined && f.programId === undefined) {
        mint = addressParam(f.mint, 'mint')
        const account = ledger.getAccount(mint)
        if (!account || !readMint(account)) throw invalidParams('Invalid param: could not find mint')
        program = account.programAddress
      } else if (f.programId !== undefined && f.mint === undefined) {
        program = addressParam(f.programId, 'programId')
        if (program !== TOKEN_PROGRAM && program !== TOKEN_2022_PROGRAM) {
          throw invalidParams('Invalid param: unrecognized Token program id')
        }
      } else throw invalidParams('Invalid params: the filter must be { mint } or { programId }')
      const c = configParam(config)
      const encoding = accountEncoding(c.encoding, 'binary')
      const dataSlice = dataSliceParam(c.dataSlice)
      return withContext(
        ledger.tokenAccountsByOwner(ownerAddress, program, mint).map((account) => ({
          pubkey: account.address,
          account: encodeAccount(account, encoding, dataSlice, (m) => ledger.decimalsOf(m)),
        })),
      )
    },
    getTokenAccountBalance: ([address]) => withContext(tokenAmountOf(address)),
    getTokenSupply: ([address]) => {
      const account = ledger.getAccount(addressParam(address))
      if (!account) throw invalidParams('Invalid param: could not find mint')
      const mint = readMint(account)
      if (!mint) throw invalidParams('Invalid param: not a Token mint')
      return withContext(uiTokenAmount(mint.supply, mint.decimals))
    },
    getMinimumBalanceForRentExemption: ([length]) =>
      ledger.svm.minimumBalanceForRentExemption(unsignedIntegerParam(length ?? 0, 'the data length')),
    getFeeForMessage: ([message]) => {
      if (typeof message !== 'string')
        throw invalidParams('Invalid params: the message must be a base64 string')
      let decoded: DecodedMessage
      try {
        decoded = getCompiledTransactionMessageDecoder().decode(
          Buffer.from(message, 'base64'),
        ) as DecodedMessage
      } catch {
        throw invalidParams('Invalid params: the message is not a valid transaction message')
      }
      if (decoded.version !== 'legacy' && decoded.version !== 0) {
        throw invalidParams('Invalid params: unsupported message version')
      }
      return withContext(ledger.isBlockhashValid(decoded.lifetimeToken) ? estimateFee(decoded) : null)
    },
    getRecentPrioritizationFees: () => [],
    requestAirdrop: ([address, amount]) =>
      ledger.airdrop(addressParam(address), unsignedIntegerParam(amount, 'the lamports')),
    simulateTransaction: ([transaction, config]) => {
      const c = configParam(config)
      const sigVerify = c.sigVerify === true
      const replaceRecentBlockhash = c.replaceRecentBlockhash === true
      if (sigVerify && replaceRecentBlockhash) {
        throw invalidParams('Invalid params: sigVerify may not be used with replaceRecentBlockhash')
      }
      let addresses: Address[] = []
      let encoding: AccountEncoding = 'base64'
      const accounts = c.accounts === undefined || c.accounts === null ? undefined : configParam(c.accounts)
      if (accounts) {
        if (!Array.isArray(accounts.addresses))
          throw invalidParams('Invalid params: accounts.addresses must be an array')
        addresses = accounts.addresses.map((a) => addressParam(a))
        encoding = accountEncoding(accounts.encoding, 'base64')
        if (encoding !== 'base64' && encoding !== 'jsonParsed') {
          throw invalidParams('Invalid params: base58 encoding not supported for simulated accounts')
        }
      }
      const decoded = decodeTransaction(transactionParamBytes(transaction, c.encoding))
      const outcome = ledger.simulate(decoded, { sigVerify, replaceRecentBlockhash, accounts: addresses })
      const { accounts: after, innerInstructions, ...rest } = outcome
      return withContext({
        ...rest,
        accounts: accounts
          ? after.map((account) =>
              account ? encodeAccount(account, encoding, undefined, (m) => ledger.decimalsOf(m)) : null,
            )
          : null,
        innerInstructions: c.innerInstructions === true ? innerInstructions : null,
      })
    },
    sendTransaction: ([transaction, config]) => {
      const c = configParam(config)
      const decoded = decodeTransaction(transactionParamBytes(transaction, c.encoding))
      return ledger.send(decoded, { skipPreflight: c.skipPreflight === true })
    },
    getSignatureStatuses: ([signatures]) => {
      if (!Array.isArray(signatures)) throw invalidParams('Invalid params: expected an array of signatures')
      if (signatures.length > MAX_SIGNATURE_STATUSES) {
        throw invalidParams(`Invalid params: too many inputs provided; max ${MAX_SIGNATURE_STATUSES}`)
      }
      return withContext(
        signatures.map((signature) => {
          const record = ledger.record(signatureParam(signature))
          return record ? statusJson(record) : null
        }),
      )
    },
    getTransaction: ([signature, config]) => {
      const c = typeof config === 'string' ? { encoding: config } : configParam(config)
      const encoding = c.encoding ?? 'json'
      if (encoding !== 'json' && encoding !== 'base64' && encoding !== 'base58') {
        throw invalidParams(
          `Invalid params: unsupported encoding ${JSON.stringify(encoding)}; use json or base64`,
        )
      }
      const record = ledger.record(signatureParam(signature))
      if (!record) return null
      const maxVersion = c.maxSupportedTransactionVersion
      if (record.decoded.message.version === 0 && (maxVersion === undefined || maxVersion === null)) {
        throw new JsonRpcError(
          -32015,
          'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
        )
      }
      return transactionJson(record, encoding, maxVersion !== undefined && maxVersion !== null)
    },
  }
}
