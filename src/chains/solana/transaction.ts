import {
  address,
  appendTransactionMessageInstructions,
  type Blockhash,
  compileTransaction,
  createNoopSigner,
  createTransactionMessage,
  getBase58Decoder,
  getBase64Decoder,
  getBase64EncodedWireTransaction,
  getCompiledTransactionMessageDecoder,
  type Instruction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  type Transaction,
} from '@solana/kit'
import {
  getSetComputeUnitLimitInstruction,
  getSetComputeUnitPriceInstruction,
  getSetLoadedAccountsDataSizeLimitInstruction,
} from '@solana-program/compute-budget'
import { getTransferSolInstruction } from '@solana-program/system'
import {
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getTransferCheckedInstruction,
} from '@solana-program/token'
import { programIds, programNames, type TokenProgram, tokenProgramId } from './programs.js'

/** A transfer from the gateway wallet, in base units; `mint` absent for SOL. */
export type SolanaTransferRequest = {
  wallet: string
  to: string
  amount: bigint
  mint?: { address: string; program: TokenProgram; decimals: number } | undefined
  /**
   * 32 bits that make this transfer's message unique: two identical transfers signed on one blockhash would be one
   * transaction (a cluster keeps one per signature). Spent on the compute-unit limit (low 12 bits) and the loaded
   * account data limit (high 20 bits), neither of which changes the fee or what the transaction does.
   */
  salt: number
}

/** The instructions of a transfer and the token accounts it touches. */
export type SolanaTransferPlan = {
  instructions: Instruction[]
  /** The wallet's token account of the mint (its balance is what the simulation measures). */
  source?: string | undefined
  /** The recipient's associated token account (created in the same transaction when missing). */
  destination?: string | undefined
}

/** The compute units a transfer asks for (SOL ~450, a token transfer with an account creation ~30,000). */
const computeUnits = 60_000
/** The account data a transfer may load (programs and accounts; a token transfer loads well under 1 MiB). */
const loadedDataBytes = 4 * 1024 * 1024

/** The associated token account of `owner` for `mint`. */
export async function associatedTokenAccount(
  owner: string,
  mint: string,
  program: TokenProgram,
): Promise<string> {
  const [ata] = await findAssociatedTokenPda({
    owner: address(owner),
    mint: address(mint),
    tokenProgram: address(tokenProgramId(program)),
  })
  return ata
}

/**
 * The instructions of a transfer: a compute-unit limit (a fixed, small budget; no priority fee), then a SOL
 * transfer, or the recipient's associated token account created if missing (idempotent) and `TransferChecked`
 * (the decimals are checked on chain, so a wrong scale cannot move 10^n times the amount).
 *
 * @example const plan = await transferInstructions({ wallet, to, amount: 1_500_000n, mint: { address: usdc, program: 'spl-token', decimals: 6 } })
 */
export async function transferInstructions(request: SolanaTransferRequest): Promise<SolanaTransferPlan> {
  const payer = createNoopSigner(address(request.wallet))
  const salt = request.salt >>> 0
  const budget = [
    getSetComputeUnitLimitInstruction({ units: computeUnits + (salt & 0xfff) }),
    getSetComputeUnitPriceInstruction({ microLamports: 0n }),
    getSetLoadedAccountsDataSizeLimitInstruction({ accountDataSizeLimit: loadedDataBytes + (salt >>> 12) }),
  ]
  if (!request.mint)
    return {
      instructions: [
        ...budget,
        getTransferSolInstruction({
          source: payer,
          destination: address(request.to),
          amount: request.amount,
        }),
      ],
    }
  const { mint } = request
  const programAddress = address(tokenProgramId(mint.program))
  const [source, destination] = await Promise.all([
    associatedTokenAccount(request.wallet, mint.address, mint.program),
    associatedTokenAccount(request.to, mint.address, mint.program),
  ])
  return {
    source,
    destination,
    instructions: [
      ...budget,
      getCreateAssociatedTokenIdempotentInstruction({
        payer,
        ata: address(destination),
        owner: address(request.to),
        mint: address(mint.address),
        tokenProgram: programAddress,
      }),
      getTransferCheckedInstruction(
        {
          source: address(source),
          mint: address(mint.address),
          destination: address(destination),
          authority: payer,
          amount: request.amount,
          decimals: mint.decimals,
        },
        { programAddress },
      ),
    ],
  }
}

