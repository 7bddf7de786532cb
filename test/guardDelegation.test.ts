import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineChain, type Hex, keccak256 } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChainContext, createChains } from '../src/chains/chains.js'
import { delegationCode, guardAddress, guardCodeHash, readGuardStatus } from '../src/chains/evm/guard.js'
import { disableGuard, enableGuard } from '../src/chains/evm/guardDelegation.js'
import { parseCli } from '../src/cli/options.js'
import { type WalletIo, wallet } from '../src/cli/wallet.js'
import { type AnvilInstance, startAnvil } from '../src/devnet/anvil.js'
import { jsonRpc } from '../src/devnet/jsonRpc.js'
import { BaseError } from '../src/errors/index.js'
import { createSigner } from '../src/signer/signer.js'
import { useDevnet } from './devnet.js'
import { tempDir } from './tempDir.js'

const devnet = useDevnet({ isolate: true })

/** A chain context on an RPC URL, as the gateway builds one. */
function chainAt(rpcUrl: string, id = 31337): { chain: ChainContext; close(): void } {
  const chains = createChains({
    extra: [
      {
        name: 'bare',
        chain: defineChain({
          id,
          name: 'bare anvil',
          nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
          rpcUrls: { default: { http: [rpcUrl] } },
        }),
        testnet: true,
        rpc: [rpcUrl],
      },
    ],
    publicFallback: false,
  })
  return { chain: chains.resolve('bare'), close: () => chains.close() }
}

async function rejection(promise: Promise<unknown>): Promise<BaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(BaseError)
  return error as BaseError
}

function captureIo(): WalletIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (text: string) => {
      io.out += text
    },
    stderr: (text: string) => {
      io.err += text
    },
    isTTY: false,
    readHidden: async () => '',
    readStdin: async () => '',
  }
  return io
}

describe('the embedded devnet', () => {
  it('starts with the guard deployed and enforced for the gateway wallet (account 0)', async () => {
    const { chain, close } = chainAt(devnet.rpcUrl, devnet.chainId)
    try {
      expect(devnet.guard).toBe(guardAddress)
      expect(await readGuardStatus(chain, devnet.accounts[0]!)).toMatchObject({
        mode: 'enforced',
        deployed: true,
      })
      // The other accounts stay plain.
      expect((await readGuardStatus(chain, devnet.accounts[1]!)).mode).toBe('off')
    } finally {
      close()
    }
  })
})

describe('airlock wallet guard (the command functions, on the devnet)', () => {
  let config: string
  let dataDir: string
  let missingChain: string
  beforeAll(() => {
    const dir = tempDir('guard-cli')
    dataDir = join(dir, 'data')
    const fixtures = join(dir, 'fixtures.json')
    writeFileSync(fixtures, JSON.stringify(devnet))
    config = join(dir, 'airlock.json')
    writeFileSync(config, JSON.stringify({ devnet: { fixtures }, dataDir }))
    missingChain = join(dir, 'no-wallet.json')
    writeFileSync(missingChain, JSON.stringify({ dataDir, rpc: { publicFallback: false } }))
  })

  const env = { PATH: process.env.PATH ?? '' }
  async function run(...argv: string[]) {
    const io = captureIo()
    const code = await wallet(parseCli(['wallet', 'guard', ...argv], env), env, io)
    return { code, ...io }
  }
  const status = async () =>
    JSON.parse((await run('status', '--chain', 'devnet', '--config', config, '--json')).out) as {
      mode: string
      wallet: string
      guard: { address: string; deployed: boolean; codeHash: string | null }
      expectedCodeHash: string
      delegatesTo: string | null
    }

  it('status → disable (off, no code) → enable (enforced), devnet account 0', async () => {
    const a0 = devnet.accounts[0]!
    const before = await status()
    expect(before).toMatchObject({
      mode: 'enforced',
      wallet: a0,
      guard: { address: guardAddress, deployed: true, codeHash: guardCodeHash },
      expectedCodeHash: guardCodeHash,
      delegatesTo: guardAddress.toLowerCase(),
    })
    const text = await run('status', '--chain', 'devnet', '--config', config)
    expect(text.out).toMatch(/Mode: +enforced/)
    expect(text.out).toContain(`${guardAddress}, deployed, code hash as expected`)

    const { chain, close } = chainAt(devnet.rpcUrl, devnet.chainId)
    try {
      const nonce = await chain.client.getTransactionCount({ address: a0 })
      const off = await run('disable', '--chain', 'devnet', '--config', config)
      expect(off.code).toBe(0)
      expect(off.out).toMatch(/Guard disabled on devnet/)
      expect(await chain.client.getCode({ address: a0 })).toBeUndefined()
      expect((await status()).mode).toBe('off')
      // One transaction, two nonces: its own and the authorization's.
      expect(await chain.client.getTransactionCount({ address: a0 })).toBe(nonce + 2)
      expect((await run('disable', '--chain', 'devnet', '--config', config)).out).toMatch(
        /already disabled.*nothing was sent/,
      )

      const on = await run('enable', '--chain', 'devnet', '--config', config, '--json')
      expect(JSON.parse(on.out)).toMatchObject({ mode: 'enforced', guard: guardAddress })
      expect(JSON.parse(on.out).deployTx).toBeUndefined() // already deployed
      expect(await chain.client.getCode({ address: a0 })).toBe(delegationCode(guardAddress))
      expect((await status()).mode).toBe('enforced')
      // No store in this data directory: nothing was opened or created there.
      expect(existsSync(join(dataDir, 'db'))).toBe(false)
    } finally {
      close()
    }
  })

  it('says what is missing: the subcommand, --chain, a known chain, a wallet', async () => {
    expect((await rejection(run('--config', config))).code).toBe('INVALID_INPUT')
    expect((await rejection(run('on', '--chain', 'devnet', '--config', config))).code).toBe('INVALID_INPUT')
    const noChain = await rejection(run('status', '--config', config))
    expect(noChain.code).toBe('INVALID_INPUT')
    expect(noChain.message).toMatch(/needs --chain/)
    expect((await rejection(run('status', '--chain', 'nowhere', '--config', config))).code).toBe(
      'CHAIN_NOT_FOUND',
    )
    const noWallet = await rejection(run('enable', '--chain', 'base', '--config', missingChain))
    expect(noWallet.code).toBe('WALLET_NOT_CONFIGURED')
  })

  it('the built CLI prints the status', () => {
    const cli = join(import.meta.dirname, '..', 'dist', 'airlock.mjs')
    if (!existsSync(cli)) return // `npm test` builds first; a bare `vitest run` may not have dist/
    const result = spawnSync(
      process.execPath,
      [cli, 'wallet', 'guard', 'status', '--chain', 'devnet', '--config', config, '--json'],
      { env: { PATH: process.env.PATH ?? '', HOME: dataDir }, encoding: 'utf8', timeout: 30_000 },
    )
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      chain: 'devnet',
      mode: 'enforced',
      wallet: devnet.accounts[0],
    })
  })
})

