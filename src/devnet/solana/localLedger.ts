import type { Instruction } from '@solana/kit'
import {
  type Address,
  appendTransactionMessageInstructions,
  type Blockhash,
  createTransactionMessage,
  getAddressDecoder,
  getBase58Decoder,
  getTransactionEncoder,
  type KeyPairSigner,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type TransactionMessage,
  type TransactionMessageWithFeePayer,
  type TransactionSigner,
} from '@solana/kit'
import { getSetComputeUnitLimitInstruction } from '@solana-program/compute-budget'
import { getTransferSolInstruction } from '@solana-program/system'
import { FailedTransactionMetadata, LiteSVM, type TransactionMetadata } from 'litesvm'
import type { DevnetAccount } from './accountJson.js'
import { JsonRpcError } from './jsonRpcError.js'
import { readMint, readTokenAccount, type UiTokenAmount, uiTokenAmount } from './tokenState.js'
import {
  type DecodedTransaction,
  decodeTransaction,
  estimateFee,
  withRecentBlockhash,
} from './transactionBytes.js'
import {
  describeTransactionError,
  type TransactionErrorJson,
  transactionErrorJson,
} from './transactionError.js'

/** How many block heights a blockhash stays usable after it is issued (agave's MAX_PROCESSING_AGE). */
export const BLOCKHASH_VALID_HEIGHTS = 150n

/** A token balance in a transaction's meta (`preTokenBalances` / `postTokenBalances`). */
export type TokenBalanceJson = {
  accountIndex: number
  mint: Address
  owner: Address
  programId: Address
  uiTokenAmount: UiTokenAmount
}

/** An inner instruction group in the RPC's JSON form. */
export type InnerInstructionsJson = {
  index: number
  instructions: { programIdIndex: number; accounts: number[]; data: string; stackHeight: number }[]
}

/** What one executed (landed) transaction left: enough to answer getSignatureStatuses and getTransaction. */
export type TransactionRecord = {
  decoded: DecodedTransaction
  slot: bigint
  blockTime: number
  err: TransactionErrorJson | null
  fee: bigint
  loadedAddresses: { writable: Address[]; readonly: Address[] }
  preBalances: bigint[]
  postBalances: bigint[]
  preTokenBalances: TokenBalanceJson[]
  postTokenBalances: TokenBalanceJson[]
  logMessages: string[]
  innerInstructions: InnerInstructionsJson[]
  computeUnitsConsumed: bigint
  returnData: { programId: Address; data: [string, 'base64'] } | null
}

/** The outcome of a simulation, before the RPC encodes its accounts. */
export type SimulationOutcome = {
  err: TransactionErrorJson | null
  logs: string[]
  unitsConsumed: bigint
  returnData: TransactionRecord['returnData']
  innerInstructions: InnerInstructionsJson[]
  fee: bigint | null
  loadedAddresses: TransactionRecord['loadedAddresses']
  preBalances: bigint[]
  postBalances: bigint[] | null
  preTokenBalances: TokenBalanceJson[]
  postTokenBalances: TokenBalanceJson[] | null
  replacementBlockhash: { blockhash: string; lastValidBlockHeight: bigint } | null
  /** The requested accounts after the transaction (before it, when it failed). */
  accounts: (DevnetAccount | null)[]
}

type AccountLookup = (address: Address) => DevnetAccount | null

const addressDecoder = getAddressDecoder()
const base58 = getBase58Decoder()
const ALT_HEADER_BYTES = 56

function unixNow(): bigint {
  return BigInt(Math.floor(Date.now() / 1000))
}

/** The fee litesvm charged, read from its metadata (the binding has no accessor for it). */
function chargedFee(result: TransactionMetadata | FailedTransactionMetadata): bigint | null {
  const text = result.toString()
  const match = /fee: (\d+)/.exec(text.slice(text.lastIndexOf('fee: ')))
  return match?.[1] ? BigInt(match[1]) : null
}

