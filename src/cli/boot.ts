import { readFileSync } from 'node:fs'
import { readFile, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { SolanaDevnetFixtures } from '../devnet/solana/fixtures.js'
import { InvalidConfigError, toBaseError } from '../errors/index.js'
import type { AdminServer } from '../server/admin.js'
import { createGateway, type Gateway } from '../server/createGateway.js'
import type { Signer } from '../signer/signer.js'
import type { SolanaSigner } from '../signer/solanaSigner.js'
import { DataDirInUseError, type DataDirLock, lockDataDir } from '../store/lockDataDir.js'
import type { Store } from '../store/openStore.js'
import type { PgliteThread } from '../store/pgliteThread.js'
import { cliCommand } from './cliCommand.js'
import { dataDirOf } from './dataDir.js'
import { adminFileName } from './operator.js'
import type { CliOptions } from './options.js'

/** A gateway plus whatever it started (the devnet), and one way to stop both. */
export type Booted = { gateway: Gateway; fixtures: DevnetFixtures | undefined; stop(): Promise<void> }

/**
 * Takes the data directory, starts the devnet when the options ask for it, then the gateway core. Logs go to
 * `log` (stderr), never stdout. The devnet module is imported only in devnet mode.
 *
 * @throws {DataDirInUseError} another gateway holds the data directory (nothing was started or written)
 */
export async function boot(
  options: CliOptions,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<Booted> {
  const attach = typeof options.config.devnet === 'object' ? options.config.devnet.fixtures : undefined
  const demo = options.devnet && !options.configPath
  const dataDir = dataDirOf(options.config, env)
  // A write path (a signer: the configured wallet, or devnet account 0) brings a store and the admin API.
  const writes = Boolean(options.config.wallet) || Boolean(attach) || options.devnet
  const storeOn = !writes ? undefined : env.DATABASE_URL ? 'postgres' : demo ? 'memory' : 'pglite'
  const announce = writes && options.config.admin?.enabled !== false
  // The data directory is this process's before anything starts or is written (ADVERSARIAL 68): the embedded
  // database and `admin.json` belong to one gateway. A second one is refused here, having touched nothing. On
  // PostgreSQL several gateways share the store; the first to take the directory announces its admin API.
  let lock: DataDirLock | undefined
  if (storeOn === 'pglite' || (storeOn !== undefined && announce)) {
    try {
      process.umask(0o077) // what this process creates is private from the start (PGlite re-modes its own files)
    } catch {}
    try {
      lock = await lockDataDir(dataDir, { role: 'gateway' })
    } catch (error) {
      if (!(storeOn === 'postgres' && error instanceof DataDirInUseError)) throw error
      log(
        `admin API not announced in ${dataDir}: gateway pid ${error.holder.pid} holds it (both serve the same PostgreSQL store)`,
      )
    }
  }
  // The embedded database's thread starts compiling now, while the devnet, the signer and the gateway come up.
  const thread =
    storeOn === 'pglite' || storeOn === 'memory'
      ? await import('../store/pgliteThread.js').then(({ pgliteWorkerFile, preparePgliteThread }) => {
          const file = pgliteWorkerFile()
          return file ? preparePgliteThread(file) : undefined
        })
      : undefined
  try {
    return await bootLocked(options, env, log, { attach, demo, dataDir, lock, thread })
  } catch (error) {
    await thread?.dispose()
    await lock?.release()
    throw error
  }
}

async function bootLocked(
  options: CliOptions,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  held: {
    attach: string | undefined
    demo: boolean
    dataDir: string
    lock: DataDirLock | undefined
    thread: PgliteThread | undefined
  },
): Promise<Booted> {
  const { attach, demo, dataDir, lock, thread } = held
  let stopDevnet = async () => {}
  let fixtures: DevnetFixtures | undefined
  let solanaFixtures: SolanaDevnetFixtures | undefined
  if (attach) {
    // A devnet that outlives the gateway (started with `airlock devnet --json > FILE`): restarts keep the chain.
    fixtures = readFixtures(attach)
    log(`devnet: attached to chain id ${fixtures.chainId} at ${fixtures.rpcUrl}`)
    solanaFixtures = readSolanaFixtures(attach)
  } else if (options.devnet) {
    const [{ startDevnet }, { startSolanaDevnet }] = await Promise.all([
      import('../devnet/startDevnet.js'),
      import('../devnet/solana/startSolanaDevnet.js'),
    ])
    const started = Date.now()
    // The EVM devnet and the Solana one start side by side; if one fails, the other is stopped.
    const [evm, solana] = await Promise.allSettled([
      startDevnet({
        ...(options.devnetPort ? { port: options.devnetPort } : {}),
        ...(typeof options.config.devnet === 'object' && options.config.devnet.chainId
          ? { chainId: options.config.devnet.chainId }
          : {}),
      }),
      startSolanaDevnet(),
    ])
    if (evm.status === 'rejected' || solana.status === 'rejected') {
      if (evm.status === 'fulfilled') await evm.value.stop()
      if (solana.status === 'fulfilled') await solana.value.stop()
      throw evm.status === 'rejected' ? evm.reason : (solana as PromiseRejectedResult).reason
    }
    const devnet = evm.value
    fixtures = devnet.fixtures
    solanaFixtures = solana.value.fixtures
    stopDevnet = async () => {
      await Promise.all([devnet.stop(), solana.value.stop()])
    }
    log(
      `devnet: chain id ${devnet.fixtures.chainId} at ${devnet.fixtures.rpcUrl}, fixtures deployed in ${Date.now() - started} ms`,
    )
    log(`solana devnet: ${solana.value.fixtures.chain} (${solana.value.caip2}) at ${solana.value.rpcUrl}`)
  }
  // The signer first (a wrong password must stop the start); without one the gateway is read-only and opens no
  // store. The store opens in the background, so tools/list answers at once; writes wait for it and for restart
  // reconciliation. PostgreSQL when DATABASE_URL is set; in demo mode (devnet, no config) an in-memory database,
  // since the demo chain is new at every start; otherwise the embedded database under the data directory.
  let signer: Signer | undefined
  let solanaSigner: SolanaSigner | undefined
  try {
    signer = await loadSigner(options, env, dataDir, fixtures)
    solanaSigner = await loadSolanaSigner(options, env, dataDir, solanaFixtures)
  } catch (error) {
    await stopDevnet()
    throw error
  }
  let store: Promise<Store> | undefined
  if (signer || solanaSigner) {
    if (signer) log(`wallet: ${signer.address}${options.config.wallet ? '' : ' (devnet account 0)'}`)
    if (solanaSigner)
      log(
        `solana wallet: ${solanaSigner.address}${options.config.solanaWallet ? '' : ' (Solana devnet account 0)'}`,
      )
    store = import('../store/openStore.js').then(({ openStore }) =>
      openStore(
        env.DATABASE_URL
          ? { databaseUrl: env.DATABASE_URL, schema: env.AIRLOCK_DB_SCHEMA }
          : demo
            ? { memory: true, thread }
            : { dataDir, lock, thread },
      ).catch(async (error: unknown) => {
        await thread?.dispose()
        throw error
      }),
    )
  } else {
    await thread?.dispose()
    log('no wallet configured: read tools only (see "Wallets and writes" in the README)')
  }
  // Demo mode prices two tools in devnet USDC (x402, settled by a facilitator the gateway runs on the devnet).
  const config =
    demo && fixtures && options.config.payments === undefined
      ? { ...options.config, payments: (await import('../payments/demoPrices.js')).demoPayments(fixtures) }
      : options.config
  const gateway = createGateway({
    config,
    configDir: options.configPath ? dirname(resolve(options.configPath)) : undefined,
    log,
    devnet: fixtures,
    solanaDevnet: solanaFixtures,
    env,
    operatorCommand: cliCommand(options.configPath, env),
    writes: store && { store, signer, solanaSigner, crashAt: parseCrashAt(env.AIRLOCK_TEST_CRASH_AT) },
  })
  // The operator's API (approvals, kill switch, audit), announced in the data directory so `airlock approve`
  // and friends find this process (PGlite admits one process; the CLI must come through here). Only the holder
  // of the data directory writes `admin.json`, and only the process that wrote it removes it.
  let admin: AdminServer | undefined
  let announced: { path: string; text: string } | undefined
  if (gateway.operator && options.config.admin?.enabled !== false) {
    const { startAdminServer } = await import('../server/admin.js')
    admin = await startAdminServer({
      operator: gateway.operator,
      host: options.config.admin?.host,
      port: options.config.admin?.port,
      token: env.AIRLOCK_ADMIN_TOKEN,
    })
    if (lock) {
      const path = join(dataDir, adminFileName)
      const text = JSON.stringify({ url: admin.url, token: admin.token, pid: process.pid })
      // Written under a fresh name and renamed: the token never sits in a file with looser permissions, and a
      // reader never sees half a file. One left by a gateway that died is replaced: this process holds the dir.
      const temporary = `${path}.${process.pid}.tmp`
      try {
        await writeFile(temporary, text, { mode: 0o600, flag: 'wx' })
        await rename(temporary, path)
        announced = { path, text }
      } catch (error) {
        await unlink(temporary).catch(() => {})
        log(`admin API at ${admin.url}, but ${dataDir} is not writable: ${(error as Error).message}`)
      }
    }
    log(`admin API: ${admin.url} (token in ${announced?.path ?? 'AIRLOCK_ADMIN_TOKEN'})`)
  }
  gateway.ready.then(
    (report) => {
      const r = report as { checked: number; byStatus: Record<string, number> } | undefined
      if (r?.checked) log(`reconciled ${r.checked} unfinished intent(s): ${JSON.stringify(r.byStatus)}`)
    },
    (error: unknown) => log(`write path unavailable: ${toBaseError(error).message}`),
  )
  return {
    gateway,
    fixtures,
    async stop() {
      await admin?.close()
      if (announced) await retract(announced)
      await gateway.close()
      await store?.then((s) => s.close()).catch(() => {})
      await stopDevnet()
      await lock?.release()
    },
  }
}

/** Removes `admin.json` if it is still the one this process wrote (never another gateway's). */
async function retract(announced: { path: string; text: string }): Promise<void> {
  const found = await readFile(announced.path, 'utf8').catch(() => undefined)
  if (found === announced.text) await rm(announced.path, { force: true })
}

/**
 * Reads the fixtures JSON `airlock devnet --json` printed.
 * @throws {InvalidConfigError} the file cannot be read or holds no fixtures
 */
export function readFixtures(path: string): DevnetFixtures {
  let value: Partial<DevnetFixtures>
  try {
    value = JSON.parse(readFileSync(path, 'utf8')) as Partial<DevnetFixtures>
  } catch (error) {
    throw new InvalidConfigError(`Cannot read devnet fixtures from ${path}: ${(error as Error).message}.`, {
      field: 'devnet.fixtures',
      metaMessages: ['Write them with `airlock devnet --json > FILE` while that devnet runs.'],
    })
  }
  if (
    typeof value.chainId !== 'number' ||
    typeof value.rpcUrl !== 'string' ||
    !value.tokens ||
    !value.uniswapV3
  )
    throw new InvalidConfigError(`${path} does not hold devnet fixtures (chainId, rpcUrl, tokens, …).`, {
      field: 'devnet.fixtures',
      metaMessages: ['Write them with `airlock devnet --json > FILE`.'],
    })
  return value as DevnetFixtures
}

/** The signing wallet: the configured keystore (password from AIRLOCK_WALLET_PASSWORD), else devnet account 0. */
async function loadSigner(
  options: CliOptions,
  env: NodeJS.ProcessEnv,
  dataDir: string,
  fixtures: DevnetFixtures | undefined,
): Promise<Signer | undefined> {
  const { createSigner } = await import('../signer/signer.js')
  const ref = options.config.wallet
  if (!ref)
    return fixtures
      ? createSigner({ backend: 'devnet', accountIndex: 0, chainId: fixtures.chainId })
      : undefined
  const password = env.AIRLOCK_WALLET_PASSWORD
  if (!password)
    throw new InvalidConfigError(`The config names wallet "${ref}" but AIRLOCK_WALLET_PASSWORD is not set.`, {
      field: 'wallet',
      metaMessages: [
        'Set AIRLOCK_WALLET_PASSWORD to the keystore password, or remove `wallet` for read-only use.',
      ],
    })
  const { createWalletStore } = await import('../signer/walletStore.js')
  const keystore = await createWalletStore({ dataDir }).load(ref)
  return createSigner({ backend: 'keystore', keystore, password })
}

/**
 * The Solana wallet: the configured `solanaWallet` keystore (the same password), else on the Solana devnet its
 * account 0, else none (Solana writes then say no Solana wallet is configured).
 */
async function loadSolanaSigner(
  options: CliOptions,
  env: NodeJS.ProcessEnv,
  dataDir: string,
  fixtures: SolanaDevnetFixtures | undefined,
): Promise<SolanaSigner | undefined> {
  const { createSolanaSigner } = await import('../signer/solanaSigner.js')
  const ref = options.config.solanaWallet
  if (!ref) {
    const account = fixtures?.accounts[0]
    if (!account || options.config.wallet) return undefined
    const { getBase58Encoder } = await import('@solana/kit')
    return createSolanaSigner({ secretKey: new Uint8Array(getBase58Encoder().encode(account.secretKey)) })
  }
  const password = env.AIRLOCK_WALLET_PASSWORD
  if (!password)
    throw new InvalidConfigError(
      `The config names Solana wallet "${ref}" but AIRLOCK_WALLET_PASSWORD is not set.`,
      { field: 'solanaWallet', metaMessages: ['Set AIRLOCK_WALLET_PASSWORD, or remove `solanaWallet`.'] },
    )
  const { createWalletStore } = await import('../signer/walletStore.js')
  const store = createWalletStore({ dataDir })
  const entry = await store.solanaWallet(ref)
  if (!entry)
    throw new InvalidConfigError(`No Solana wallet "${ref}" in the keystore.`, { field: 'solanaWallet' })
  return createSolanaSigner({ keystore: await store.load(entry.address, { family: 'solana' }), password })
}

/** The Solana fixtures a fixtures file from `airlock devnet --json` carries (under `solana`), if any. */
export function readSolanaFixtures(path: string): SolanaDevnetFixtures | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { solana?: SolanaDevnetFixtures }
    return parsed.solana?.genesisHash && parsed.solana.rpcUrl ? parsed.solana : undefined
  } catch {
    return undefined
  }
}

/** `AIRLOCK_TEST_CRASH_AT`: a crash-test hook, honoured only on the devnet (see createWritePath). */
function parseCrashAt(value: string | undefined): 'after-sign' | 'after-broadcast' | undefined {
  return value === 'after-sign' || value === 'after-broadcast' ? value : undefined
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
}