describe('delegation management on a bare chain', () => {
  let anvil: AnvilInstance
  beforeAll(async () => {
    anvil = await startAnvil()
  })
  afterAll(() => anvil?.stop())

  it('refuses to delegate to other code at the guard address, signing nothing; then deploys and enables', async () => {
    const { chain, close } = chainAt(anvil.rpcUrl)
    try {
      const signer = await createSigner({ backend: 'devnet', accountIndex: 5 })
      const other: Hex = '0x6080604052600080fd' // reverts on any call
      await jsonRpc(anvil.rpcUrl, [{ method: 'anvil_setCode', params: [guardAddress, other] }])
      const nonce = await chain.client.getTransactionCount({ address: signer.address, blockTag: 'pending' })
      const error = await rejection(enableGuard({ chain, signer }))
      expect(error.code).toBe('PRECONDITION_FAILED')
      expect(error.shortMessage).toMatch(/is not Airlock's guard/)
      expect(await chain.client.getTransactionCount({ address: signer.address, blockTag: 'pending' })).toBe(
        nonce,
      )
      expect(await chain.client.getCode({ address: signer.address })).toBeUndefined()
      expect((await readGuardStatus(chain, signer.address)).deployed).toBe(false)

      // The address emptied again: enable deploys the guard through the factory, then delegates.
      await jsonRpc(anvil.rpcUrl, [{ method: 'anvil_setCode', params: [guardAddress, '0x'] }])
      let used = 0
      const enabled = await enableGuard({
        chain,
        signer,
        onNoncesUsed: async ({ count }) => {
          used += count
        },
      })
      expect(enabled.status.mode).toBe('enforced')
      expect(enabled.deployTx).toMatch(/^0x[0-9a-f]{64}$/)
      expect(used).toBe(3) // the deployment, then the delegation and its authorization
      expect(keccak256((await chain.client.getCode({ address: guardAddress })) ?? '0x')).toBe(guardCodeHash)
      expect(await chain.client.getTransactionCount({ address: signer.address })).toBe(nonce + 3)

      const disabled = await disableGuard({ chain, signer })
      expect(disabled.status).toMatchObject({ mode: 'off', deployed: true })
      expect(await chain.client.getCode({ address: signer.address })).toBeUndefined()
    } finally {
      close()
    }
  })
})

describe('a chain without EIP-7702', () => {
  let anvil: AnvilInstance
  beforeAll(async () => {
    anvil = await startAnvil({ args: ['--hardfork', 'cancun'] })
  })
  afterAll(() => anvil?.stop())

  it('enable fails clearly before deploying anything; writes there stay unwrapped', async () => {
    const { chain, close } = chainAt(anvil.rpcUrl)
    try {
      const signer = await createSigner({ backend: 'devnet', accountIndex: 5 })
      const error = await rejection(enableGuard({ chain, signer }))
      expect(error.code).toBe('PRECONDITION_FAILED')
      expect(error.shortMessage).toMatch(/does not accept EIP-7702/)
      expect(error.message).toMatch(/unwrapped.*settled on their receipts/)
      expect(await chain.client.getCode({ address: guardAddress })).toBeUndefined()
      expect(await chain.client.getTransactionCount({ address: signer.address })).toBe(0)
    } finally {
      close()
    }
  })
})
