import {
  AccountRole,
  type Address,
  getAddressEncoder,
  getU16Encoder,
  getU64Encoder,
  type Instruction,
  type TransactionSigner,
} from '@solana/kit'
import { getCreateAccountInstruction, getTransferSolInstruction } from '@solana-program/system'
import {
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getInitializeMint2Instruction,
  getMintToCheckedInstruction,
} from '@solana-program/token'
import { devnetKeyPair, type SolanaDevnetKeyPair } from './keys.js'
import type { LocalLedger } from './localLedger.js'
import { TOKEN_2022_PROGRAM, TOKEN_PROGRAM } from './tokenState.js'

/** Symbols of the devnet's token fixtures. */
export type SolanaDevnetTokenSymbol = 'USDC' | 'FEE' | 'PDEL'

/**
 * What the Solana devnet sets up at start (DESIGN §4), as plain JSON: funded accounts from a fixed seed, a
 * USDC-like SPL mint, a Token-2022 mint with a transfer fee and one with a permanent delegate. The same addresses
 * on every start. Amounts: `lamports` and `maxFee` are raw base units; `balances` are display strings.
 *
 * @example
 * const { accounts, tokens } = devnet.fixtures
 * await rpc.getTokenAccountsByOwner(accounts[0].address, { mint: tokens.USDC.mint }, { encoding: 'jsonParsed' }).send()
 */
export type SolanaDevnetFixtures = {
  chain: 'solana-local'
  caip2: string
  genesisHash: string
  rpcUrl: string
  /**
   * Funded accounts from `sha256('airlock solana devnet account ' + i)`; accounts[0] (100 SOL) is the gateway's
   * demo wallet, accounts 1–3 hold 10 SOL. `secretKey` is base58 of the 64-byte keypair (seed ‖ public key).
   */
  accounts: { address: string; secretKey: string; lamports: string }[]
  tokens: {
    /** SPL Token, 6 decimals; the mint authority can also freeze. */
    USDC: { mint: string; decimals: 6; program: 'spl-token' }
    /** Token-2022 with a transfer fee of 1 % capped at 5 tokens (`maxFee` in base units: '5000000'). */
    FEE: { mint: string; decimals: 6; program: 'token-2022'; transferFeeBps: 100; maxFee: string }
    /** Token-2022 whose permanent delegate (the mint authority) can move or burn anyone's balance. */
    PDEL: { mint: string; decimals: 6; program: 'token-2022'; permanentDelegate: string }
  }
  /**
   * Mints the three tokens, holds FEE's fee authorities and is PDEL's permanent delegate. Not one of `accounts`;
   * its key is here so tests can stage what an issuer can do.
   */
  mintAuthority: { address: string; secretKey: string }
  /** Token balances at start, by account address, as display strings ('10000', '0'). */
  balances: Record<string, Record<SolanaDevnetTokenSymbol, string>>
}

/** The fixture keypairs, all derived from fixed labels. */
export type SolanaFixtureKeys = {
  faucet: SolanaDevnetKeyPair
  mintAuthority: SolanaDevnetKeyPair
  accounts: SolanaDevnetKeyPair[]
  mints: Record<SolanaDevnetTokenSymbol, SolanaDevnetKeyPair>
}

const LAMPORTS_PER_SOL = 1_000_000_000n
const ACCOUNT_LAMPORTS = [100n, 10n, 10n, 10n].map((sol) => sol * LAMPORTS_PER_SOL)
const MINT_AUTHORITY_LAMPORTS = 10n * LAMPORTS_PER_SOL
const DECIMALS = 6
const UNIT = 10n ** BigInt(DECIMALS)
const FEE_BPS = 100
const FEE_MAX = 5n * UNIT
// Token-2022 account space: the 165-byte base, one account-type byte, then per extension a 2-byte type, a
// 2-byte length and the value.
const TRANSFER_FEE_MINT_SPACE = 165 + 1 + 4 + 108
const PERMANENT_DELEGATE_MINT_SPACE = 165 + 1 + 4 + 32
const MINT_SPACE = 82
/** Starting token balances in display units: account index → symbol → amount. */
const MINTED: { account: number; symbol: SolanaDevnetTokenSymbol; amount: bigint }[] = [
  { account: 0, symbol: 'USDC', amount: 10_000n },
  { account: 0, symbol: 'FEE', amount: 1_000n },
  { account: 0, symbol: 'PDEL', amount: 1_000n },
  { account: 1, symbol: 'USDC', amount: 100n },
]
const PROGRAM_OF: Record<SolanaDevnetTokenSymbol, Address> = {
  USDC: TOKEN_PROGRAM,
  FEE: TOKEN_2022_PROGRAM,
  PDEL: TOKEN_2022_PROGRAM,
}

/**
 * Derives every fixture keypair (faucet, mint authority, 4 accounts, 3 mints) from its label.
 *
 * @example
 * const keys = await solanaFixtureKeys()
 */
export async function solanaFixtureKeys(): Promise<SolanaFixtureKeys> {
  const [faucet, mintAuthority, usdc, fee, pdel, ...accounts] = await Promise.all([
    devnetKeyPair('airlock solana devnet faucet'),
    devnetKeyPair('airlock solana devnet mint authority'),
    devnetKeyPair('airlock solana devnet mint USDC'),
    devnetKeyPair('airlock solana devnet mint FEE'),
    devnetKeyPair('airlock solana devnet mint PDEL'),
    ...ACCOUNT_LAMPORTS.map((_, i) => devnetKeyPair(`airlock solana devnet account ${i}`)),
  ])
  return {
    faucet: faucet!,
    mintAuthority: mintAuthority!,
    accounts,
    mints: { USDC: usdc!, FEE: fee!, PDEL: pdel! },
  }
}

