import { createHash, randomBytes } from 'node:crypto'
import {
  createPublicClient,
  decodeFunctionData,
  encodeFunctionData,
  type Hash,
  type Hex,
  http,
  parseAbi,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guardAbi } from '../src/chains/evm/guard.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { createSigner, type Signer } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'

// ADVERSARIAL 52: very large inputs cost bounded, linear work. A held call with 100 KB of call data is stored in
// the approval and the audit as a digest, its size and a prefix (the journal keeps the call, which is what is
// signed); inputs beyond what a node accepts are refused up front.
const fixtures = useDevnet({ isolate: true })
const viem = createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) })
const target = fixtures.accounts[7]!
const store = parseAbi(['function store(bytes blob)'])
let signer: Signer
let db: Store
let g: Awaited<ReturnType<typeof connectInMemory>>

beforeAll(async () => {
  signer = await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
  db = await openMemoryStore()
  g = await connectInMemory({
    config: {
      rpc: { publicFallback: false },
      policy: {
        version: 1,
        rules: [{ id: 'hold-calls', effect: 'require_approval', match: { operation: ['write_contract'] } }],
      },
    },
    devnet: fixtures,
    writes: { store: db, signer, trackerIntervalMs: 100, maintainIntervalMs: 100 },
  })
  await g.gateway.ready
})
afterAll(async () => {
  await g.close()
  await db.close()
})

const sha256 = (hex: Hex) =>
  `0x${createHash('sha256')
    .update(Buffer.from(hex.slice(2), 'hex'))
    .digest('hex')}`
const nonceNow = () => viem.getTransactionCount({ address: signer.address, blockTag: 'pending' })

describe('large inputs (ADVERSARIAL 52)', () => {
  it('a held call with 100 KB of call data keeps a digest in the approval and the audit, and sends the whole call', async () => {
    const blob = `0x${randomBytes(100_000).toString('hex')}` as Hex
    const data = encodeFunctionData({ abi: store, functionName: 'store', args: [blob] })
    const held = ok(
      await g.call('write_contract', {
        chain: 'devnet',
        address: target,
        function: 'function store(bytes blob)',
        args: [blob],
      }),
    )
    expect(held.status).toBe('held')
    const operator = (await g.gateway.operator)!

    const approval = await operator.approvals.get(held.intentId)
    expect(approval.request.call).toEqual({
      to: target,
      value: '0',
      dataBytes: (data.length - 2) / 2,
      dataHash: sha256(data),
      dataPrefix: `${data.slice(0, 2 + 512)}…`,
    })
    expect(JSON.stringify(approval.request).length).toBeLessThan(4096)

    const entries = await operator.audit.read({ newestFirst: true, limit: 100 })
    const requested = entries.find((e) => e.kind === 'approval.requested' && e.intentId === held.intentId)
    expect(requested?.data).toMatchObject({ request: { call: { dataHash: sha256(data) } } })
    // No entry carries the payload: every one stays small.
    for (const entry of entries) expect(JSON.stringify(entry).length).toBeLessThan(16_384)
    expect(JSON.stringify(entries)).not.toContain(blob.slice(2, 20_000))

    // What is approved and sent is the whole call, from the journal.
    await operator.approvals.decide(held.intentId, 'approved', 'test', { expectHash: approval.intentHash })
    await operator.maintain()
    const sent = ok(await g.call('get_intent', { intentId: held.intentId }))
    expect(['broadcast', 'mined']).toContain(sent.status)
    const tx = await viem.getTransaction({ hash: sent.txHash as Hash })
    // The devnet wallet runs its writes through the on-chain guard: the call is the one inside `execute`.
    const { functionName, args } = decodeFunctionData({ abi: guardAbi, data: tx.input })
    expect(functionName).toBe('execute')
    const [calls] = args as [{ target: string; data: Hex }[]]
    expect(calls).toHaveLength(1)
    expect(calls[0]?.data).toBe(data)
  })

  it('an audit entry keeps a long string as its prefix, length and SHA-256, and the chain still verifies', async () => {
    const operator = (await g.gateway.operator)!
    const payload = `${'a1'.repeat(512 * 1024)} https://user:hunter2@rpc.example/`
    const { seq } = await operator.audit.append({ kind: 'test.large', data: { payload } })
    const [entry] = await operator.audit.read({ afterSeq: seq - 1, limit: 1 })
    const kept = entry?.data.payload as string
    const scrubbed = payload.replace('user:hunter2@', '***@')
    expect(kept).toBe(
      `${payload.slice(0, 512)}… [${scrubbed.length} characters in all, sha256 ${createHash('sha256').update(scrubbed).digest('hex')}]`,
    )
    expect((await operator.audit.verify()).ok).toBe(true)
  })

  it('arguments beyond what a node accepts are refused before anything runs, saying the limit', async () => {
    const before = await nonceNow()
    const mib = `0x${'ab'.repeat(1024 * 1024)}`
    const big = err(
      await g.call('write_contract', {
        chain: 'devnet',
        address: target,
        function: 'function store(bytes blob)',
        args: [mib],
      }),
    )
    expect(big).toMatchObject({ code: 'INVALID_INPUT', field: 'args' })
    expect(big.message).toMatch(/131072 bytes/)
    // Just over the limit once encoded: refused when the call is built.
    const over = err(
      await g.call('write_contract', {
        chain: 'devnet',
        address: target,
        function: 'function store(bytes blob)',
        args: [`0x${'cd'.repeat(128 * 1024)}`],
      }),
    )
    expect(over).toMatchObject({ code: 'INVALID_INPUT' })
    expect(over.message).toMatch(/at most 131072 bytes/)
    const deep = err(
      await g.call('read_contract', {
        chain: 'devnet',
        address: target,
        function: 'function f(uint256[][][][][][][][][][][][][][][][][] x) view returns (uint256)',
        args: [JSON.parse(`${'['.repeat(20)}1${']'.repeat(20)}`)],
      }),
    )
    expect(deep).toMatchObject({ code: 'INVALID_INPUT', field: 'args' })
    expect(deep.message).toMatch(/deep/)
    expect(await nonceNow()).toBe(before)
  })

  it('a typed-data message beyond the caps is refused with the reason', async () => {
    const out = err(
      await g.call('sign_typed_data', {
        chain: 'devnet',
        typedData: {
          domain: { name: 'x', version: '1', chainId: fixtures.chainId, verifyingContract: target },
          types: { Blob: [{ name: 'data', type: 'string' }] },
          primaryType: 'Blob',
          message: { data: 'x'.repeat(300 * 1024) },
        },
      }),
    )
    expect(out.code).toBe('INVALID_INPUT')
    expect(out.message).toMatch(/too large/)
  })
})