function innerInstructionsJson(meta: TransactionMetadata): InnerInstructionsJson[] {
  return meta
    .innerInstructions()
    .map((group, index) => ({
      index,
      instructions: group.map((inner) => {
        const compiled = inner.instruction()
        return {
          programIdIndex: compiled.programIdIndex(),
          accounts: [...compiled.accounts()],
          data: base58.decode(compiled.data()),
          stackHeight: inner.stackHeight(),
        }
      }),
    }))
    .filter((group) => group.instructions.length > 0)
}

function returnDataJson(meta: TransactionMetadata): TransactionRecord['returnData'] {
  const returnData = meta.returnData()
  const data = returnData.data()
  if (data.length === 0) return null
  return {
    programId: addressDecoder.decode(returnData.programId()),
    data: [Buffer.from(data).toString('base64'), 'base64'],
  }
}

/**
 * The chain behind the devnet's RPC: one litesvm instance plus what a validator adds around it — slots and block
 * heights, blockhash expiry after 150 heights, signature dedupe, a transaction history with pre/post balances, a
 * faucet, and test levers (expire the blockhash now, drop the next sends).
 *
 * @example
 * const ledger = await LocalLedger.create(faucet)
 * const signature = ledger.send(decodeTransaction(bytes), { skipPreflight: false })
 */
export class LocalLedger {
  readonly svm: LiteSVM
  /** Current slot; every landed transaction advances it by one. */
  slot = 1n
  /** Current block height; moves with the slot. */
  blockHeight = 1n
  transactionCount = 0n
  private issuedAt = 1n
  private dropBudget = 0
  private airdropNonce = 0
  private readonly records = new Map<string, TransactionRecord>()

  private constructor(
    svm: LiteSVM,
    private readonly faucet: KeyPairSigner,
  ) {
    this.svm = svm
  }

  /**
   * A fresh ledger whose faucet (which answers requestAirdrop) holds `faucetLamports`.
   *
   * @example
   * const ledger = LocalLedger.create(faucetSigner, 1_000_000_000_000_000n)
   */
  static create(faucet: KeyPairSigner, faucetLamports: bigint): LocalLedger {
    // litesvm's own history would answer AlreadyProcessed to simulations of landed transactions, which real
    // clusters simulate happily; the ledger dedupes sends by signature itself.
    const svm = new LiteSVM().withTransactionHistory(0n)
    const ledger = new LocalLedger(svm, faucet)
    ledger.setClock(ledger.slot)
    const funded = svm.airdrop(faucet.address, lamports(faucetLamports))
    if (!funded || funded instanceof FailedTransactionMetadata)
      throw new Error('litesvm refused to fund the faucet')
    return ledger
  }

  /** The blockhash to use now and the last block height at which a transaction using it can land. */
  latestBlockhash(): { blockhash: Blockhash; lastValidBlockHeight: bigint } {
    return {
      blockhash: this.svm.latestBlockhash(),
      lastValidBlockHeight: this.issuedAt + BLOCKHASH_VALID_HEIGHTS,
    }
  }

  isBlockhashValid(blockhash: string): boolean {
    return blockhash === this.svm.latestBlockhash()
  }

  /** Moves the block height past the current blockhash's last valid height and issues a new blockhash. */
  expireBlockhash(): void {
    const jump = this.issuedAt + BLOCKHASH_VALID_HEIGHTS + 1n - this.blockHeight
    this.blockHeight += jump
    this.slot += jump
    this.setClock(this.slot)
    this.rotateBlockhash()
  }

  /** The next `count` sendTransaction calls answer their signature and do nothing else. */
  dropNextSends(count: number): void {
    this.dropBudget += count
  }

  /** An account as the RPC shows it: null when absent or emptied to zero lamports. */
  getAccount: AccountLookup = (address) => {
    const account = this.svm.getAccount(address)
    if (!account.exists || account.lamports === 0n) return null
    return {
      address,
      lamports: account.lamports,
      programAddress: account.programAddress,
      executable: account.executable,
      data: account.data,
    }
  }

