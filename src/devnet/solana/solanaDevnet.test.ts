import {
  type Address,
  address,
  appendTransactionMessageInstructions,
  type Base64EncodedWireTransaction,
  compileTransactionMessage,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createTransactionMessage,
  getBase58Encoder,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getCompiledTransactionMessageEncoder,
  getSignatureFromTransaction,
  type Instruction,
  isSolanaError,
  type KeyPairSigner,
  type Rpc as KitRpc,
  lamports,
  pipe,
  type Signature,
  SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM,
  SOLANA_ERROR__JSON_RPC__INVALID_PARAMS,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_UNSUPPORTED_TRANSACTION_VERSION,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  type SolanaRpcApi,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type TransactionMessage,
  type TransactionMessageBytesBase64,
  type TransactionMessageWithFeePayer,
} from '@solana/kit'
import { getTransferSolInstruction } from '@solana-program/system'
import {
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getTransferCheckedInstruction,
} from '@solana-program/token'
import { afterEach, describe, expect, it } from 'vitest'
import { type SolanaDevnet, startSolanaDevnet } from './startSolanaDevnet.js'
import { TOKEN_2022_PROGRAM, TOKEN_PROGRAM } from './tokenState.js'

type Rpc = KitRpc<SolanaRpcApi>

/** An address that holds nothing on the devnet. */
const UNUSED = 'Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS'

const running: SolanaDevnet[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((devnet) => devnet.stop()))
})

async function start(): Promise<{ devnet: SolanaDevnet; rpc: Rpc }> {
  const devnet = await startSolanaDevnet()
  running.push(devnet)
  const rpc: Rpc = createSolanaRpc(devnet.rpcUrl)
  return { devnet, rpc }
}

function signerOf(secretKey: string): Promise<KeyPairSigner> {
  return createKeyPairSignerFromBytes(getBase58Encoder().encode(secretKey))
}

async function buildTransaction(
  rpc: Rpc,
  feePayer: KeyPairSigner,
  instructions: readonly Instruction[],
): Promise<{ wire: Base64EncodedWireTransaction; signature: Signature }> {
  const { value: latest } = await rpc.getLatestBlockhash().send()
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(feePayer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  ) satisfies TransactionMessage & TransactionMessageWithFeePayer
  const signed = await signTransactionMessageWithSigners(message)
  return { wire: getBase64EncodedWireTransaction(signed), signature: getSignatureFromTransaction(signed) }
}

async function lamportsOf(rpc: Rpc, who: string): Promise<bigint> {
  return (await rpc.getBalance(address(who)).send()).value
}

async function tokenAmountOf(rpc: Rpc, tokenAccount: Address): Promise<bigint> {
  return BigInt((await rpc.getTokenAccountBalance(tokenAccount).send()).value.amount)
}

async function rawRpc(url: string, body: string): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  return { status: response.status, json: await response.json() }
}

/** Reads the TLV extensions of a Token-2022 mint: type → value. */
function extensionsOf(data: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>()
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  for (let offset = 166; offset + 4 <= data.length; ) {
    const type = view.getUint16(offset, true)
    const length = view.getUint16(offset + 2, true)
    if (type === 0) break
    out.set(type, data.subarray(offset + 4, offset + 4 + length))
    offset += 4 + length
  }
  return out
}

