import {
  type Address,
  type Base64EncodedBytes,
  getBase64Encoder,
  type Signature,
  address as toAddress,
} from '@solana/kit'
import { BaseError } from '../../errors/index.js'
import type { SolanaChainContext } from './chain.js'
import { splAssetId } from './clusters.js'
import { decodeMint, decodeTokenAccount, type MintFacts } from './mint.js'
import { programIds, tokenProgramOf } from './programs.js'

const base64 = getBase64Encoder()

/** The bytes of a base64 account answer (`[data, 'base64']`). */
export function accountBytes(data: readonly [string, string] | readonly unknown[]): Uint8Array {
  return new Uint8Array(base64.encode(String(data[0])))
}

/** SOL balance in lamports. */
export async function solBalance(chain: SolanaChainContext, owner: string): Promise<bigint> {
  const { value } = await chain.rpc.getBalance(toAddress(owner)).send()
  return BigInt(value)
}

/** One mint's total in an owner's token accounts. */
export type SplBalance = {
  mint: string
  program: 'spl-token' | 'token-2022'
  raw: bigint
  decimals: number
  assetId: string
}

/**
 * Every SPL and Token-2022 balance of an owner in two RPC calls (`getTokenAccountsByOwner` per token program, in
 * parallel), whatever the number of mints; `mints` narrows the answer (a mint held nowhere answers 0 with decimals
 * read in one more call only when asked for).
 */
export async function splBalances(
  chain: SolanaChainContext,
  owner: string,
  mints?: readonly string[] | undefined,
): Promise<SplBalance[]> {
  const ownerAddress = toAddress(owner)
  const [classic, t22] = await Promise.all(
    [programIds.token, programIds.token2022].map((programId) =>
      chain.rpc
        .getTokenAccountsByOwner(ownerAddress, { programId: toAddress(programId) }, { encoding: 'base64' })
        .send(),
    ),
  )
  const byMint = new Map<string, { program: 'spl-token' | 'token-2022'; raw: bigint }>()
  for (const [program, answer] of [
    ['spl-token', classic],
    ['token-2022', t22],
  ] as const) {
    for (const entry of answer?.value ?? []) {
      const account = decodeTokenAccount(accountBytes(entry.account.data as unknown as [string, string]))
      if (!account || account.owner !== owner) continue
      const prior = byMint.get(account.mint)
      byMint.set(account.mint, { program, raw: (prior?.raw ?? 0n) + account.amount })
    }
  }
  const wanted = mints ? [...new Set(mints)] : [...byMint.keys()]
  const facts = await mintFactsMany(chain, wanted)
  const out: SplBalance[] = []
  for (const mint of wanted) {
    const f = facts.get(mint)
    if (!f) continue // not a mint: left out, never guessed
    out.push({
      mint,
      program: f.program,
      raw: byMint.get(mint)?.raw ?? 0n,
      decimals: f.decimals,
      assetId: splAssetId(chain.caip2, mint),
    })
  }
  return out
}

/** Facts of several mints in one `getMultipleAccounts` call (100 per call, the RPC's limit). */
export async function mintFactsMany(
  chain: SolanaChainContext,
  mints: readonly string[],
): Promise<Map<string, MintFacts>> {
  const out = new Map<string, MintFacts>()
  for (let i = 0; i < mints.length; i += 100) {
    const slice = mints.slice(i, i + 100)
    const { value } = await chain.rpc
      .getMultipleAccounts(
        slice.map((m) => toAddress(m)),
        { encoding: 'base64' },
      )
      .send()
    value.forEach((account, j) => {
      const mint = slice[j]
      if (!account || !mint) return
      const program = tokenProgramOf(account.owner)
      if (!program) return
      const facts = decodeMint(program, accountBytes(account.data as unknown as [string, string]))
      if (facts) out.set(mint, facts)
    })
  }
  return out
}

/**
 * A mint's facts, read now (no cache: a Token-2022 mint's fee or pause state can change).
 * @throws {BaseError} TOKEN_NOT_SUPPORTED: no account, or not a mint of SPL Token or Token-2022
 */
export async function mintFacts(chain: SolanaChainContext, mint: string): Promise<MintFacts> {
  const facts = (await mintFactsMany(chain, [mint])).get(mint)
  if (!facts)
    throw new BaseError('TOKEN_NOT_SUPPORTED', `${mint} is not a token mint on ${chain.name}.`, {
      field: 'token',
      metaMessages: [
        'Pass the mint address of an SPL Token or Token-2022 token (not a token account or wallet).',
      ],
    })
  return facts
}

/** What `getTransaction` answers, as far as the gateway reads it. */
export type SolanaTransactionRecord = {
  slot: bigint
  blockTime: bigint | null
  err: unknown
  fee: bigint
  accountKeys: string[]
  preBalances: bigint[]
  postBalances: bigint[]
  tokenChanges: { owner: string; mint: string; raw: bigint; decimals: number }[]
  programs: string[]
}

/** A transaction by signature with its balance changes; `null` when the cluster does not know it. */
export async function readTransaction(
  chain: SolanaChainContext,
  signature: string,
): Promise<SolanaTransactionRecord | null> {
  const tx = await chain.rpc
    .getTransaction(signature as Signature, { encoding: 'json', maxSupportedTransactionVersion: 0 })
    .send()
  if (!tx) return null
  const message = tx.transaction.message as unknown as {
    accountKeys: string[]
    instructions: { programIdIndex: number }[]
  }
  const meta = tx.meta
  const keys = [...message.accountKeys.map(String)]
  const loaded = (meta as unknown as { loadedAddresses?: { writable: string[]; readonly: string[] } } | null)
    ?.loadedAddresses
  if (loaded) keys.push(...loaded.writable.map(String), ...loaded.readonly.map(String))
  const token = new Map<string, { owner: string; mint: string; raw: bigint; decimals: number }>()
  const add = (
    list:
      | readonly {
          owner?: string | undefined
          mint: string
          uiTokenAmount: { amount: string; decimals: number }
        }[]
      | null
      | undefined,
    sign: 1n | -1n,
  ) => {
    for (const b of list ?? []) {
      const owner = String(b.owner ?? '')
      const k = `${owner}/${b.mint}`
      const prior = token.get(k) ?? {
        owner,
        mint: String(b.mint),
        raw: 0n,
        decimals: b.uiTokenAmount.decimals,
      }
      prior.raw += sign * BigInt(b.uiTokenAmount.amount)
      token.set(k, prior)
    }
  }
  add(meta?.preTokenBalances as never, -1n)
  add(meta?.postTokenBalances as never, 1n)
  return {
    slot: BigInt(tx.slot),
    blockTime: tx.blockTime == null ? null : BigInt(tx.blockTime),
    err: meta?.err ?? null,
    fee: BigInt(meta?.fee ?? 0),
    accountKeys: keys,
    preBalances: (meta?.preBalances ?? []).map((v) => BigInt(v)),
    postBalances: (meta?.postBalances ?? []).map((v) => BigInt(v)),
    tokenChanges: [...token.values()].filter((t) => t.raw !== 0n),
    programs: [...new Set(message.instructions.map((ix) => keys[ix.programIdIndex] ?? '?'))],
  }
}

export type { Address, Base64EncodedBytes }