/** A compiled transaction: what is simulated, what is signed (its message bytes), and how it is sent. */
export type CompiledSolanaTransaction = {
  transaction: Transaction
  /** base64 of the message bytes the signature covers. */
  message: string
  /** The wire transaction with an empty signature (for simulation and for an external wallet). */
  unsignedWire: string
  blockhash: string
  lastValidBlockHeight: bigint
}

/** Compiles instructions for the wallet as fee payer, bound to a blockhash. */
export function compileSolana(
  wallet: string,
  instructions: readonly Instruction[],
  lifetime: { blockhash: string; lastValidBlockHeight: bigint },
): CompiledSolanaTransaction {
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(createNoopSigner(address(wallet)), m),
    (m) =>
      setTransactionMessageLifetimeUsingBlockhash(
        { blockhash: lifetime.blockhash as Blockhash, lastValidBlockHeight: lifetime.lastValidBlockHeight },
        m,
      ),
    (m) => appendTransactionMessageInstructions(instructions, m),
  )
  const transaction = compileTransaction(message)
  return {
    transaction,
    message: getBase64Decoder().decode(transaction.messageBytes),
    unsignedWire: getBase64EncodedWireTransaction(transaction),
    blockhash: lifetime.blockhash,
    lastValidBlockHeight: lifetime.lastValidBlockHeight,
  }
}

/** The transaction with the wallet's signature in place, as the wire format sends it (base64). */
export function withSignature(transaction: Transaction, wallet: string, signature: Uint8Array): string {
  const signed: Transaction = {
    ...transaction,
    signatures: { ...transaction.signatures, [address(wallet)]: signature as never },
  }
  return getBase64EncodedWireTransaction(signed)
}

/** The transaction's id: its first signature, base58. */
export function signatureOf(signature: Uint8Array): string {
  return getBase58Decoder().decode(signature)
}

/** What a compiled message's own instructions do, as policy facts (ADVERSARIAL 62). */
export type InstructionFacts = {
  /** Programs the message calls, well-known ones by name (see `programNames`). */
  programs: string[]
  /** Instructions that change an account's authority or owner (token SetAuthority, system Assign). */
  authorityChanges: number
  /** Instructions that close an account (token CloseAccount). */
  accountCloses: number
}

/**
 * Decodes a compiled message's instructions into policy facts: the programs it calls, and any authority change or
 * account close by the token programs or the system program.
 *
 * @example instructionFacts(compiled.transaction.messageBytes).programs // ['compute-budget', 'system']
 */
export function instructionFacts(messageBytes: Uint8Array): InstructionFacts {
  // Legacy and v0 messages (what the gateway builds) list instructions by program index.
  const message = getCompiledTransactionMessageDecoder().decode(messageBytes) as unknown as {
    staticAccounts: string[]
    instructions?: { programAddressIndex: number; data?: Uint8Array }[]
  }
  const keys = message.staticAccounts.map(String)
  const programs: string[] = []
  let authorityChanges = 0
  let accountCloses = 0
  for (const ix of message.instructions ?? []) {
    const program = keys[ix.programAddressIndex] ?? 'unknown'
    const named = programNames[program] ?? program
    if (!programs.includes(named)) programs.push(named)
    const data = ix.data ?? new Uint8Array()
    if (program === programIds.token || program === programIds.token2022) {
      if (data[0] === 6) authorityChanges++ // SetAuthority
      if (data[0] === 9) accountCloses++ // CloseAccount
    }
    if (program === programIds.system && data.length >= 4) {
      const kind = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true)
      if (kind === 1 || kind === 10 || kind === 7) authorityChanges++ // Assign, AssignWithSeed, AuthorizeNonceAccount
    }
  }
  return { programs, authorityChanges, accountCloses }
}

/** Programs a simulation's logs show invoked (`Program <id> invoke [n]`), inner calls included. */
export function invokedPrograms(logs: readonly string[]): string[] {
  const out: string[] = []
  for (const line of logs) {
    const m = /^Program ([1-9A-HJ-NP-Za-km-z]{32,44}) invoke \[\d+\]$/.exec(line)
    if (!m) continue
    const named = programNames[m[1] as string] ?? (m[1] as string)
    if (!out.includes(named)) out.push(named)
  }
  return out
}
