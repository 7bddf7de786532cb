import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { x402Facilitator } from '@x402/core/facilitator'
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { toFacilitatorEvmSigner } from '@x402/evm'
import { ExactEvmScheme } from '@x402/evm/exact/facilitator'
import { type Chain, createWalletClient, http, publicActions } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { devnetMnemonic } from '../devnet/anvil.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'

/**
 * The account that pays the facilitator's gas: index 12 of the devnet mnemonic, past the ten funded accounts the
 * fixtures publish (so no test or demo balance of theirs moves), given ETH when the facilitator starts.
 */
export const facilitatorAccountIndex = 12

/** A facilitator the gateway runs on the embedded devnet (DESIGN §4, §9). */
export type DevnetFacilitator = {
  /** Its base URL (`http://127.0.0.1:<port>`): `/verify`, `/settle`, `/supported`, as any x402 facilitator. */
  readonly url: string
  /** The account that submits settlements and pays their gas. */
  readonly address: `0x${string}`
  close(): Promise<void>
}

/**
 * Starts an x402 facilitator for the devnet: the official `@x402/evm` "exact" facilitator (EIP-3009
 * `transferWithAuthorization`, signature, window, amount and balance checked, then submitted) over plain HTTP on
 * 127.0.0.1, with a devnet account of its own paying gas. The gateway talks to it with the same HTTP client it uses for a
 * production facilitator, so the demo exercises the real path.
 *
 * @example
 * const facilitator = await startDevnetFacilitator(fixtures)
 * // config: { payments: { facilitator: { url: facilitator.url } } }
 */
export async function startDevnetFacilitator(
  fixtures: DevnetFixtures,
  options: { port?: number | undefined } = {},
): Promise<DevnetFacilitator> {
  const account = mnemonicToAccount(devnetMnemonic, { addressIndex: facilitatorAccountIndex })
  const chain = {
    id: fixtures.chainId,
    name: fixtures.chain,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [fixtures.rpcUrl] } },
  } as const satisfies Chain
  // The devnet mines each transaction at once: poll its receipt often, not every 4 s.
  const client = createWalletClient({
    account,
    chain,
    transport: http(fixtures.rpcUrl),
    pollingInterval: 5,
  }).extend(publicActions)
  await client.request({
    method: 'anvil_setBalance' as never,
    params: [account.address, `0x${(1000n * 10n ** 18n).toString(16)}`] as never,
  })
  const signer = toFacilitatorEvmSigner(
    { ...(client as never as Parameters<typeof toFacilitatorEvmSigner>[0]), address: account.address },
    { confirmationTimeoutMs: 30_000 },
  )
  const facilitator = new x402Facilitator().register(`eip155:${fixtures.chainId}`, new ExactEvmScheme(signer))
  // One settlement at a time: the account's nonces stay in order.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work)
    queue = next.catch(() => {})
    return next
  }

  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    void (async () => {
      try {
        if (req.method === 'GET' && path === '/supported') return reply(200, facilitator.getSupported())
        if (req.method !== 'POST' || (path !== '/verify' && path !== '/settle'))
          return reply(404, { error: 'not found' })
        const body = (await readJson(req)) as {
          paymentPayload?: PaymentPayload
          paymentRequirements?: PaymentRequirements
        }
        if (!body?.paymentPayload || !body.paymentRequirements)
          return reply(400, { error: 'paymentPayload and paymentRequirements are required' })
        const { paymentPayload, paymentRequirements } = body
        if (path === '/verify')
          return reply(200, await facilitator.verify(paymentPayload, paymentRequirements))
        return reply(200, await serial(() => facilitator.settle(paymentPayload, paymentRequirements)))
      } catch (error) {
        const e = error as { invalidReason?: string; errorReason?: string; message?: string }
        if (path === '/verify')
          return reply(200, { isValid: false, invalidReason: e.invalidReason ?? 'unexpected_verify_error' })
        return reply(200, {
          success: false,
          errorReason: e.errorReason ?? 'unexpected_settle_error',
          transaction: '',
          network: `eip155:${fixtures.chainId}`,
        })
      }
    })()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    address: account.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A JSON request body of at most 64 KiB. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > 64 * 1024) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}
