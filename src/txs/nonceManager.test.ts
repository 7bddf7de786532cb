import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { type BaseError, NonceConflictError, NotFoundError } from '../errors/index.js'
import type { Store } from '../store/openStore.js'
import { testStoreDrivers, useTestStore } from '../store/useTestStore.js'
import { createIntentJournal, type IntentJournal } from './intentJournal.js'
import { createNonceManager } from './nonceManager.js'
import { walletKey } from './walletKey.js'

const chainId = 31337
const txHash = `0x${'cd'.repeat(32)}`
const refused = { code: 'RPC_ERROR', message: 'insufficient funds' }

/** A fake chain: the pending nonce per wallet, set by the test. */
function fakeChain() {
  const pending = new Map<string, number>()
  return {
    set: (wallet: string, nonce: number) => pending.set(walletKey(wallet), nonce),
    chainNonce: async (_chainId: number, wallet: string) => pending.get(wallet) ?? 0,
  }
}

const newWallet = () => walletKey(`0x${randomBytes(20).toString('hex')}`)
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)

describe.each(testStoreDrivers)('nonce manager on %s', (driver) => {
  const t = useTestStore(driver)

  function setup(store: Store = t.store) {
    const chain = fakeChain()
    const journal = createIntentJournal(store)
    const nonces = createNonceManager(store, { chainNonce: chain.chainNonce })
    return { chain, journal, nonces }
  }

  async function intents(journal: IntentJournal, wallet: string, count: number): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < count; i++) {
      ids.push((await journal.create({ chainId, wallet, operation: 'transfer', request: { i } })).intent.id)
    }
    return ids
  }

  async function nextNonce(wallet: string): Promise<number | undefined> {
    const row = await t.store.db
      .selectFrom('nonces')
      .select('next_nonce')
      .where('chain_id', '=', chainId)
      .where('wallet', '=', wallet)
      .executeTakeFirst()
    return row?.next_nonce
  }

  it('50 concurrent reservations get 50 consecutive nonces from the chain’s pending nonce: no gap, no duplicate', async () => {
    const { chain, journal, nonces } = setup()
    const wallet = newWallet()
    chain.set(wallet, 7)
    const ids = await intents(journal, wallet, 50)
    const got = await Promise.all(ids.map((id) => nonces.reserve(chainId, wallet, id)))
    expect([...got].sort((a, b) => a - b)).toEqual(range(7, 50))
    // Each nonce was written onto its intent in the same transaction.
    for (const [i, id] of ids.entries()) expect((await journal.get(id)).nonce).toBe(got[i])
    expect(await nextNonce(wallet)).toBe(57)
  })

  it.runIf(driver === 'postgres')(
    'two gateways (two stores, two pools) interleaving 100 reservations still get consecutive, unique nonces',
    async () => {
      const second = await t.openAnother()
      const a = setup()
      const b = setup(second)
      const wallet = newWallet()
      const ids = await intents(a.journal, wallet, 100)
      const got = await Promise.all(
        ids.map((id, i) => (i % 2 === 0 ? a.nonces : b.nonces).reserve(chainId, wallet, id)),
      )
      expect([...got].sort((x, y) => x - y)).toEqual(range(0, 100))
      expect(await nextNonce(wallet)).toBe(100)
    },
  )

  it('reserving again for the same intent returns its nonce, never a second one', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [id] = await intents(journal, wallet, 1)
    const all = await Promise.all(range(0, 5).map(() => nonces.reserve(chainId, wallet, id!)))
    expect(all).toEqual([0, 0, 0, 0, 0])
    expect(await nextNonce(wallet)).toBe(1)
  })

  it('any spelling of an EVM address shares one counter', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, b] = await intents(journal, wallet, 2)
    expect(await nonces.reserve(chainId, wallet.toLowerCase(), a!)).toBe(0)
    expect(await nonces.reserve(chainId, wallet, b!)).toBe(1)
  })

  it('a released nonce is handed out again before a new one', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, b, c, d, e] = await intents(journal, wallet, 5)
    for (const id of [a, b, c]) await nonces.reserve(chainId, wallet, id!)
    await nonces.release(chainId, wallet, 1)
    expect(await nonces.gaps(chainId, wallet)).toEqual([1])
    expect((await journal.get(b!)).nonce).toBeNull()
    expect((await journal.events(b!)).at(-1)).toMatchObject({
      from: 'created',
      to: 'created',
      data: { releasedNonce: 1 },
    })
    await nonces.release(chainId, wallet, 1) // already free: nothing to do
    expect(await nonces.reserve(chainId, wallet, d!)).toBe(1)
    expect(await nonces.reserve(chainId, wallet, e!)).toBe(3)
    expect(await nonces.gaps(chainId, wallet)).toEqual([])
  })

  it('an intent that fails before broadcast gives its nonce back in the same transaction', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, b, c, d] = await intents(journal, wallet, 4)
    for (const id of [a, b, c]) await nonces.reserve(chainId, wallet, id!)
    await journal.transition(a!, 'created', 'cancelled', {
      error: { code: 'POLICY_DENIED', message: 'over limit' },
    })
    await journal.transition(b!, 'created', 'signed', { txHash })
    const failed = await journal.transition(b!, 'signed', 'failed', { error: refused })
    expect(failed.nonce).toBeNull()
    expect((await journal.events(b!)).at(-1)?.data).toMatchObject({ releasedNonce: 1 })
    expect(await nonces.gaps(chainId, wallet)).toEqual([0, 1])
    expect(await nonces.reserve(chainId, wallet, d!)).toBe(0)
    expect(await nonces.fillGap(chainId, wallet, (await intents(journal, wallet, 1))[0]!)).toBe(1)
    expect(await nonces.gaps(chainId, wallet)).toEqual([])
  })

  it('a nonce that was broadcast is never given back; a cancel takes it over as a replacement', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, cancel, next] = await intents(journal, wallet, 3)
    const nonce = await nonces.reserve(chainId, wallet, a!)
    await journal.transition(a!, 'created', 'signed', { txHash })
    await journal.transition(a!, 'signed', 'broadcast')
    const error = await nonces.release(chainId, wallet, nonce).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NonceConflictError)
    expect((error as BaseError).message).toMatch(/cancel/)
    await journal.transition(a!, 'broadcast', 'dropped')
    await journal.transition(a!, 'dropped', 'failed', {
      error: { code: 'DROPPED', message: 'gone from the mempool' },
    })
    expect(await nonces.gaps(chainId, wallet)).toEqual([])
    // The failed intent keeps its nonce (it may still be mined); `failed` is final, so no replacement now.
    await expect(nonces.reserve(chainId, wallet, cancel!, { replaces: a! })).rejects.toBeInstanceOf(
      NonceConflictError,
    )
    expect(await nonces.reserve(chainId, wallet, next!)).toBe(nonce + 1)
  })

  it('a speed-up or cancel shares the nonce of the intent it replaces', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, speedUp, other] = await intents(journal, wallet, 3)
    const nonce = await nonces.reserve(chainId, wallet, a!)
    await expect(nonces.reserve(chainId, wallet, speedUp!, { replaces: a! })).rejects.toBeInstanceOf(
      NonceConflictError,
    ) // not in flight yet
    await journal.transition(a!, 'created', 'signed', { txHash })
    await journal.transition(a!, 'signed', 'broadcast')
    expect(await nonces.reserve(chainId, wallet, speedUp!, { replaces: a! })).toBe(nonce)
    expect(await nonces.reserve(chainId, wallet, speedUp!, { replaces: a! })).toBe(nonce)
    expect((await journal.get(speedUp!)).replaces).toBe(a)
    expect(await nonces.reserve(chainId, wallet, other!)).toBe(nonce + 1)
    // A replacement that fails before broadcast gives nothing back: the nonce is the original's.
    await journal.transition(speedUp!, 'created', 'failed', { error: refused })
    expect(await nonces.gaps(chainId, wallet)).toEqual([])
  })

  it('the database itself refuses a second live holder of a nonce', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, b] = await intents(journal, wallet, 2)
    const nonce = await nonces.reserve(chainId, wallet, a!)
    await expect(
      t.store.db.updateTable('intents').set({ nonce }).where('id', '=', b!).execute(),
    ).rejects.toThrow(/intents_nonce_unique/)
  })

  it('fillGap hands out only a gap, never a new nonce', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, filler] = await intents(journal, wallet, 2)
    await nonces.reserve(chainId, wallet, a!)
    expect(await nonces.fillGap(chainId, wallet, filler!)).toBeUndefined()
    expect((await journal.get(filler!)).nonce).toBeNull()
    expect(await nextNonce(wallet)).toBe(1)
  })

  it('self-heals when the chain is ahead: new nonces start at the chain’s, used gaps are dropped', async () => {
    const { chain, journal, nonces } = setup()
    const wallet = newWallet()
    chain.set(wallet, 3)
    const [a, b, c] = await intents(journal, wallet, 3)
    expect(await nonces.reserve(chainId, wallet, a!)).toBe(3)
    expect(await nonces.reserve(chainId, wallet, b!)).toBe(4)
    await nonces.release(chainId, wallet, 4)
    chain.set(wallet, 10) // the wallet was used elsewhere
    expect(await nonces.reserve(chainId, wallet, c!)).toBe(10)
    expect(await nonces.gaps(chainId, wallet)).toEqual([])
    expect(await nextNonce(wallet)).toBe(11)
  })

  it('resync after "nonce too low": next moves up (never down), used nonces are cleared or flagged', async () => {
    const { chain, journal, nonces } = setup()
    const wallet = newWallet()
    const [a, b, c, d] = await intents(journal, wallet, 4)
    for (const id of [a, b, c]) await nonces.reserve(chainId, wallet, id!)
    await journal.transition(b!, 'created', 'signed', { txHash, signedTx: '0x02' })
    chain.set(wallet, 2) // someone else's transactions used 0 and 1
    const result = await nonces.resync(chainId, wallet)
    expect(result).toEqual({ chainNonce: 2, nextNonce: 3, cleared: [a], stale: [b] })
    expect((await journal.get(a!)).nonce).toBeNull()
    expect((await journal.get(c!)).nonce).toBe(2)
    // The node refused b's nonce: back to created (nonce and signature cleared), reserve again, sign again.
    const requeued = await journal.transition(b!, 'signed', 'created', { detail: { node: 'nonce too low' } })
    expect(requeued).toMatchObject({ status: 'created', nonce: null, txHash: null, signedTx: null })
    expect((await journal.events(b!)).at(-1)?.data).toMatchObject({ clearedNonce: 1, clearedTxHash: txHash })
    expect(await nonces.reserve(chainId, wallet, b!)).toBe(3)
    expect(await nonces.reserve(chainId, wallet, a!)).toBe(4)
    chain.set(wallet, 20)
    expect((await nonces.resync(chainId, wallet)).nextNonce).toBe(20)
    chain.set(wallet, 1) // a lagging node never moves the counter down
    expect((await nonces.resync(chainId, wallet)).nextNonce).toBe(20)
    expect(await nonces.reserve(chainId, wallet, d!)).toBe(20)
  })

  it('refuses a nonce for an intent that is not created, is unknown, or belongs to another wallet', async () => {
    const { journal, nonces } = setup()
    const wallet = newWallet()
    const [a, b] = await intents(journal, wallet, 2)
    await journal.transition(a!, 'created', 'cancelled', { error: refused })
    await expect(nonces.reserve(chainId, wallet, a!)).rejects.toBeInstanceOf(NonceConflictError)
    await expect(nonces.reserve(chainId, wallet, 'int_missing')).rejects.toBeInstanceOf(NotFoundError)
    await expect(nonces.reserve(chainId, newWallet(), b!)).rejects.toBeInstanceOf(NonceConflictError)
    await expect(nonces.reserve(1, wallet, b!)).rejects.toBeInstanceOf(NonceConflictError)
    await expect(nonces.release(chainId, wallet, 99)).rejects.toBeInstanceOf(NonceConflictError)
    expect(await nextNonce(wallet)).toBeUndefined() // the refused calls handed nothing out, wrote nothing
  })
})