  /** Decimals of a mint, or undefined when `mint` is not one. */
  decimalsOf = (mint: Address, lookup: AccountLookup = this.getAccount): number | undefined => {
    const account = lookup(mint)
    return account ? readMint(account)?.decimals : undefined
  }

  /** Token accounts of `owner` under `program`, optionally of one mint only. */
  tokenAccountsByOwner(owner: Address, program: Address, mint?: Address): DevnetAccount[] {
    const out: DevnetAccount[] = []
    for (const account of this.svm.getProgramAccounts(program)) {
      const state = readTokenAccount(account)
      if (!state || state.owner !== owner || (mint && state.mint !== mint) || account.lamports === 0n)
        continue
      out.push(account)
    }
    return out
  }

  /** The status of a landed transaction; null for an unknown, dropped or never-landed one. */
  record(signature: string): TransactionRecord | null {
    return this.records.get(signature) ?? null
  }

  /**
   * Simulates without changing state.
   *
   * @example
   * const outcome = ledger.simulate(decoded, { sigVerify: false, replaceRecentBlockhash: true, accounts: [] })
   */
  simulate(
    decoded: DecodedTransaction,
    options: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts: readonly Address[] },
  ): SimulationOutcome {
    let transaction = decoded.transaction
    let replacementBlockhash: SimulationOutcome['replacementBlockhash'] = null
    if (options.replaceRecentBlockhash) {
      replacementBlockhash = this.latestBlockhash()
      transaction = withRecentBlockhash(transaction, replacementBlockhash.blockhash)
    }
    const { keys, loadedAddresses } = this.accountKeys(decoded)
    const preBalances = keys.map((key) => this.getAccount(key)?.lamports ?? 0n)
    const preTokenBalances = this.tokenBalances(keys, this.getAccount)
    const base = {
      loadedAddresses,
      preBalances,
      preTokenBalances,
      replacementBlockhash,
      innerInstructions: [],
      returnData: null,
    }
    let result: ReturnType<LiteSVM['simulateTransaction']>
    this.svm.withSigverify(options.sigVerify)
    try {
      result = this.svm.simulateTransaction(transaction)
    } catch (error) {
      // litesvm's binding throws (rather than answering SignatureFailure) when a signature is missing.
      if (!options.sigVerify) throw error
      return {
        ...base,
        err: 'SignatureFailure',
        logs: [],
        unitsConsumed: 0n,
        fee: null,
        postBalances: null,
        postTokenBalances: null,
        accounts: options.accounts.map(this.getAccount),
      }
    } finally {
      this.svm.withSigverify(true)
    }
    if (result instanceof FailedTransactionMetadata) {
      const meta = result.meta()
      const fee = chargedFee(result)
      return {
        ...base,
        err: transactionErrorJson(result.err()),
        logs: meta.logs(),
        unitsConsumed: meta.computeUnitsConsumed(),
        innerInstructions: innerInstructionsJson(meta),
        fee: fee === 0n ? null : fee,
        postBalances: null,
        postTokenBalances: null,
        accounts: options.accounts.map(this.getAccount),
      }
    }
    const meta = result.meta()
    const after = new Map(result.postAccounts().map((account) => [account.address, account]))
    const lookup: AccountLookup = (address) => {
      const account = after.get(address)
      if (!account) return this.getAccount(address)
      if (account.lamports === 0n) return null
      return account
    }
    return {
      ...base,
      err: null,
      logs: meta.logs(),
      unitsConsumed: meta.computeUnitsConsumed(),
      returnData: returnDataJson(meta),
      innerInstructions: innerInstructionsJson(meta),
      fee: chargedFee(meta) ?? estimateFee(decoded.message),
      postBalances: keys.map((key) => lookup(key)?.lamports ?? 0n),
      postTokenBalances: this.tokenBalances(keys, lookup),
      accounts: options.accounts.map(lookup),
    }
  }

  /**
   * sendTransaction: dedupes by signature, honours dropNextSends, runs the preflight simulation unless skipped,
   * then executes. A transaction that cannot land (bad blockhash, no fee payer funds) is dropped silently, as a
   * cluster drops it after an RPC accepted it with skipPreflight.
   *
   * @example
   * const signature = ledger.send(decoded, { skipPreflight: false })
   * @throws {JsonRpcError} -32003 bad signatures, -32002 preflight failure (data: the simulation result)
   */
  send(decoded: DecodedTransaction, { skipPreflight }: { skipPreflight: boolean }): string {
    if (this.records.has(decoded.signature)) return decoded.signature
    if (this.dropBudget > 0) {
      this.dropBudget -= 1
      return decoded.signature
    }
    if (!skipPreflight) {
      const outcome = this.simulate(decoded, { sigVerify: true, replaceRecentBlockhash: false, accounts: [] })
      if (outcome.err === 'SignatureFailure') {
        throw new JsonRpcError(-32003, 'Transaction signature verification failure')
      }
      if (outcome.err !== null) {
        const { accounts: _accounts, ...rest } = outcome
        throw new JsonRpcError(
          -32002,
          `Transaction simulation failed: ${describeTransactionError(outcome.err)}`,
          {
            ...rest,
            accounts: null,
          },
        )
      }
    }
    this.execute(decoded)
    return decoded.signature
  }

  /**
   * Executes a transaction for real. Returns its record when it landed (successfully or not: a failed
   * transaction that paid its fee is on chain), undefined when it could not land.
   *
   * @example
   * const record = ledger.execute(decodeTransaction(bytes))
   */
  execute(decoded: DecodedTransaction): TransactionRecord | undefined {
    const { keys, loadedAddresses } = this.accountKeys(decoded)
    const preBalances = keys.map((key) => this.getAccount(key)?.lamports ?? 0n)
    const preTokenBalances = this.tokenBalances(keys, this.getAccount)
    this.setClock(this.slot + 1n)
    let result: TransactionMetadata | FailedTransactionMetadata | undefined
    try {
      result = this.svm.sendTransaction(decoded.transaction)
    } catch {
      result = undefined // a missing signature: litesvm's binding throws
    }
    const postBalances = keys.map((key) => this.getAccount(key)?.lamports ?? 0n)
    const failed = result instanceof FailedTransactionMetadata
    // A failure before execution (blockhash, signatures, fee payer) charges nothing and leaves no trace.
    if (!result || (failed && (postBalances[0] ?? 0n) >= (preBalances[0] ?? 0n))) {
      this.setClock(this.slot)
      return undefined
    }
    this.slot += 1n
    this.blockHeight += 1n
    this.transactionCount += 1n
    const meta = result instanceof FailedTransactionMetadata ? result.meta() : result
    const record: TransactionRecord = {
      decoded,
      slot: this.slot,
      blockTime: Math.floor(Date.now() / 1000),
      err: result instanceof FailedTransactionMetadata ? transactionErrorJson(result.err()) : null,
      fee: chargedFee(result) ?? estimateFee(decoded.message),
      loadedAddresses,
      preBalances,
      postBalances,
      preTokenBalances,
      postTokenBalances: this.tokenBalances(keys, this.getAccount),
      logMessages: meta.logs(),
      innerInstructions: innerInstructionsJson(meta),
      computeUnitsConsumed: meta.computeUnitsConsumed(),
      returnData: returnDataJson(meta),
    }
    this.records.set(decoded.signature, record)
    if (this.blockHeight >= this.issuedAt + BLOCKHASH_VALID_HEIGHTS) this.rotateBlockhash()
    return record
  }

  /**
   * Signs `instructions` with `signers` (the first pays) on the current blockhash and executes them.
   *
   * @example
   * await ledger.executeInstructions(payer, [ix])
   * @throws {Error} the transaction did not land or failed
   */
  async executeInstructions(
    feePayer: TransactionSigner,
    instructions: readonly Instruction[],
  ): Promise<string> {
    const transaction = await this.sign(feePayer, instructions)
    const record = this.execute(transaction)
    if (!record) throw new Error('the transaction did not land')
    if (record.err !== null) {
      throw new Error(
        `the transaction failed: ${describeTransactionError(record.err)}\n${record.logMessages.join('\n')}`,
      )
    }
    return transaction.signature
  }

  /**
   * requestAirdrop: a transfer from the faucet, executed and recorded like any transaction.
   *
   * @example
   * const signature = await ledger.airdrop(address, 1_000_000_000n)
   * @throws {JsonRpcError} -32600 when the faucet transfer cannot land
   */
  async airdrop(to: Address, amount: bigint): Promise<string> {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.airdropNonce = (this.airdropNonce + 1) % 1_000_000
      // A distinct compute-unit limit keeps two equal airdrops on one blockhash from sharing a signature.
      const transaction = await this.sign(this.faucet, [
        getSetComputeUnitLimitInstruction({ units: 10_000 + this.airdropNonce }),
        getTransferSolInstruction({ source: this.faucet, destination: to, amount }),
      ])
      if (this.execute(transaction)) return transaction.signature
    }
    throw new JsonRpcError(-32600, 'airdrop request failed. This can happen when the rate limit is reached.')
  }

  private async sign(
    feePayer: TransactionSigner,
    instructions: readonly Instruction[],
  ): Promise<DecodedTransaction> {
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(feePayer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(this.latestBlockhash(), m),
      (m) => appendTransactionMessageInstructions(instructions, m),
    ) satisfies TransactionMessage & TransactionMessageWithFeePayer
    const signed = await signTransactionMessageWithSigners(message)
    return decodeTransaction(new Uint8Array(getTransactionEncoder().encode(signed)))
  }

  private rotateBlockhash(): void {
    this.svm.expireBlockhash()
    this.issuedAt = this.blockHeight
  }

  private setClock(slot: bigint): void {
    const clock = this.svm.getClock()
    clock.slot = slot
    clock.unixTimestamp = unixNow()
    this.svm.setClock(clock)
  }

  /** Static keys, then the addresses loaded from lookup tables (writable first), as the RPC lists them. */
  private accountKeys(decoded: DecodedTransaction): {
    keys: Address[]
    loadedAddresses: TransactionRecord['loadedAddresses']
  } {
    const loadedAddresses = { writable: [] as Address[], readonly: [] as Address[] }
    const lookups = decoded.message.version === 0 ? (decoded.message.addressTableLookups ?? []) : []
    for (const lookup of lookups) {
      const table = this.getAccount(lookup.lookupTableAddress)
      const addressAt = (index: number): Address | undefined => {
        const offset = ALT_HEADER_BYTES + index * 32
        if (!table || offset + 32 > table.data.length) return undefined
        return addressDecoder.decode(table.data.subarray(offset, offset + 32))
      }
      for (const index of lookup.writableIndexes) {
        const address = addressAt(index)
        if (address) loadedAddresses.writable.push(address)
      }
      for (const index of lookup.readonlyIndexes) {
        const address = addressAt(index)
        if (address) loadedAddresses.readonly.push(address)
      }
    }
    return {
      keys: [...decoded.message.staticAccounts, ...loadedAddresses.writable, ...loadedAddresses.readonly],
      loadedAddresses,
    }
  }

  private tokenBalances(keys: readonly Address[], lookup: AccountLookup): TokenBalanceJson[] {
    const out: TokenBalanceJson[] = []
    keys.forEach((key, accountIndex) => {
      const account = lookup(key)
      const state = account && readTokenAccount(account)
      if (!state) return
      const decimals = this.decimalsOf(state.mint, lookup)
      if (decimals === undefined) return
      out.push({
        accountIndex,
        mint: state.mint,
        owner: state.owner,
        programId: state.program,
        uiTokenAmount: uiTokenAmount(state.amount, decimals),
      })
    })
    return out
  }
}
