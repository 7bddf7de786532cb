import { randomBytes } from 'node:crypto'
import {
  address,
  type Base64EncodedWireTransaction,
  isSolanaError,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
} from '@solana/kit'
import type { Address } from 'viem'
import type { SolanaChainContext } from '../../chains/solana/chain.js'
import { solNativeAssetId, splAssetId } from '../../chains/solana/clusters.js'
import { knownMints, solanaPrices } from '../../chains/solana/knownMints.js'
import { mintRisks } from '../../chains/solana/mint.js'
import { mintFacts } from '../../chains/solana/reads.js'
import {
  type CompiledSolanaTransaction,
  compileSolana,
  instructionFacts,
  signatureOf,
  transferInstructions,
  withSignature,
} from '../../chains/solana/transaction.js'
import { agentIdOf } from '../../context/caller.js'
import type { PreparedDraft } from '../../context/draft.js'
import { type JsonObject, toJson } from '../../context/json.js'
import { BaseError, InvalidAmountError, toBaseError } from '../../errors/index.js'
import { amountOut, parseAmount } from '../../schemas/amount.js'
import type { SolanaSigner } from '../../signer/solanaSigner.js'
import { type SolanaSimulation, simulateSolana } from '../../simulate/solanaSimulate.js'
import type { WriteResultValue } from '../../tools/shared/write.js'
import type { Intent } from '../../txs/intentJournal.js'
import { quoteUntrusted } from '../../untrusted/quoteUntrusted.js'
import { refuse, type WriteDraftKind, type WriteEnvironment } from '../executor.js'
import type { SolanaCheck } from '../guard.js'
import type { IntentQueries } from '../intents.js'
import { markBroadcast, type WriteParts } from '../writeParts.js'

/** A transfer on a Solana cluster, as the `transfer` tool asked for it (addresses already checked). */
export type SolanaTransferRequest = {
  chain: SolanaChainContext
  to: string
  /** Display units, as the agent wrote it. */
  amount: string
  /** The mint; absent for SOL. */
  token?: string | undefined
}

/** What a held intent keeps to be rebuilt once approved (and what the approval is bound to). */
type Kept = {
  to: string
  raw: string
  token: string | null
  decimals: number
  program: string | null
  /** What makes this transfer's transaction unique (see `transferInstructions`). */
  salt: number
}

type SolanaPrepared = PreparedDraft<WriteEnvironment> & {
  compiled: CompiledSolanaTransaction
  kept: Kept
}

/**
 * The Solana transaction draft kind (DESIGN §1, §8): prepare builds the transfer (SOL, or SPL/Token-2022 with
 * `TransferChecked` and the recipient's token account created when missing), binds it to a fresh blockhash,
 * simulates exactly those bytes and decodes its instructions into policy facts; delivery signs that very message
 * with the ed25519 key, keeps the signed bytes in the journal before they leave, and sends them. A signed
 * transaction is only ever re-sent as the same bytes; one whose blockhash expired is checked, never signed again
 * (see `src/txs/solanaTracker.ts`). `mode: "unsigned"` returns the compiled transaction for an external wallet.
 *
 * @example executor.execute(createSolanaTransactionKind(parts, intents), { chain, to, amount, token }, options, ctx)
 */
