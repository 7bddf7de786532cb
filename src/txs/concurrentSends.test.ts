// The write path's database guarantees against the real devnet (ADVERSARIAL 33–35): nonces handed out by the
// database, transactions signed and sent concurrently, an idempotency key repeated, a crash and a restart.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Address, createPublicClient, type Hex, http, keccak256 } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { useDevnet } from '../../test/devnet.js'
import { devnetMnemonic } from '../devnet/anvil.js'
import { openStore, type Store } from '../store/openStore.js'
import { seedDataDir, testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createIntentJournal, type Intent, type IntentJournal } from './intentJournal.js'
import { createNonceManager, type NonceManager } from './nonceManager.js'

const devnet = useDevnet({ isolate: true })
const client = createPublicClient({ transport: http(devnet.rpcUrl) })
const chainNonce = (_chainId: number, wallet: string) =>
  client.getTransactionCount({ address: wallet as Address, blockTag: 'pending' })

type Gateway = { journal: IntentJournal; nonces: NonceManager }
const gateway = (store: Store): Gateway => ({
  journal: createIntentJournal(store),
  nonces: createNonceManager(store, { chainNonce }),
})

/** Records, reserves, signs and (unless `crashBefore` says otherwise) sends one 1-wei transfer. */
async function send(
  { journal, nonces }: Gateway,
  from: ReturnType<typeof mnemonicToAccount>,
  idempotencyKey: string,
  crashBefore?: 'send' | 'record',
): Promise<{ intent: Intent; created: boolean }> {
  const to = devnet.accounts[9] as Address
  const { intent, created } = await journal.create({
    idempotencyKey,
    chainId: devnet.chainId,
    wallet: from.address,
    operation: 'transfer',
    request: { chain: 'devnet', to, amount: '0.000000000000000001' },
  })
  if (!created) return { intent, created } // the same key never makes a second transaction
  const nonce = await nonces.reserve(devnet.chainId, from.address, intent.id)
  const signedTx = await from.signTransaction({
    chainId: devnet.chainId,
    type: 'eip1559',
    to,
    value: 1n,
    nonce,
    gas: 21_000n,
    maxFeePerGas: 100_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  })
  const txHash = keccak256(signedTx)
  const tx = { to, value: '1', nonce, gas: '21000' }
  await journal.transition(intent.id, 'created', 'signed', { tx, txHash, signedTx })
  if (crashBefore === 'send') return { intent, created }
  await client.sendRawTransaction({ serializedTransaction: signedTx })
  if (crashBefore === 'record') return { intent, created }
  return { intent: await journal.transition(intent.id, 'signed', 'broadcast'), created }
}

async function settle(journal: IntentJournal, intent: Intent): Promise<bigint> {
  // As the gateway's tracker does: if the node lost the transaction (anvil can drop one under load), re-send the
  // same signed bytes (same hash, never a second transaction) and keep waiting.
  const hash = intent.txHash as Hex
  let receipt = await client.getTransactionReceipt({ hash }).catch(() => null)
  for (let i = 0; !receipt; i++) {
    if (i > 0 && i % 20 === 0 && !(await client.getTransaction({ hash }).catch(() => null)))
      await client.sendRawTransaction({ serializedTransaction: intent.signedTx as Hex }).catch(() => {})
    await new Promise((r) => setTimeout(r, 50))
    receipt = await client.getTransactionReceipt({ hash }).catch(() => null)
  }
  await journal.transition(intent.id, 'broadcast', 'mined', {
    detail: { blockNumber: String(receipt.blockNumber) },
  })
  return receipt.blockNumber
}

describe.each(testStoreDrivers)('concurrent sends on the devnet, store on %s', (driver) => {
  const t = useTestStore(driver)

  it('50 concurrent transfers from one wallet: consecutive nonces, all mined; repeating their keys sends nothing', async () => {
    const from = mnemonicToAccount(devnetMnemonic, { addressIndex: driver === 'pglite' ? 7 : 8 })
    const gateways =
      driver === 'postgres' ? [gateway(t.store), gateway(await t.openAnother())] : [gateway(t.store)]
    const start = await chainNonce(devnet.chainId, from.address)
    const keys = Array.from({ length: 50 }, (_, i) => `${driver}-transfer-${i}`)
    const sent = await Promise.all(keys.map((key, i) => send(gateways[i % gateways.length]!, from, key)))
    const nonces = sent.map((s) => s.intent.nonce as number).sort((a, b) => a - b)
    expect(nonces).toEqual(Array.from({ length: 50 }, (_, i) => start + i))
    await Promise.all(sent.map((s) => settle(gateways[0]!.journal, s.intent)))
    expect(await chainNonce(devnet.chainId, from.address)).toBe(start + 50)

    const again = await Promise.all(keys.map((key, i) => send(gateways[i % gateways.length]!, from, key)))
    expect(again.every((a) => !a.created)).toBe(true)
    expect(again.map((a) => a.intent.id)).toEqual(sent.map((s) => s.intent.id))
    expect(await chainNonce(devnet.chainId, from.address)).toBe(start + 50)
    for (const s of sent) expect((await gateways[0]!.journal.get(s.intent.id)).status).toBe('mined')
  }, 60_000)
})

describe('a crash between signing and broadcast, and between broadcast and recording it', () => {
  const dirs: string[] = []
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('after a restart every intent is mined exactly once; nothing is signed or sent twice', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'airlock-restart-'))
    seedDataDir(dataDir)
    dirs.push(dataDir)
    const from = mnemonicToAccount(devnetMnemonic, { addressIndex: 6 })
    const start = await chainNonce(devnet.chainId, from.address)

    const before = await openStore({ dataDir })
    const unsent = await send(gateway(before), from, 'restart-unsent', 'send')
    const unrecorded = await send(gateway(before), from, 'restart-unrecorded', 'record')
    await before.close() // the crash

    const after = await openStore({ dataDir })
    try {
      const { journal } = gateway(after)
      const pending = await journal.unfinished()
      expect(pending.map((i) => [i.id, i.status])).toEqual([
        [unsent.intent.id, 'signed'],
        [unrecorded.intent.id, 'signed'],
      ])
      // Reconcile: a signed intent is looked up by its hash first; only if the chain does not know it are the
      // stored bytes sent again (same bytes, same hash: never a second transaction).
      for (const intent of pending) {
        const known = await client.getTransaction({ hash: intent.txHash as Hex }).catch(() => undefined)
        if (!known) await client.sendRawTransaction({ serializedTransaction: intent.signedTx as Hex })
        await settle(journal, await journal.transition(intent.id, 'signed', 'broadcast'))
      }
      expect(await journal.unfinished()).toEqual([])
      expect(await chainNonce(devnet.chainId, from.address)).toBe(start + 2)
      for (const intent of pending) {
        expect((await journal.get(intent.id)).status).toBe('mined')
        expect((await journal.events(intent.id)).map((e) => e.to)).toEqual([
          'created',
          'signed',
          'broadcast',
          'mined',
        ])
      }
    } finally {
      await after.close()
    }
  }, 60_000)
})
