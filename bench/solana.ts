import {
  address,
  appendTransactionMessageInstructions,
  type Base64EncodedWireTransaction,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createTransactionMessage,
  getBase58Decoder,
  getBase58Encoder,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit'
import { getTransferCheckedInstruction } from '@solana-program/token'
import { associatedTokenAccount } from '../src/chains/solana/transaction.js'
import { requestContext } from '../src/context/requestContext.js'
import { startSolanaDevnet } from '../src/devnet/solana/startSolanaDevnet.js'
import { createGateway } from '../src/server/createGateway.js'
import { createSolanaSigner } from '../src/signer/solanaSigner.js'
import { openStore } from '../src/store/openStore.js'
import { startCountingProxy } from '../test/rpcProxy.js'
import { interleave, summarize, time } from './stats.js'
import type { WriteBenchReport } from './writes.js'

const ms = (v: number) => `${v.toFixed(1)} ms`
const tokenProgram = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'

/**
 * The Solana figures of issue 13: a guarded SPL transfer end to end against a direct `@solana/kit` send,
 * get_token_balances for 100 mints against one (and its RPC calls), and the devnet's start with its fixtures.
 */
export async function benchSolana(report: WriteBenchReport): Promise<Record<string, unknown>> {
  const { log, quick, row } = report
  // (1) Start + fixtures: the first start in this process loads kit and litesvm's native module; later ones do not.
  log('(s) Solana devnet starts')
  const starts: number[] = []
  for (let i = 0; i < (quick ? 4 : 8); i++) {
    const t0 = performance.now()
    const d = await startSolanaDevnet()
    starts.push(performance.now() - t0)
    await d.stop()
  }
  const [first, ...rest] = starts
  const start = summarize(rest)
  row(
    'Solana devnet start + fixtures (in process), median (first start, module load incl.)',
    `${ms(start.median)} (${ms(first ?? 0)})`,
    '≤ 1 s',
    Math.max(start.median, first ?? 0) <= 1000,
  )

  const devnet = await startSolanaDevnet()
  const f = devnet.fixtures
  const proxy = await startCountingProxy(devnet.rpcUrl)
  const usdc = f.tokens.USDC.mint
  const wallet = f.accounts[0]!
  const alice = f.accounts[1]!.address
  await seedMints(devnet, wallet.address, 100)
  const store = await openStore({ memory: true })
  const gateway = createGateway({
    config: {
      rpc: { publicFallback: false },
      orders: { enabled: false },

      policy: {
        version: 1,
        rules: [
          {
            id: 'bench-usdc',
            effect: 'allow',
            match: { operation: ['transfer'], chain: ['solana-local'], token: [usdc as `0x${string}`] },
            limits: [
              { id: 'daily', metric: 'outflow', token: usdc as `0x${string}`, window: '24h', max: '1000000' },
            ],
          },
        ],
      },
    },
    solanaDevnet: f,
    writes: {
      store,
      solanaSigner: await createSolanaSigner({
        secretKey: new Uint8Array(getBase58Encoder().encode(wallet.secretKey)),
      }),
    },
  })
  // A read-only gateway through the counting proxy, so the read figure can say how many RPC calls it takes.
  const counted = createGateway({
    config: { rpc: { publicFallback: false }, chains: { 'solana-local': { rpc: [proxy.url] } } },
    solanaDevnet: f,
  })
  try {
    await gateway.ready
    const ctx = requestContext({ transport: 'memory' })
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await gateway.call(name, args, ctx)
      if (r.isError) throw new Error(`${name}: ${r.content[0]?.text}`)
      return r.structuredContent as Record<string, unknown>
    }
    // (2) A guarded SPL transfer, mined, against kit sending the same transfer itself; interleaved.
    const rpc = createSolanaRpc(devnet.rpcUrl)
    const signer = await createKeyPairSignerFromBytes(
      new Uint8Array(getBase58Encoder().encode(wallet.secretKey)),
    )
    const [source, destination] = await Promise.all([
      associatedTokenAccount(wallet.address, usdc, 'spl-token'),
      associatedTokenAccount(alice, usdc, 'spl-token'),
    ])
    await call('transfer', { chain: 'solana-local', to: alice, amount: '0.01', token: usdc, wait: true }) // warm, and alice's account
    let n = 0
    const direct = async () => {
      const { value } = await rpc.getLatestBlockhash().send()
      const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(signer, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash(value, m),
        (m) =>
          appendTransactionMessageInstructions(
            [
              getTransferCheckedInstruction({
                source: address(source),
                mint: address(usdc),
                destination: address(destination),
                authority: signer,
                amount: 10_000n + BigInt(n++), // a distinct message each time
                decimals: 6,
              }),
            ],
            m,
          ),
      )
      const signed = await signTransactionMessageWithSigners(message)
      const signature = getSignatureFromTransaction(signed)
      await rpc
        .sendTransaction(getBase64EncodedWireTransaction(signed) as Base64EncodedWireTransaction, {
          encoding: 'base64',
        })
        .send()
      for (;;) {
        const { value: s } = await rpc.getSignatureStatuses([signature]).send()
        if (s[0]?.confirmationStatus) return
        await new Promise((r) => setTimeout(r, 1))
      }
    }
    const rounds = quick ? 30 : 150
    log(`(s) ${rounds} guarded SPL transfers, interleaved with direct kit sends`)
    const { a: guarded, b: kit } = await interleave(
      rounds,
      5,
      () =>
        time(() =>
          call('transfer', { chain: 'solana-local', to: alice, amount: '0.01', token: usdc, wait: true }),
        ),
      () => time(direct),
    )
    const g = summarize(guarded)
    const k = summarize(kit)
    row(
      'guarded SPL transfer end to end (simulate, policy, reservation, journal, sign, send, confirm), median (p95)',
      `${ms(g.median)} (${ms(g.p95)})`,
      '≤ 30 ms',
      g.median <= 30,
    )
    row(
      'the same transfer sent directly with @solana/kit (sign, send, confirm), median',
      ms(k.median),
      'report',
      null,
    )

    // (3) get_token_balances: 100 mints against one, with the RPC calls each takes.
    const mints = (await call('get_token_balances', { chain: 'solana-local', address: wallet.address }))
      .tokens as { token: string }[]
    const hundred = mints.map((m) => m.token).slice(0, 100)
    const countedCall = async (tokens: string[]) => {
      await counted.call(
        'get_token_balances',
        { chain: 'solana-local', address: wallet.address, tokens },
        ctx,
      ) // verified endpoint
      proxy.reset()
      const r = await counted.call(
        'get_token_balances',
        { chain: 'solana-local', address: wallet.address, tokens },
        ctx,
      )
      if (r.isError) throw new Error(`get_token_balances: ${r.content[0]?.text}`)
      return proxy.total()
    }
    const callsHundred = await countedCall(hundred)
    const callsOne = await countedCall([usdc])
    const reads = quick ? 40 : 200
    const { a: many, b: one } = await interleave(
      reads,
      5,
      () =>
        time(() =>
          call('get_token_balances', { chain: 'solana-local', address: wallet.address, tokens: hundred }),
        ),
      () =>
        time(() =>
          call('get_token_balances', { chain: 'solana-local', address: wallet.address, tokens: [usdc] }),
        ),
    )
    const m = summarize(many)
    const o = summarize(one)
    row(
      `get_token_balances, ${hundred.length} mints: median (RPC calls)`,
      `${ms(m.median)} (${callsHundred})`,
      '≤ 2× one mint',
      m.median <= 2 * o.median,
    )
    row('get_token_balances, one mint: median (RPC calls)', `${ms(o.median)} (${callsOne})`, 'report', null)
    return {
      devnetStartMs: { first, ...start },
      guardedTransferMs: g,
      kitTransferMs: k,
      tokenBalances: {
        mints: hundred.length,
        ms: m,
        calls: callsHundred,
        oneMint: { ms: o, calls: callsOne },
      },
    }
  } finally {
    await counted.close()
    await gateway.close()
    await store.close()
    await proxy.close()
    await devnet.stop()
  }
}