describe('startSolanaDevnet', () => {
  it('has a fixed genesis hash and the same fixture addresses on every start', async () => {
    const a = await start()
    const b = await start()
    expect(a.devnet.port).not.toBe(b.devnet.port)
    expect(a.devnet.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await a.rpc.getGenesisHash().send()).toBe(a.devnet.genesisHash)
    expect(await b.rpc.getGenesisHash().send()).toBe(a.devnet.genesisHash)
    expect(a.devnet.caip2).toBe(`solana:${a.devnet.genesisHash.slice(0, 32)}`)
    expect(a.devnet.fixtures.caip2).toBe(a.devnet.caip2)
    expect(a.devnet.fixtures.chain).toBe('solana-local')
    const { rpcUrl: _a, ...fixturesA } = a.devnet.fixtures
    const { rpcUrl: _b, ...fixturesB } = b.devnet.fixtures
    expect(fixturesA).toEqual(fixturesB)
    const addresses = [
      ...fixturesA.accounts.map((account) => account.address),
      fixturesA.tokens.USDC.mint,
      fixturesA.tokens.FEE.mint,
      fixturesA.tokens.PDEL.mint,
      fixturesA.mintAuthority.address,
    ]
    expect(new Set(addresses).size).toBe(addresses.length)
    // The keys are the solana-keygen form: seed ‖ public key, whose public key is the address.
    const signer = await signerOf(fixturesA.accounts[0]!.secretKey)
    expect(signer.address).toBe(fixturesA.accounts[0]!.address)
    expect(await a.rpc.getHealth().send()).toBe('ok')
  })

  it('funds the fixture accounts and sets up the token balances', async () => {
    const { devnet, rpc } = await start()
    const { accounts, tokens, balances } = devnet.fixtures
    expect(accounts.map((account) => account.lamports)).toEqual([
      '100000000000',
      '10000000000',
      '10000000000',
      '10000000000',
    ])
    for (const account of accounts)
      expect(await lamportsOf(rpc, account.address)).toBe(BigInt(account.lamports))

    const owner = address(accounts[0]!.address)
    const classic = await rpc
      .getTokenAccountsByOwner(owner, { programId: TOKEN_PROGRAM }, { encoding: 'jsonParsed' })
      .send()
    expect(classic.value).toHaveLength(1)
    const usdc = classic.value[0]!.account.data.parsed.info
    expect(usdc.mint).toBe(tokens.USDC.mint)
    expect(usdc.owner).toBe(owner)
    expect(usdc.tokenAmount).toEqual({
      amount: '10000000000',
      decimals: 6,
      uiAmount: 10000,
      uiAmountString: '10000',
    })
    const [expectedAta] = await findAssociatedTokenPda({
      owner,
      mint: address(tokens.USDC.mint),
      tokenProgram: TOKEN_PROGRAM,
    })
    expect(classic.value[0]!.pubkey).toBe(expectedAta)

    const extended = await rpc
      .getTokenAccountsByOwner(owner, { programId: TOKEN_2022_PROGRAM }, { encoding: 'jsonParsed' })
      .send()
    const byMint = new Map(
      extended.value.map((entry) => [entry.account.data.parsed.info.mint, entry.account]),
    )
    expect(byMint.get(address(tokens.FEE.mint))?.data.parsed.info.tokenAmount.uiAmountString).toBe('1000')
    expect(byMint.get(address(tokens.PDEL.mint))?.data.parsed.info.tokenAmount.uiAmountString).toBe('1000')
    expect(byMint.get(address(tokens.FEE.mint))?.data.program).toBe('spl-token-2022')
    expect(balances[owner]).toEqual({ USDC: '10000', FEE: '1000', PDEL: '1000' })
    expect(balances[accounts[1]!.address]).toEqual({ USDC: '100', FEE: '0', PDEL: '0' })

    const byMintFilter = await rpc
      .getTokenAccountsByOwner(
        address(accounts[1]!.address),
        { mint: address(tokens.USDC.mint) },
        { encoding: 'base64' },
      )
      .send()
    expect(byMintFilter.value).toHaveLength(1)
    expect(byMintFilter.value[0]!.account.owner).toBe(TOKEN_PROGRAM)

    const supply = await rpc.getTokenSupply(address(tokens.USDC.mint)).send()
    expect(supply.value).toMatchObject({ amount: '10100000000', decimals: 6, uiAmountString: '10100' })

    // The FEE mint carries a TransferFeeConfig TLV (type 1): 100 bps, max 5 tokens.
    const feeMint = await rpc.getAccountInfo(address(tokens.FEE.mint), { encoding: 'base64' }).send()
    expect(feeMint.value?.owner).toBe(TOKEN_2022_PROGRAM)
    const feeData = new Uint8Array(getBase64Encoder().encode(feeMint.value!.data[0]))
    expect(feeData.length).toBe(165 + 1 + 4 + 108)
    expect(feeData[165]).toBe(1) // account type: mint
    const feeConfig = extensionsOf(feeData).get(1)!
    const feeView = new DataView(feeConfig.buffer, feeConfig.byteOffset, feeConfig.byteLength)
    expect(feeView.getUint16(90 + 16, true)).toBe(100) // newer transfer fee: bps
    expect(feeView.getBigUint64(90 + 8, true)).toBe(5_000_000n) // newer transfer fee: maximum
    expect(tokens.FEE).toMatchObject({ transferFeeBps: 100, maxFee: '5000000', decimals: 6 })

    // The PDEL mint carries a PermanentDelegate TLV (type 12) naming the fixture's delegate.
    const pdelMint = await rpc.getAccountInfo(address(tokens.PDEL.mint), { encoding: 'base64' }).send()
    const pdelData = new Uint8Array(getBase64Encoder().encode(pdelMint.value!.data[0]))
    const delegate = extensionsOf(pdelData).get(12)!
    expect(delegate).toEqual(new Uint8Array(getBase58Encoder().encode(tokens.PDEL.permanentDelegate)))
    const parsedPdel = await rpc.getAccountInfo(address(tokens.PDEL.mint), { encoding: 'jsonParsed' }).send()
    expect(parsedPdel.value?.data).toMatchObject({
      program: 'spl-token-2022',
      parsed: {
        type: 'mint',
        info: {
          decimals: 6,
          extensions: [
            { extension: 'permanentDelegate', state: { delegate: tokens.PDEL.permanentDelegate } },
          ],
        },
      },
    })
  })

  it('sends a SOL transfer built with kit and reports its status and pre/post balances', async () => {
    const { devnet, rpc } = await start()
    const [from, to] = devnet.fixtures.accounts
    const signer = await signerOf(from!.secretKey)
    const amount = 1_500_000_000n
    const { wire, signature } = await buildTransaction(rpc, signer, [
      getTransferSolInstruction({ source: signer, destination: address(to!.address), amount }),
    ])
    const slotBefore = await rpc.getSlot().send()
    expect(await rpc.sendTransaction(wire, { encoding: 'base64' }).send()).toBe(signature)
    expect(await rpc.getSlot().send()).toBe(slotBefore + 1n)

    const { value: statuses } = await rpc.getSignatureStatuses([signature]).send()
    expect(statuses[0]).toMatchObject({ err: null, confirmationStatus: 'finalized', slot: slotBefore + 1n })

    const transaction = await rpc
      .getTransaction(signature, { encoding: 'json', maxSupportedTransactionVersion: 0 })
      .send()
    expect(transaction).not.toBeNull()
    const { meta } = transaction!
    expect(meta?.err).toBeNull()
    expect(meta?.fee).toBe(5000n)
    expect(transaction!.transaction.signatures).toEqual([signature])
    expect(transaction!.transaction.message.accountKeys.slice(0, 2)).toEqual([from!.address, to!.address])
    expect(meta?.preBalances.slice(0, 2)).toEqual([BigInt(from!.lamports), BigInt(to!.lamports)])
    expect(meta?.postBalances.slice(0, 2)).toEqual([
      BigInt(from!.lamports) - amount - 5000n,
      BigInt(to!.lamports) + amount,
    ])
    expect(await lamportsOf(rpc, to!.address)).toBe(BigInt(to!.lamports) + amount)

    // v0 transactions need maxSupportedTransactionVersion, as on real clusters.
    const refused = await rpc
      .getTransaction(signature)
      .send()
      .catch((error: unknown) => error)
    expect(isSolanaError(refused, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_UNSUPPORTED_TRANSACTION_VERSION)).toBe(
      true,
    )
  })

  it('moves SPL tokens with TransferChecked to a new associated token account, exactly', async () => {
    const { devnet, rpc } = await start()
    const { accounts, tokens } = devnet.fixtures
    const signer = await signerOf(accounts[0]!.secretKey)
    const mint = address(tokens.USDC.mint)
    const [source] = await findAssociatedTokenPda({
      owner: signer.address,
      mint,
      tokenProgram: TOKEN_PROGRAM,
    })
    const recipient = address(accounts[2]!.address)
    const [destination] = await findAssociatedTokenPda({
      owner: recipient,
      mint,
      tokenProgram: TOKEN_PROGRAM,
    })
    const amount = 12_345_678n
    const { wire, signature } = await buildTransaction(rpc, signer, [
      getCreateAssociatedTokenIdempotentInstruction({
        payer: signer,
        ata: destination,
        owner: recipient,
        mint,
      }),
      getTransferCheckedInstruction({ source, mint, destination, authority: signer, amount, decimals: 6 }),
    ])
    await rpc.sendTransaction(wire, { encoding: 'base64' }).send()
    expect(await tokenAmountOf(rpc, source)).toBe(10_000_000_000n - amount)
    expect(await tokenAmountOf(rpc, destination)).toBe(amount)

    const transaction = await rpc
      .getTransaction(signature, { encoding: 'json', maxSupportedTransactionVersion: 0 })
      .send()
    const keys = transaction!.transaction.message.accountKeys
    const destinationIndex = keys.indexOf(destination)
    expect(
      transaction!.meta?.preTokenBalances?.find((b) => b.accountIndex === destinationIndex),
    ).toBeUndefined()
    expect(transaction!.meta?.postTokenBalances).toContainEqual({
      accountIndex: destinationIndex,
      mint,
      owner: recipient,
      programId: TOKEN_PROGRAM,
      uiTokenAmount: { amount: '12345678', decimals: 6, uiAmount: 12.345678, uiAmountString: '12.345678' },
    })
    const sourceIndex = keys.indexOf(source)
    expect(transaction!.meta?.preTokenBalances).toContainEqual(
      expect.objectContaining({
        accountIndex: sourceIndex,
        uiTokenAmount: expect.objectContaining({ amount: '10000000000' }),
      }),
    )
  })

  it('withholds the Token-2022 transfer fee on FEE transfers', async () => {
    const { devnet, rpc } = await start()
    const { accounts, tokens } = devnet.fixtures
    const signer = await signerOf(accounts[0]!.secretKey)
    const mint = address(tokens.FEE.mint)
    const recipient = address(accounts[1]!.address)
    const tokenProgram = TOKEN_2022_PROGRAM
    const [source] = await findAssociatedTokenPda({ owner: signer.address, mint, tokenProgram })
    const [destination] = await findAssociatedTokenPda({ owner: recipient, mint, tokenProgram })
    const { wire } = await buildTransaction(rpc, signer, [
      getCreateAssociatedTokenIdempotentInstruction({
        payer: signer,
        ata: destination,
        owner: recipient,
        mint,
        tokenProgram,
      }),
      getTransferCheckedInstruction(
        { source, mint, destination, authority: signer, amount: 100_000_000n, decimals: 6 },
        { programAddress: tokenProgram },
      ),
    ])
    await rpc.sendTransaction(wire, { encoding: 'base64' }).send()
    expect(await tokenAmountOf(rpc, source)).toBe(900_000_000n)
    expect(await tokenAmountOf(rpc, destination)).toBe(99_000_000n) // 1 % withheld in the recipient's account
  })

  it('simulates with the post state of the requested accounts and changes nothing', async () => {
    const { devnet, rpc } = await start()
    const [from, to] = devnet.fixtures.accounts
    const signer = await signerOf(from!.secretKey)
    const { wire } = await buildTransaction(rpc, signer, [
      getTransferSolInstruction({
        source: signer,
        destination: address(to!.address),
        amount: 7_000_000_000n,
      }),
    ])
    const slot = await rpc.getSlot().send()
    const { value } = await rpc
      .simulateTransaction(wire, {
        encoding: 'base64',
        sigVerify: true,
        accounts: { addresses: [address(from!.address), address(to!.address)], encoding: 'base64' },
      })
      .send()
    expect(value.err).toBeNull()
    expect(value.unitsConsumed).toBeGreaterThan(0n)
    expect(value.logs?.length).toBeGreaterThan(0)
    expect(value.accounts.map((account) => account?.lamports)).toEqual([
      BigInt(from!.lamports) - 7_000_000_000n - 5000n,
      BigInt(to!.lamports) + 7_000_000_000n,
    ])
    expect(value.fee).toBe(5000n)
    expect(value.preBalances?.slice(0, 2)).toEqual([BigInt(from!.lamports), BigInt(to!.lamports)])
    expect(value.postBalances?.slice(0, 2)).toEqual(value.accounts.map((account) => account?.lamports))
    expect(await lamportsOf(rpc, from!.address)).toBe(BigInt(from!.lamports))
    expect(await lamportsOf(rpc, to!.address)).toBe(BigInt(to!.lamports))
    expect(await rpc.getSlot().send()).toBe(slot)

    // A simulation may replace an expired blockhash (sigVerify off); a failing instruction answers its error.
    devnet.expireBlockhash()
    const replaced = await rpc
      .simulateTransaction(wire, { encoding: 'base64', replaceRecentBlockhash: true })
      .send()
    expect(replaced.value.err).toBeNull()
    expect(replaced.value.replacementBlockhash?.blockhash).toBe(
      (await rpc.getLatestBlockhash().send()).value.blockhash,
    )
    const stale = await rpc.simulateTransaction(wire, { encoding: 'base64' }).send()
    expect(stale.value.err).toBe('BlockhashNotFound')
  })

  it('executes the same signed bytes once however often they are sent', async () => {
    const { devnet, rpc } = await start()
    const [from, to] = devnet.fixtures.accounts
    const signer = await signerOf(from!.secretKey)
    const { wire, signature } = await buildTransaction(rpc, signer, [
      getTransferSolInstruction({
        source: signer,
        destination: address(to!.address),
        amount: 1_000_000_000n,
      }),
    ])
    expect(await rpc.sendTransaction(wire, { encoding: 'base64' }).send()).toBe(signature)
    expect(await rpc.sendTransaction(wire, { encoding: 'base64' }).send()).toBe(signature)
    expect(await rpc.sendTransaction(wire, { encoding: 'base64', skipPreflight: true }).send()).toBe(
      signature,
    )
    expect(await lamportsOf(rpc, to!.address)).toBe(BigInt(to!.lamports) + 1_000_000_000n)
    expect(await lamportsOf(rpc, from!.address)).toBe(BigInt(from!.lamports) - 1_000_000_000n - 5000n)
  })

  it('refuses a transaction on an expired blockhash with -32002 and moves nothing', async () => {
    const { devnet, rpc } = await start()
    const [from, to] = devnet.fixtures.accounts
    const signer = await signerOf(from!.secretKey)
    const { value: before } = await rpc.getLatestBlockhash().send()
    const { wire, signature } = await buildTransaction(rpc, signer, [
      getTransferSolInstruction({
        source: signer,
        destination: address(to!.address),
        amount: 1_000_000_000n,
      }),
    ])
    devnet.expireBlockhash()
    const { value: after } = await rpc.getLatestBlockhash().send()
    expect(after.blockhash).not.toBe(before.blockhash)
    expect(await rpc.getBlockHeight().send()).toBeGreaterThan(before.lastValidBlockHeight)
    expect((await rpc.isBlockhashValid(before.blockhash).send()).value).toBe(false)

    const error = await rpc
      .sendTransaction(wire, { encoding: 'base64' })
      .send()
      .catch((e: unknown) => e)
    expect(
      isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE),
    ).toBe(true)
    expect(isSolanaError((error as Error).cause, SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)).toBe(
      true,
    )
    // With skipPreflight the RPC takes it, and the cluster drops it.
    expect(await rpc.sendTransaction(wire, { encoding: 'base64', skipPreflight: true }).send()).toBe(
      signature,
    )
    expect((await rpc.getSignatureStatuses([signature]).send()).value).toEqual([null])
    expect(await lamportsOf(rpc, from!.address)).toBe(BigInt(from!.lamports))
    expect(await lamportsOf(rpc, to!.address)).toBe(BigInt(to!.lamports))
  })

  it('drops the next sends on request: a signature, no status, nothing moved; the same bytes land later', async () => {
    const { devnet, rpc } = await start()
    const [from, to] = devnet.fixtures.accounts
    const signer = await signerOf(from!.secretKey)
    const { wire, signature } = await buildTransaction(rpc, signer, [
      getTransferSolInstruction({
        source: signer,
        destination: address(to!.address),
        amount: 2_000_000_000n,
      }),
    ])
    devnet.dropNextSends()
    expect(await rpc.sendTransaction(wire, { encoding: 'base64' }).send()).toBe(signature)
    expect((await rpc.getSignatureStatuses([signature]).send()).value).toEqual([null])
    expect(
      await rpc.getTransaction(signature, { encoding: 'json', maxSupportedTransactionVersion: 0 }).send(),
    ).toBeNull()
    expect(await lamportsOf(rpc, to!.address)).toBe(BigInt(to!.lamports))

    expect(await rpc.sendTransaction(wire, { encoding: 'base64' }).send()).toBe(signature)
    expect((await rpc.getSignatureStatuses([signature]).send()).value[0]?.err).toBeNull()
    expect(await lamportsOf(rpc, to!.address)).toBe(BigInt(to!.lamports) + 2_000_000_000n)
  })

  it('answers a failing instruction: -32002 in preflight, a landed failure with its fee when preflight is skipped', async () => {
    const { devnet, rpc } = await start()
    const [, poor, to] = devnet.fixtures.accounts
    const signer = await signerOf(poor!.secretKey)
    const { wire, signature } = await buildTransaction(rpc, signer, [
      getTransferSolInstruction({
        source: signer,
        destination: address(to!.address),
        amount: 50_000_000_000n,
      }),
    ])
    const error = await rpc
      .sendTransaction(wire, { encoding: 'base64' })
      .send()
      .catch((e: unknown) => e)
    expect(
      isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE),
    ).toBe(true)
    expect(isSolanaError((error as Error).cause, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM)).toBe(true)
    expect(await lamportsOf(rpc, poor!.address)).toBe(BigInt(poor!.lamports))

    await rpc.sendTransaction(wire, { encoding: 'base64', skipPreflight: true }).send()
    const { value } = await rpc.getSignatureStatuses([signature]).send()
    expect(value[0]?.err).toEqual({ InstructionError: [0n, { Custom: 1n }] })
    expect(await lamportsOf(rpc, poor!.address)).toBe(BigInt(poor!.lamports) - 5000n)
  })

  it('answers fees, rent, airdrops and slots like a cluster', async () => {
    const { devnet, rpc } = await start()
    const signer = await signerOf(devnet.fixtures.accounts[0]!.secretKey)
    const { value: latest } = await rpc.getLatestBlockhash().send()
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(signer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
      (m) =>
        appendTransactionMessageInstructions(
          [
            getTransferSolInstruction({
              source: signer,
              destination: address(devnet.fixtures.accounts[1]!.address),
              amount: 1n,
            }),
          ],
          m,
        ),
    )
    const messageBase64 = Buffer.from(
      getCompiledTransactionMessageEncoder().encode(compileTransactionMessage(message)),
    ).toString('base64')
    expect((await rpc.getFeeForMessage(messageBase64 as TransactionMessageBytesBase64).send()).value).toBe(
      5000n,
    )
    expect(await rpc.getMinimumBalanceForRentExemption(165n).send()).toBe(2_039_280n)
    expect(await rpc.getRecentPrioritizationFees().send()).toEqual([])

    const fresh = address('9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM')
    const airdrop = await rpc.requestAirdrop(fresh, lamports(3_000_000_000n)).send()
    expect((await rpc.getSignatureStatuses([airdrop]).send()).value[0]?.err).toBeNull()
    expect(await lamportsOf(rpc, fresh)).toBe(3_000_000_000n)
    await rpc.requestAirdrop(fresh, lamports(3_000_000_000n)).send()
    expect(await lamportsOf(rpc, fresh)).toBe(6_000_000_000n)

    const multiple = await rpc
      .getMultipleAccounts([address(devnet.fixtures.accounts[3]!.address), address(UNUSED)], {
        encoding: 'base64',
      })
      .send()
    expect(multiple.value.map((account) => account?.lamports ?? null)).toEqual([10_000_000_000n, null])

    const epoch = await rpc.getEpochInfo().send()
    expect(epoch.absoluteSlot).toBe(await rpc.getSlot().send())
    expect((await rpc.getAccountInfo(fresh, { encoding: 'base64' }).send()).value?.owner).toBe(
      '11111111111111111111111111111111',
    )
    expect((await rpc.getAccountInfo(address(UNUSED)).send()).value).toBeNull()
  })

  it('answers bad requests with JSON-RPC errors and keeps serving', async () => {
    const { devnet, rpc } = await start()
    const notJson = await rawRpc(devnet.rpcUrl, '{not json')
    expect(notJson.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } })
    const unknown = await rawRpc(
      devnet.rpcUrl,
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getNothing' }),
    )
    expect(unknown.json).toMatchObject({ id: 1, error: { code: -32601 } })
    const huge = await rawRpc(
      devnet.rpcUrl,
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'getHealth', params: ['x'.repeat(1_100_000)] }),
    )
    expect(huge.status).toBe(413)
    expect(huge.json).toMatchObject({ error: { code: -32600 } })
    const notTransaction = await rawRpc(
      devnet.rpcUrl,
      JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'sendTransaction',
        params: ['AAAA', { encoding: 'base64' }],
      }),
    )
    expect(notTransaction.json).toMatchObject({ id: 3, error: { code: -32602 } })
    const batch = await rawRpc(
      devnet.rpcUrl,
      JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'getSlot' },
        { jsonrpc: '2.0', id: 'b', method: 'getBalance', params: ['not-an-address'] },
        42,
      ]),
    )
    expect(batch.json).toMatchObject([
      { id: 'a', result: expect.any(Number) },
      { id: 'b', error: { code: -32602 } },
      { error: { code: -32600 } },
    ])
    const badAddress = await rpc
      .getBalance('nope' as Address)
      .send()
      .catch((e: unknown) => e)
    expect(isSolanaError(badAddress, SOLANA_ERROR__JSON_RPC__INVALID_PARAMS)).toBe(true)
    expect(await rpc.getGenesisHash().send()).toBe(devnet.genesisHash)
  })

  it('refuses a forged signature with -32003 and moves nothing', async () => {
    const { devnet, rpc } = await start()
    const [from, to] = devnet.fixtures.accounts
    const signer = await signerOf(from!.secretKey)
    const { wire } = await buildTransaction(rpc, signer, [
      getTransferSolInstruction({
        source: signer,
        destination: address(to!.address),
        amount: 1_000_000_000n,
      }),
    ])
    const bytes = Buffer.from(wire, 'base64')
    bytes[1] = (bytes[1] ?? 0) ^ 0xff // first byte of the first signature
    const forged = bytes.toString('base64') as Base64EncodedWireTransaction
    const error = await rpc
      .sendTransaction(forged, { encoding: 'base64' })
      .send()
      .catch((e: unknown) => e)
    expect(
      isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_TRANSACTION_SIGNATURE_VERIFICATION_FAILURE),
    ).toBe(true)
    await rpc.sendTransaction(forged, { encoding: 'base64', skipPreflight: true }).send()
    expect(await lamportsOf(rpc, to!.address)).toBe(BigInt(to!.lamports))
    expect(await lamportsOf(rpc, from!.address)).toBe(BigInt(from!.lamports))
  })

  it('starts with its fixtures in well under a second', async () => {
    const times: number[] = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      const devnet = await startSolanaDevnet()
      times.push(performance.now() - t0)
      await devnet.stop()
      await devnet.stop() // safe twice
    }
    times.sort((a, b) => a - b)
    expect(times[2]).toBeLessThan(1000)
  })
})
