import { createMcpHandler, createRequestStateCodec } from '@modelcontextprotocol/server'
import { type Address, createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { devnetChain } from '../src/devnet/devnetChain.js'
import type { ApprovalState } from '../src/server/askHuman.js'
import { createGateway, type Gateway } from '../src/server/createGateway.js'
import { approvalCodec, createMcpServerFactory } from '../src/server/mcpServer.js'
import { createSigner } from '../src/signer/signer.js'
import type { Store } from '../src/store/openStore.js'
import { openMemoryStore } from '../src/store/useTestStore.js'
import { useDevnet } from './devnet.js'
import { modernRevision } from './mcp.js'

// The requestState of a held write (MCP 2026-07-28 input-required results): what a client echoes back is
// attacker-controlled, so a replayed, expired, tampered or foreign one must approve nothing — asserted on chain.
const fixtures = useDevnet({ isolate: true })
const viem = createPublicClient({ chain: devnetChain(fixtures), transport: http(fixtures.rpcUrl) })
const to = fixtures.accounts[8] as Address
let store: Store
let gateway: Gateway
let handler: ReturnType<typeof createMcpHandler>

beforeAll(async () => {
  store = await openMemoryStore()
  gateway = createGateway({
    config: { rpc: { publicFallback: false }, approvals: { elicit: true } },
    devnet: fixtures,
    writes: {
      store,
      signer: await createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId }),
      trackerIntervalMs: 100,
    },
  })
  await gateway.ready
  const codec = await approvalCodec(gateway)
  handler = createMcpHandler(createMcpServerFactory(gateway, { transport: 'memory', codec }))
})
afterAll(async () => {
  await handler.close()
  await gateway.close()
  await store.close()
})

type Answer = {
  result?: {
    resultType?: string
    requestState?: string
    inputRequests?: Record<string, { method: string; params: { message: string } }>
    structuredContent?: Record<string, unknown>
    isError?: boolean
    content?: { text: string }[]
  }
  error?: { code: number; message: string }
}

/** One raw 2026-07-28 `tools/call` from a client that can ask its user. */
async function call(args: Record<string, unknown>, extra: Record<string, unknown> = {}, tool = 'transfer') {
  const response = await handler.fetch(
    new Request('http://127.0.0.1/mcp', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': modernRevision,
        'mcp-method': 'tools/call',
        'mcp-name': tool,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: tool,
          arguments: args,
          ...extra,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': modernRevision,
            'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
          },
        },
      }),
    }),
  )
  return (await response.json()) as Answer
}

const yes = { approve: { action: 'accept', content: { approve: true } } }
const errorCode = (a: Answer) => JSON.parse(a.result?.content?.[0]?.text ?? '{}').error?.code as string

/** Asks for a held transfer and returns the input-required answer and the intent it holds. */
async function held(amount: string) {
  const args = { chain: 'devnet', to, amount }
  const asked = await call(args)
  expect(asked.result?.resultType).toBe('input_required')
  expect(asked.result?.inputRequests?.approve?.method).toBe('elicitation/create')
  const state = asked.result!.requestState!
  const payload = JSON.parse(Buffer.from(state.split('.')[1]!, 'base64url').toString()).p as ApprovalState
  return { args, state, intentId: payload.intentId }
}

describe('the requestState of a held write', () => {
  it('a yes through the echoed state approves once; the replay is refused and nothing is sent twice', async () => {
    const before = await viem.getBalance({ address: to })
    const { args, state, intentId } = await held('0.01')
    expect((await (await gateway.operator)!.approvals.get(intentId)).status).toBe('pending')
    const done = await call({ ...args, wait: true }, { inputResponses: yes, requestState: state })
    // The state binds the arguments: `wait` changes them, so it is refused, and nothing moved.
    expect(errorCode(done)).toBe('FORBIDDEN')
    const approved = await call(args, { inputResponses: yes, requestState: state })
    expect(approved.result?.isError).toBeFalsy()
    expect(approved.result?.structuredContent?.intentId).toBe(intentId)
    const mined = await gateway.writes!.follow(intentId, { wait: true })
    expect(mined.status).toBe('mined')
    expect(await viem.getBalance({ address: to })).toBe(before + 10_000_000_000_000_000n)
    const replay = await call(args, { inputResponses: yes, requestState: state })
    expect(errorCode(replay)).toBe('CONFLICT')
    expect(await viem.getBalance({ address: to })).toBe(before + 10_000_000_000_000_000n)
  })

  it('a tampered, foreign-keyed or expired state is refused before anything runs, and the write stays held', async () => {
    const before = await viem.getBalance({ address: to })
    const { args, state, intentId } = await held('0.02')
    const [version, body, mac] = state.split('.') as [string, string, string]
    const forged = JSON.parse(Buffer.from(body, 'base64url').toString())
    forged.p.intentHash = `0x${'0'.repeat(64)}`
    const tampered = `${version}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`
    expect((await call(args, { inputResponses: yes, requestState: tampered })).error?.code).toBe(-32602)
    const otherKey = createRequestStateCodec<ApprovalState>({ key: new Uint8Array(32).fill(7) })
    const foreign = await otherKey.mint(forged.p)
    expect((await call(args, { inputResponses: yes, requestState: foreign })).error?.code).toBe(-32602)
    // Another tool with this state: refused as another call's.
    const otherTool = await call({ intentId }, { inputResponses: yes, requestState: state }, 'get_intent')
    expect(errorCode(otherTool)).toBe('FORBIDDEN')
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 11 * 60_000 })
    try {
      expect((await call(args, { inputResponses: yes, requestState: state })).error?.code).toBe(-32602)
    } finally {
      vi.useRealTimers()
    }
    expect((await (await gateway.operator)!.approvals.get(intentId)).status).toBe('pending')
    expect(await viem.getBalance({ address: to })).toBe(before)
  })

  it('polling get_intent on a held write asks nothing (only a write is put to the human), and retries are audited', async () => {
    const { intentId, state, args } = await held('0.05')
    const polled = await call({ intentId }, {}, 'get_intent')
    expect(polled.result?.resultType).not.toBe('input_required')
    expect(polled.result?.structuredContent?.status).toBe('held')
    await call(args, { inputResponses: { approve: { action: 'cancel' } }, requestState: state })
    // Tool calls are audited without making the caller wait; the log is one chain, so once a later entry is in,
    // every earlier one is too.
    const audit = (await gateway.operator)!.audit
    await audit.append({ kind: 'test.marker', data: {} })
    const entries = await audit.read({ newestFirst: true, limit: 50 })
    const calls = entries.filter(
      (e) => e.kind === 'tool.call' && (e.data as { tool?: string; args?: string }).args?.includes('0.05'),
    )
    expect(calls.length).toBeGreaterThanOrEqual(2) // the call that was held, and the answer that continued it
    for (const e of calls) expect(e.actor).toBe('operator:local')
  })

  it('a no cancels the write; a dismissed prompt leaves it held for the operator', async () => {
    const before = await viem.getBalance({ address: to })
    const first = await held('0.03')
    const no = await call(first.args, {
      inputResponses: { approve: { action: 'decline' } },
      requestState: first.state,
    })
    expect(no.result?.structuredContent?.status).toBe('cancelled')
    const second = await held('0.04')
    const dismissed = await call(second.args, {
      inputResponses: { approve: { action: 'cancel' } },
      requestState: second.state,
    })
    expect(dismissed.result?.structuredContent?.status).toBe('held')
    expect(await viem.getBalance({ address: to })).toBe(before)
  })
})
