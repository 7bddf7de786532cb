import type { SolanaChainContext } from '../../chains/solana/chain.js'
import { type KnownMint, knownMints } from '../../chains/solana/knownMints.js'
import { mintRisks } from '../../chains/solana/mint.js'
import { programNames } from '../../chains/solana/programs.js'
import { mintFacts, readTransaction, solBalance, splBalances } from '../../chains/solana/reads.js'
import type { SolanaDevnetFixtures } from '../../devnet/solana/fixtures.js'
import { amountOut } from '../../schemas/amount.js'
import { untrustedText } from '../../untrusted/untrusted.js'

/** The SOL balance of an address, as get_balance answers it. */
export async function solanaBalance(chain: SolanaChainContext, owner: string) {
  const raw = await solBalance(chain, owner)
  return {
    chain: chain.name,
    caip2: chain.caip2,
    address: owner,
    symbol: 'SOL',
    decimals: 9,
    balance: amountOut(raw, 9),
  }
}

/** A token line as get_token_balances shows it; a known mint's symbol is the gateway's own (`verified`). */
function tokenLine(b: { mint: string; raw: bigint; decimals: number }, known: KnownMint | undefined) {
  return {
    token: b.mint,
    symbol: untrustedText(known?.symbol ?? '', { maxLength: 32 }),
    name: untrustedText(known?.symbol ?? '', { maxLength: 64 }),
    decimals: b.decimals,
    balance: amountOut(b.raw, b.decimals),
    verified: known !== undefined && known.decimals === b.decimals,
  }
}

/**
 * SOL and token balances in three RPC calls whatever the number of mints (the balance, then every token account
 * of the owner under SPL Token and Token-2022, plus one `getMultipleAccounts` for the mints' decimals): all held
 * tokens, or only `mints` (a mint held nowhere answers 0).
 */
export async function solanaTokenBalances(
  chain: SolanaChainContext,
  owner: string,
  mints: readonly string[] | undefined,
  devnet: SolanaDevnetFixtures | undefined,
) {
  const known = knownMints(chain, devnet)
  const [sol, tokens] = await Promise.all([solBalance(chain, owner), splBalances(chain, owner, mints)])
  return {
    chain: chain.name,
    caip2: chain.caip2,
    address: owner,
    native: { symbol: 'SOL', decimals: 9, balance: amountOut(sol, 9) },
    tokens: tokens.map((b) =>
      tokenLine(
        b,
        known.find((k) => k.mint === b.mint),
      ),
    ),
  }
}

/** A mint's facts as get_token_info answers them: decimals, supply, authorities, Token-2022 risks, metadata. */
export async function solanaTokenInfo(
  chain: SolanaChainContext,
  mint: string,
  devnet: SolanaDevnetFixtures | undefined,
) {
  const facts = await mintFacts(chain, mint)
  const known = knownMints(chain, devnet).find((k) => k.mint === mint)
  const risks = mintRisks(facts.extensions)
  const meta = facts.extensions.metadata
  const warnings: string[] = []
  if (!known)
    warnings.push('Not in the gateway’s token registry: check the mint address with a trusted source.')
  if (risks.length)
    warnings.push(
      `Token-2022 risks: ${risks.join(', ')}. A permanent delegate can take holders' tokens; a transfer fee means the recipient gets less; a hook runs a program on every transfer.`,
    )
  if (facts.mintAuthority) warnings.push('The supply is not fixed: a mint authority can create more.')
  if (facts.freezeAuthority) warnings.push('A freeze authority can freeze any holder’s account.')
  const ext = facts.extensions
  return {
    chain: chain.name,
    caip2: chain.caip2,
    token: mint,
    name: untrustedText(known?.symbol ?? meta?.name ?? '', { maxLength: 64 }),
    symbol: untrustedText(known?.symbol ?? meta?.symbol ?? '', { maxLength: 32 }),
    decimals: facts.decimals,
    totalSupply: amountOut(facts.supply, facts.decimals),
    verified: known !== undefined,
    warnings,
    risks,
    solana: {
      program: facts.program,
      authorities: { mint: facts.mintAuthority, freeze: facts.freezeAuthority },
      extensions: {
        ...(ext.transferFee
          ? {
              transferFee: {
                basisPoints: ext.transferFee.basisPoints,
                maximumFee: amountOut(ext.transferFee.maximumFee, facts.decimals),
              },
            }
          : {}),
        ...(ext.permanentDelegate ? { permanentDelegate: ext.permanentDelegate } : {}),
        ...(ext.transferHook ? { transferHook: ext.transferHook } : {}),
        ...(ext.pausable ? { pausable: ext.pausable } : {}),
        ...(ext.defaultFrozen ? { defaultFrozen: true } : {}),
        ...(ext.closeAuthority ? { closeAuthority: ext.closeAuthority } : {}),
        ...(ext.other?.length ? { other: ext.other } : {}),
        // The TokenMetadata extension's URI: the issuer's text, marked untrusted like every name and symbol.
        ...(meta ? { metadataUri: untrustedText(meta.uri, { maxLength: 200 }) } : {}),
      },
    },
  }
}

/** A transaction by signature with what it moved: SOL per account (fee apart) and tokens per owner and mint. */
export async function solanaTransaction(chain: SolanaChainContext, signature: string) {
  const tx = await readTransaction(chain, signature)
  if (!tx) return undefined
  const sol = tx.accountKeys
    .map((account, i) => ({
      account,
      raw: (tx.postBalances[i] ?? 0n) - (tx.preBalances[i] ?? 0n) + (i === 0 ? tx.fee : 0n),
    }))
    .filter((c) => c.raw !== 0n)
    .map((c) => ({ account: c.account, asset: 'SOL', raw: c.raw.toString() }))
  const tokens = tx.tokenChanges.map((t) => ({ account: t.owner, asset: t.mint, raw: t.raw.toString() }))
  return {
    chain: chain.name,
    caip2: chain.caip2,
    hash: signature,
    status: tx.err === null ? ('success' as const) : ('reverted' as const),
    blockNumber: tx.slot.toString(),
    from: tx.accountKeys[0] ?? '',
    to: null,
    receipt: null,
    confirmations: null,
    transfers: [],
    programs: tx.programs.map((p) => programNames[p] ?? p),
    changes: [...sol, ...tokens],
  }
}