export function createSolanaTransactionKind(
  parts: WriteParts,
  intents: IntentQueries,
): WriteDraftKind<SolanaTransferRequest> {
  const { context, journal, guard } = parts

  function requireSolanaSigner(): SolanaSigner {
    if (!parts.solanaSigner)
      throw new BaseError(
        'WALLET_NOT_CONFIGURED',
        'No Solana wallet is configured, so this gateway cannot write on Solana.',
        {
          metaMessages: [
            'Create one with `airlock wallet create --family solana` (or import one), or use the embedded devnet.',
          ],
        },
      )
    return parts.solanaSigner
  }

  /** Builds, compiles and simulates a transfer; facts for the guard come from the bytes that will be signed. */
  async function draftOf(chain: SolanaChainContext, wallet: string, kept: Kept): Promise<SolanaPrepared> {
    const raw = BigInt(kept.raw)
    const mint = kept.token
      ? { address: kept.token, program: kept.program as 'spl-token' | 'token-2022', decimals: kept.decimals }
      : undefined
    const [plan, lifetime, facts, recipient] = await Promise.all([
      transferInstructions({ wallet, to: kept.to, amount: raw, mint, salt: kept.salt }),
      chain.rpc.getLatestBlockhash({ commitment: 'confirmed' }).send(),
      kept.token ? mintFacts(chain, kept.token) : undefined,
      chain.rpc
        .getAccountInfo(address(kept.to), { encoding: 'base64', dataSlice: { offset: 0, length: 0 } })
        .send(),
    ])
    const compiled = compileSolana(wallet, plan.instructions, {
      blockhash: lifetime.value.blockhash,
      lastValidBlockHeight: BigInt(lifetime.value.lastValidBlockHeight),
    })
    let simulation: SolanaSimulation | undefined
    let simulationUnavailable: string | undefined
    try {
      simulation = await simulateSolana(chain, {
        wire: compiled.unsignedWire,
        message: compiled.message,
        wallet,
        watch: plan.source && kept.token ? [{ account: plan.source, mint: kept.token }] : [],
      })
    } catch (error) {
      const e = toBaseError(error)
      if (e.code !== 'SIMULATION_UNAVAILABLE') throw e
      simulationUnavailable = e.shortMessage
    }
    const decoded = instructionFacts(compiled.transaction.messageBytes as unknown as Uint8Array)
    const programs = [...new Set([...decoded.programs, ...(simulation?.programs ?? [])])]
    const risks = facts ? mintRisks(facts.extensions) : []
    const known = kept.token
      ? knownMints(chain, context.solanaDevnet).find((m) => m.mint === kept.token)
      : undefined
    const symbol = kept.token
      ? known
        ? known.symbol
        : facts?.extensions.metadata
          ? quoteUntrusted(facts.extensions.metadata.symbol, 'symbol')
          : `token ${kept.token}`
      : 'SOL'
    const amount = amountOut(raw, kept.decimals)
    const riskText = risks.length ? ` The token's mint has these risks: ${risks.join(', ')}.` : ''
    const summary = `Send ${amount.formatted} ${symbol}${kept.token && known ? ` (mint ${kept.token})` : ''} to ${kept.to} on ${chain.name}.${riskText}`
    const details = {
      to: kept.to,
      token: kept.token,
      symbol: known?.symbol ?? (kept.token ? null : 'SOL'),
      verified: kept.token ? known !== undefined : true,
      amount,
      ...(kept.token ? { program: kept.program, tokenRisks: risks } : {}),
      ...(facts?.extensions.transferFee
        ? {
            transferFee: {
              basisPoints: facts.extensions.transferFee.basisPoints,
              maximumFee: amountOut(facts.extensions.transferFee.maximumFee, kept.decimals),
            },
          }
        : {}),
      ...(facts?.extensions.permanentDelegate
        ? { permanentDelegate: facts.extensions.permanentDelegate }
        : {}),
      programs,
    }
    const solana: SolanaCheck = {
      simulation,
      simulationUnavailable,
      to: kept.to,
      token: kept.token ?? undefined,
      decimals: kept.decimals,
      assetId: kept.token ? splAssetId(chain.caip2, kept.token) : solNativeAssetId(chain.caip2),
      amount: { raw, decimals: kept.decimals },
      programs,
      tokenRisks: risks,
      authorityChanges: decoded.authorityChanges,
      accountCloses: decoded.accountCloses,
      recipient: recipient.value
        ? { owner: String(recipient.value.owner), executable: recipient.value.executable }
        : { owner: null, executable: false },
      prices: solanaPrices(chain, context.solanaDevnet),
    }
    return {
      chain: chain as never,
      summary,
      details: toJson<JsonObject>(details),
      check: { operation: 'transfer', details, solana } as WriteEnvironment['check'],
      // The approval is bound to what the transaction does (the transfer and its simulated effects), not to the
      // blockhash: once approved it is rebuilt on a fresh one and must simulate to the same effects.
      bound: { typedData: { solanaTransfer: kept } },
      compiled,
      kept,
    }
  }

  /** The intent's record of its transaction: what was compiled, signed and checked. */
  function record(
    prepared: SolanaPrepared,
    evidence: { checked?: JsonObject | undefined; approvedBy?: string | undefined },
  ) {
    return toJson<JsonObject>({
      summary: prepared.summary,
      details: prepared.details,
      typedData: { solanaTransfer: prepared.kept },
      solana: {
        message: prepared.compiled.message,
        blockhash: prepared.compiled.blockhash,
        lastValidBlockHeight: prepared.compiled.lastValidBlockHeight.toString(),
      },
      ...(evidence.approvedBy !== undefined ? { approvedBy: evidence.approvedBy } : {}),
      ...(evidence.checked ? { checked: evidence.checked } : {}),
    })
  }

  /** Kill switch → sign → persist → kill switch → send (DESIGN §1), the Solana way: no nonce, a blockhash. */
  async function send(
    intent: Intent,
    prepared: SolanaPrepared,
    evidence: {
      checked?: JsonObject | undefined
      approvedBy?: string | undefined
      decision?: JsonObject | undefined
    },
  ): Promise<Intent> {
    const signer = requireSolanaSigner()
    const chain = prepared.chain as unknown as SolanaChainContext
    try {
      await guard.assertLive(agentIdOf(intent.caller ?? undefined))
    } catch (error) {
      throw await refuse(parts, intent, error)
    }
    const signature = await signer.signMessage(prepared.compiled.transaction.messageBytes)
    const wire = withSignature(prepared.compiled.transaction, signer.address, signature)
    let current = await journal.transition(intent.id, 'created', 'signed', {
      tx: record(prepared, evidence),
      txHash: signatureOf(signature),
      signedTx: wire,
      ...(evidence.decision ? { detail: { decision: evidence.decision } } : {}),
    })
    if (parts.crashAt === 'after-sign') process.kill(process.pid, 'SIGKILL')
    const live = await guard.assertLive(agentIdOf(current.caller ?? undefined)).then(
      () => undefined,
      (error: unknown) => toBaseError(error),
    )
    if (live) {
      current = await journal.transition(current.id, 'signed', 'failed', {
        error: { code: live.code, message: `${live.shortMessage} Signed, but never sent: nothing moved.` },
      })
      await guard.parts.limits.release(current.id).catch(() => {})
      throw new BaseError(live.code, live.shortMessage, {
        metaMessages: [
          ...live.metaMessages,
          `Intent ${current.id} is recorded as failed; it was signed but never sent, so nothing moved.`,
        ],
        cause: live,
      })
    }
    const outcome = await chain.rpc
      .sendTransaction(wire as Base64EncodedWireTransaction, {
        encoding: 'base64',
        preflightCommitment: 'confirmed',
      })
      .send()
      .then(
        () => ({ kind: 'accepted' as const }),
        (error: unknown) => classifySendError(error),
      )
    if (outcome.kind === 'accepted') {
      current = await markBroadcast(journal, current)
      if (parts.crashAt === 'after-broadcast') process.kill(process.pid, 'SIGKILL')
      return current
    }
    // The outcome is unknown (a timeout): stays signed; the tracker finds it or re-sends the same bytes.
    if (outcome.kind === 'unknown') return current
    current = await journal.transition(current.id, 'signed', 'failed', {
      error: { code: 'RPC_ERROR', message: outcome.message },
    })
    await guard.parts.limits.release(current.id).catch(() => {})
    return current
  }

  async function handOff(
    intent: Intent,
    prepared: SolanaPrepared,
    evidence: { checked?: JsonObject | undefined },
  ) {
    const done = await journal.transition(intent.id, 'created', 'completed', {
      tx: record(prepared, evidence),
      detail: { handedOff: 'returned unsigned for an external wallet; the gateway sends nothing' },
    })
    const answer: WriteResultValue = {
      ...(await intents.describe(done)),
      unsignedTransaction: {
        type: 'solana',
        feePayer: requireSolanaSigner().address,
        blockhash: prepared.compiled.blockhash,
        lastValidBlockHeight: prepared.compiled.lastValidBlockHeight.toString(),
        message: prepared.compiled.message,
        serialized: prepared.compiled.unsignedWire,
      },
    }
    return { intent: done, answer }
  }

  async function keptOf(request: SolanaTransferRequest): Promise<Kept> {
    const { chain, to, amount, token } = request
    const facts = token ? await mintFacts(chain, token) : undefined
    const decimals = facts?.decimals ?? 9
    const raw = parseAmount(amount, decimals)
    if (raw === 0n) throw new InvalidAmountError({ reason: 'it must be greater than zero', field: 'amount' })
    if (raw >= 2n ** 64n)
      throw new InvalidAmountError({ reason: 'it is more than a Solana amount can hold', field: 'amount' })
    return {
      to,
      raw: raw.toString(),
      token: token ?? null,
      decimals,
      program: facts?.program ?? null,
      salt: randomBytes(4).readUInt32LE(0),
    }
  }

  return {
    name: 'solana-transaction',
    recheckOnResume: true,
    wallet: () => requireSolanaSigner().address as Address,
    carries(intent) {
      return Boolean(
        (intent.tx as { typedData?: { solanaTransfer?: unknown } } | null)?.typedData?.solanaTransfer,
      )
    },
    identify(request) {
      return {
        chain: request.chain as never,
        operation: 'transfer',
        record: toJson({
          tool: 'transfer',
          args: { chain: request.chain.name, to: request.to, amount: request.amount, token: request.token },
        }),
      }
    },
    guarded(options) {
      return options.mode !== 'unsigned'
    },
    async prepare(request, wallet) {
      return draftOf(request.chain, wallet, await keptOf(request))
    },
    async restore(intent, wallet) {
      const stored = (intent.tx as { typedData?: { solanaTransfer?: Kept } } | null)?.typedData
        ?.solanaTransfer
      if (!stored) throw new BaseError('INTERNAL', 'The held intent lost its transfer.')
      // Rebuilt field by field: the store's JSON does not keep key order, and the approval's hash covers this object.
      const kept: Kept = {
        to: stored.to,
        raw: stored.raw,
        token: stored.token,
        decimals: stored.decimals,
        program: stored.program,
        salt: stored.salt,
      }
      const chain = context.chains.resolveAny(intent.chainId)
      if (chain.family !== 'solana') throw new BaseError('INTERNAL', 'The held intent is not a Solana one.')
      return draftOf(chain, wallet, kept)
    },
    ready() {},
    async deliver(intent, prepared, evidence, options) {
      const draft = prepared as SolanaPrepared
      if (options.mode === 'unsigned') return handOff(intent, draft, evidence)
      return { intent: await send(intent, draft, evidence) }
    },
    answer: (intent, options) => intents.finish(intent, options),
  }
}

/**
 * A send the node refused for good, or one whose fate is unknown. Only a failed preflight (the node simulated it and
 * did not forward it) or a bad signature is a refusal; any other error (a timeout, a provider's 5xx, an internal
 * error from a node that may already have forwarded it) is unknown: the intent stays signed and the tracker finds
 * the transaction or, once its blockhash has expired, fails it as never executed.
 */
function classifySendError(
  error: unknown,
): { kind: 'refused'; message: string } | { kind: 'unknown'; message: string } {
  const code = (error as { context?: { __code?: unknown } } | null)?.context?.__code
  const text = `${toBaseError(error).shortMessage} ${(error as { message?: string }).message ?? ''}`
  if (
    isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE) ||
    isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_TRANSACTION_SIGNATURE_VERIFICATION_FAILURE) ||
    code === -32002 ||
    code === -32003
  )
    return {
      kind: 'refused',
      message: `The cluster refused the transaction before executing it: ${quoteUntrusted(text, 'node message', { maxLength: 200 })}. Nothing moved.`,
    }
  return { kind: 'unknown', message: toBaseError(error).shortMessage }
}