/**
 * `count` more SPL mints (6 decimals) with a balance in the wallet's associated account, written straight into the
 * devnet's state (a bench fixture, not a product path): a mint and a token account each, in their program's layout.
 */
async function seedMints(
  devnet: Awaited<ReturnType<typeof startSolanaDevnet>>,
  owner: string,
  count: number,
) {
  const encoder = getBase58Encoder()
  const rent = devnet.svm.minimumBalanceForRentExemption(165n)
  for (let i = 0; i < count; i++) {
    const mint = new Uint8Array(32)
    mint.set([0xb0, i & 0xff, i >> 8, 7])
    mint.fill(9, 4)
    const mintAddress = address(getBase58Decoder().decode(mint))
    const mintData = new Uint8Array(82)
    new DataView(mintData.buffer).setBigUint64(36, 1_000_000_000n, true) // supply
    mintData[44] = 6 // decimals
    mintData[45] = 1 // initialized
    devnet.svm.setAccount({
      address: mintAddress,
      data: mintData,
      executable: false,
      lamports: rent as never,
      programAddress: address(tokenProgram),
      space: 82n,
    })
    const ata = await associatedTokenAccount(owner, mintAddress, 'spl-token')
    const account = new Uint8Array(165)
    account.set(encoder.encode(mintAddress), 0)
    account.set(encoder.encode(owner), 32)
    new DataView(account.buffer).setBigUint64(64, 1_000_000n * BigInt(i + 1), true)
    account[108] = 1 // initialized
    devnet.svm.setAccount({
      address: address(ata),
      data: account,
      executable: false,
      lamports: rent as never,
      programAddress: address(tokenProgram),
      space: 165n,
    })
  }
}
