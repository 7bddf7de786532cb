import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  type Hex,
  http,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import artifacts from '../contracts/artifacts.json' with { type: 'json' }
import { devnetMnemonic } from '../src/devnet/anvil.js'
import { devnetChain } from '../src/devnet/devnetChain.js'
import { createSafeFetcher } from '../src/untrusted/safeFetch.js'
import { useDevnet } from './devnet.js'
import { connectInMemory, err, ok } from './mcp.js'

// ADVERSARIAL 51: contract reads never follow EIP-3668 off-chain lookups (CCIP-Read); ENS resolution follows them
// only through the SSRF guard. The contract names a gateway on 127.0.0.1 that records every request it gets.
const fixtures = useDevnet({ isolate: true })
const chain = devnetChain(fixtures)
const viem = createPublicClient({ chain, transport: http(fixtures.rpcUrl) })
const answeredAddress: Address = '0x00000000000000000000000000000000DeaDBeef'
const answeredBalance = 123_456n

/** A CCIP-Read gateway on loopback: answers every lookup and records it. */
let listener: Server
const received: { method: string; url: string; body: string }[] = []
let reader: Address
let postReader: Address

beforeAll(async () => {
  listener = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      received.push({ method: req.method ?? '', url: req.url ?? '', body })
      const data = (
        req.method === 'POST' ? JSON.parse(body).data : /\/(0x[0-9a-f]*)\.json$/.exec(req.url ?? '')?.[1]
      ) as Hex
      // addr(bytes32) is an ENS lookup: answer an address; anything else is the balance.
      const answer = data.startsWith('0x3b3b57de')
        ? encodeAbiParameters([{ type: 'address' }], [answeredAddress])
        : encodeAbiParameters([{ type: 'uint256' }], [answeredBalance])
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: answer }))
    })
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const { port } = listener.address() as AddressInfo
  reader = await deploy(`http://127.0.0.1:${port}/{sender}/{data}.json`)
  postReader = await deploy(`http://127.0.0.1:${port}/lookup`)
})
afterAll(async () => {
  listener.closeAllConnections()
  await new Promise<void>((resolve) => listener.close(() => resolve()))
})

async function deploy(gatewayUrl: string): Promise<Address> {
  const wallet = createWalletClient({
    account: mnemonicToAccount(devnetMnemonic, { addressIndex: 0 }),
    chain,
    transport: http(fixtures.rpcUrl),
  })
  const { abi, bytecode } = artifacts.contracts.OffchainLookupReader
  const hash = await wallet.deployContract({ abi, bytecode: bytecode as Hex, args: [gatewayUrl] })
  const address = (await viem.waitForTransactionReceipt({ hash })).contractAddress
  if (!address) throw new Error('OffchainLookupReader was not deployed')
  return address
}

/** A gateway whose ENS Universal Resolver is `resolver`; `permissive` lets its off-chain lookups reach loopback. */
function gatewayWith(resolver: Address, permissive: boolean) {
  return connectInMemory({
    config: { rpc: { publicFallback: false } },
    devnet: { ...fixtures, ensUniversalResolver: resolver },
    // TEST HOOKS of the SSRF guard: plain http and any address, so that a followed lookup would reach the listener.
    ...(permissive
      ? { ccipFetcher: createSafeFetcher({ allowHttp: true, isAddressAllowed: () => true }) }
      : {}),
  })
}

describe('EIP-3668 off-chain lookups (ADVERSARIAL 51)', () => {
  it('the listener answers a client that follows lookups (the contract works as the attack needs)', async () => {
    const follows = createPublicClient({ chain, transport: http(fixtures.rpcUrl) })
    const before = received.length
    await expect(
      follows.readContract({
        address: reader,
        abi: artifacts.contracts.OffchainLookupReader.abi,
        functionName: 'balanceOf',
        args: [fixtures.accounts[1]],
      }),
    ).resolves.toBe(answeredBalance)
    expect(received.length).toBe(before + 1)
  })

  it('read_contract does not follow the lookup: an error, and the listener gets no request', async () => {
    // Even with an ENS lookup path that could reach the listener, a contract read never follows one.
    for (const permissive of [false, true]) {
      const mcp = await gatewayWith(fixtures.ensUniversalResolver, permissive)
      try {
        const before = received.length
        for (const address of [reader, postReader]) {
          const result = await mcp.call('read_contract', {
            chain: 'devnet',
            address,
            function: 'function balanceOf(address owner) view returns (uint256)',
            args: [fixtures.accounts[1]],
          })
          expect(err(result)).toMatchObject({
            code: 'CONTRACT_REVERTED',
            message: expect.stringMatching(/off-chain lookup/),
          })
          expect(JSON.stringify(result)).not.toContain(answeredBalance.toString())
        }
        expect(received.length).toBe(before)
      } finally {
        await mcp.close()
      }
    }
  })

  it('every client the gateway builds for reads has CCIP-Read off', async () => {
    const mcp = await gatewayWith(fixtures.ensUniversalResolver, false)
    try {
      const devnet = mcp.gateway.chains.resolve('devnet')
      expect(devnet.client.ccipRead).toBe(false)
      for (const c of devnet.endpointClients?.() ?? []) expect(c.ccipRead).toBe(false)
      expect(devnet.ensClient.ccipRead).toMatchObject({ request: expect.any(Function) })
    } finally {
      await mcp.close()
    }
  })

  it('resolve_ens through a resolver that points at loopback is refused by the SSRF guard, before any request', async () => {
    const mcp = await gatewayWith(reader, false)
    try {
      const before = received.length
      for (const resolver of [reader, postReader]) {
        const other = resolver === reader ? mcp : await gatewayWith(postReader, false)
        try {
          const e = err(await other.call('resolve_ens', { name: 'victim.eth', chain: 'devnet' }))
          expect(e.code).toBe('UNTRUSTED_FETCH_BLOCKED')
          expect(e.message).toMatch(/private or reserved address|plain http/)
        } finally {
          if (other !== mcp) await other.close()
        }
      }
      expect(received.length).toBe(before)
    } finally {
      await mcp.close()
    }
  })

  it('resolve_ens follows a lookup the guard allows (GET and POST), and uses its answer', async () => {
    for (const resolver of [reader, postReader]) {
      const mcp = await gatewayWith(resolver, true)
      try {
        const before = received.length
        const out = ok(await mcp.call('resolve_ens', { name: 'victim.eth', chain: 'devnet' }))
        expect(out.address).toBe(answeredAddress)
        const requests = received.slice(before)
        expect(requests.some((r) => r.method === (resolver === reader ? 'GET' : 'POST'))).toBe(true)
        if (resolver === postReader)
          expect(JSON.parse(requests[0]!.body)).toMatchObject({ sender: resolver.toLowerCase() })
      } finally {
        await mcp.close()
      }
    }
  })
})