/** Token-2022 InitializeTransferFeeConfig: [26, 0, COption config authority, COption withdraw authority, u16 bps, u64 max]. */
function initializeTransferFeeConfig(mint: Address, authority: Address): Instruction {
  const key = getAddressEncoder().encode(authority)
  return {
    programAddress: TOKEN_2022_PROGRAM,
    accounts: [{ address: mint, role: AccountRole.WRITABLE }],
    data: new Uint8Array([
      26,
      0,
      1,
      ...key,
      1,
      ...key,
      ...getU16Encoder().encode(FEE_BPS),
      ...getU64Encoder().encode(FEE_MAX),
    ]),
  }
}

/** Token-2022 InitializePermanentDelegate: [35, delegate]. */
function initializePermanentDelegate(mint: Address, delegate: Address): Instruction {
  return {
    programAddress: TOKEN_2022_PROGRAM,
    accounts: [{ address: mint, role: AccountRole.WRITABLE }],
    data: new Uint8Array([35, ...getAddressEncoder().encode(delegate)]),
  }
}

function createMintAccount(
  ledger: LocalLedger,
  payer: TransactionSigner,
  mint: TransactionSigner,
  space: number,
  program: Address,
): Instruction {
  return getCreateAccountInstruction({
    payer,
    newAccount: mint,
    lamports: ledger.svm.minimumBalanceForRentExemption(BigInt(space)),
    space,
    programAddress: program,
  })
}

/**
 * Funds the accounts and creates the token fixtures with real transactions on the ledger (system transfers,
 * createAccount, Token-2022 extension inits, InitializeMint2, idempotent ATA creation, MintToChecked), so the
 * token programs own real accounts.
 *
 * @example
 * const parts = await deploySolanaFixtures(ledger, await solanaFixtureKeys())
 * @throws {Error} a fixture transaction did not land or failed
 */
export async function deploySolanaFixtures(
  ledger: LocalLedger,
  keys: SolanaFixtureKeys,
): Promise<Pick<SolanaDevnetFixtures, 'accounts' | 'tokens' | 'mintAuthority' | 'balances'>> {
  const { faucet, mintAuthority, accounts, mints } = keys
  const authority = mintAuthority.signer

  await ledger.executeInstructions(faucet.signer, [
    ...accounts.map((account, i) =>
      getTransferSolInstruction({
        source: faucet.signer,
        destination: account.address,
        amount: ACCOUNT_LAMPORTS[i]!,
      }),
    ),
    getTransferSolInstruction({
      source: faucet.signer,
      destination: mintAuthority.address,
      amount: MINT_AUTHORITY_LAMPORTS,
    }),
  ])

  await ledger.executeInstructions(authority, [
    createMintAccount(ledger, authority, mints.USDC.signer, MINT_SPACE, TOKEN_PROGRAM),
    getInitializeMint2Instruction({
      mint: mints.USDC.address,
      decimals: DECIMALS,
      mintAuthority: authority.address,
      freezeAuthority: authority.address,
    }),
    createMintAccount(ledger, authority, mints.FEE.signer, TRANSFER_FEE_MINT_SPACE, TOKEN_2022_PROGRAM),
    initializeTransferFeeConfig(mints.FEE.address, authority.address),
    getInitializeMint2Instruction(
      {
        mint: mints.FEE.address,
        decimals: DECIMALS,
        mintAuthority: authority.address,
        freezeAuthority: null,
      },
      { programAddress: TOKEN_2022_PROGRAM },
    ),
    createMintAccount(
      ledger,
      authority,
      mints.PDEL.signer,
      PERMANENT_DELEGATE_MINT_SPACE,
      TOKEN_2022_PROGRAM,
    ),
    initializePermanentDelegate(mints.PDEL.address, authority.address),
    getInitializeMint2Instruction(
      {
        mint: mints.PDEL.address,
        decimals: DECIMALS,
        mintAuthority: authority.address,
        freezeAuthority: null,
      },
      { programAddress: TOKEN_2022_PROGRAM },
    ),
  ])

  const minting: Instruction[] = []
  for (const { account, symbol, amount } of MINTED) {
    const owner = accounts[account]!.address
    const mint = mints[symbol].address
    const tokenProgram = PROGRAM_OF[symbol]
    const [ata] = await findAssociatedTokenPda({ owner, mint, tokenProgram })
    minting.push(
      getCreateAssociatedTokenIdempotentInstruction({ payer: authority, ata, owner, mint, tokenProgram }),
      getMintToCheckedInstruction(
        { mint, token: ata, mintAuthority: authority, amount: amount * UNIT, decimals: DECIMALS },
        { programAddress: tokenProgram },
      ),
    )
  }
  await ledger.executeInstructions(authority, minting)

  const balances: SolanaDevnetFixtures['balances'] = {}
  for (const account of accounts) balances[account.address] = { USDC: '0', FEE: '0', PDEL: '0' }
  for (const { account, symbol, amount } of MINTED)
    balances[accounts[account]!.address]![symbol] = amount.toString()

  return {
    accounts: accounts.map((account, i) => ({
      address: account.address,
      secretKey: account.secretKey,
      lamports: ACCOUNT_LAMPORTS[i]!.toString(),
    })),
    tokens: {
      USDC: { mint: mints.USDC.address, decimals: 6, program: 'spl-token' },
      FEE: {
        mint: mints.FEE.address,
        decimals: 6,
        program: 'token-2022',
        transferFeeBps: 100,
        maxFee: FEE_MAX.toString(),
      },
      PDEL: {
        mint: mints.PDEL.address,
        decimals: 6,
        program: 'token-2022',
        permanentDelegate: authority.address,
      },
    },
    mintAuthority: { address: mintAuthority.address, secretKey: mintAuthority.secretKey },
    balances,
  }
}
