import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Address, type Hex, keccak256 } from 'viem'
import { type Chains, createChains } from '../chains/chains.js'
import { guardAddress, guardCodeHash, readGuardStatus } from '../chains/evm/guard.js'
import type { GuardDelegationParameters } from '../chains/evm/guardDelegation.js'
import { devnetChain } from '../devnet/devnetChain.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import { BaseError, InvalidInputError } from '../errors/index.js'
import type { DelegatingSigner } from '../signer/signer.js'
import { dataDirOf } from './dataDir.js'
import { adminFileName } from './operator.js'
import type { CliOptions } from './options.js'
import type { WalletIo } from './wallet.js'

type Env = Readonly<Record<string, string | undefined>>

/** The wallet a guard command acts for: the config's keystore wallet, or devnet account 0 on an attached devnet. */
type GuardWallet = {
  address: Address
  /** `keystore "ops"` or `devnet account 0`. */
  describe: string
  /** Decrypts the keystore (or derives the devnet key) only when something is signed. */
  signer(): Promise<DelegatingSigner>
}

/**
 * `airlock wallet guard status|enable|disable --chain C`: the gateway wallet's EIP-7702 delegation to Airlock's
 * post-condition guard (DESIGN §11) on one chain. `status` reads the chain only; `enable` deploys the guard
 * through the CREATE2 factory when its address is empty and delegates the wallet to it; `disable` undelegates.
 * The wallet is the config's `wallet` (password from AIRLOCK_WALLET_PASSWORD, else a prompt), or devnet account 0
 * on a devnet the config attaches to (`devnet.fixtures`).
 *
 * @example airlock wallet guard enable --chain base --config airlock.json
 * @throws {InvalidInputError} no subcommand or no --chain
 * @throws {ChainNotFoundError} the chain is not served
 * @throws {BaseError} WALLET_NOT_CONFIGURED; PRECONDITION_FAILED (see enableGuard / disableGuard)
 */
export async function walletGuard(options: CliOptions, env: Env, io: WalletIo): Promise<number> {
  const [, sub, ...extra] = options.args
  if ((sub !== 'status' && sub !== 'enable' && sub !== 'disable') || extra.length > 0)
    throw new InvalidInputError(
      sub === undefined
        ? '`airlock wallet guard` needs a subcommand.'
        : `Unknown wallet guard subcommand "${sub.replace(/[^\w-]/g, '').slice(0, 20)}".`,
      { metaMessages: ['Use `airlock wallet guard status|enable|disable --chain C`.'] },
    )
  if (!options.chain)
    throw new InvalidInputError(`\`airlock wallet guard ${sub}\` needs --chain.`, {
      field: 'chain',
      metaMessages: ['Name the chain: a registry name (base), a chain id (8453) or CAIP-2 (eip155:8453).'],
    })
  const devnet = await attachedDevnet(options)
  const chains = buildChains(options, env, devnet)
  try {
    const chain = chains.resolve(options.chain)
    const wallet = await guardWallet(options, env, io, devnet, chain.id)
    if (sub === 'status') {
      const [status, guardCode] = await Promise.all([
        readGuardStatus(chain, wallet.address),
        chain.client.getCode({ address: guardAddress }),
      ])
      const codeHash = guardCode && guardCode !== '0x' ? keccak256(guardCode) : undefined
      const result = {
        chain: chain.name,
        caip2: chain.caip2,
        wallet: wallet.address,
        mode: status.mode,
        guard: { address: guardAddress, deployed: status.deployed, codeHash: codeHash ?? null },
        expectedCodeHash: guardCodeHash,
        delegatesTo: status.delegatesTo ?? null,
      }
      if (options.json) io.stdout(`${JSON.stringify(result)}\n`)
      else io.stdout(showStatus(result, wallet.describe))
      return 0
    }
    const { enableGuard, disableGuard } = await import('../chains/evm/guardDelegation.js')
    const caps = options.config.chains?.[chain.name]
    let moved = false
    const parameters: GuardDelegationParameters = {
      chain,
      signer: await wallet.signer(),
      fees: {
        maxFeePerGasGwei: caps?.maxFeePerGasGwei,
        maxPriorityFeePerGasGwei: caps?.maxPriorityFeePerGasGwei,
      },
      onNoncesUsed: async () => {
        moved = true
      },
    }
    const result = sub === 'enable' ? await enableGuard(parameters) : await disableGuard(parameters)
    const notes = moved ? await resyncNonces(options, env, chain.id, wallet.address, chains) : []
    if (options.json)
      io.stdout(
        `${JSON.stringify({
          chain: chain.name,
          caip2: chain.caip2,
          wallet: wallet.address,
          mode: result.status.mode,
          guard: guardAddress,
          ...(result.deployTx ? { deployTx: result.deployTx } : {}),
          ...(result.delegationTx ? { delegationTx: result.delegationTx } : {}),
        })}\n`,
      )
    else {
      const lines = [
        result.delegationTx === undefined
          ? `The guard is already ${sub === 'enable' ? 'enabled' : 'disabled'} for ${wallet.address} on ${chain.name}; nothing was sent.`
          : sub === 'enable'
            ? `Guard enabled on ${chain.name}: ${wallet.address} delegates to ${guardAddress}; its writes run through the guard.`
            : `Guard disabled on ${chain.name}: ${wallet.address} is a plain account again; its writes go out unwrapped and are settled on their receipts.`,
        ...(result.deployTx ? [`Guard deployed: ${result.deployTx}`] : []),
        ...(result.delegationTx ? [`Delegation transaction: ${result.delegationTx}`] : []),
      ]
      io.stdout(`${lines.join('\n')}\n`)
    }
    for (const note of notes) io.stderr(`airlock: ${note}\n`)
    return 0
  } finally {
    chains.close()
  }
}

function showStatus(
  s: {
    chain: string
    caip2: string
    wallet: Address
    mode: string
    guard: { address: Address; deployed: boolean; codeHash: Hex | null }
    delegatesTo: Address | null
  },
  who: string,
): string {
  const mode = {
    enforced: 'enforced (writes run through the guard and revert when a post-condition fails)',
    off: 'off (a plain account: writes go out unwrapped and are settled on their receipts)',
    foreign: 'foreign (the wallet has code that is not the guard: writes are unwrapped; see below)',
  }[s.mode]
  const guard = s.guard.deployed
    ? `${s.guard.address}, deployed, code hash as expected`
    : s.guard.codeHash
      ? `${s.guard.address} holds OTHER code (hash ${s.guard.codeHash}): enable is refused`
      : `${s.guard.address}, not deployed (enable deploys it)`
  const delegates =
    s.delegatesTo === null
      ? s.mode === 'foreign'
        ? 'no delegation, but the account has code'
        : 'none'
      : s.delegatesTo.toLowerCase() === s.guard.address.toLowerCase()
        ? `${s.delegatesTo} (the guard)`
        : `${s.delegatesTo} (NOT the guard)`
  return [
    `Chain:        ${s.chain} (${s.caip2})`,
    `Wallet:       ${s.wallet} (${who})`,
    `Mode:         ${mode}`,
    `Guard:        ${guard}`,
    `Delegates to: ${delegates}`,
    '',
  ].join('\n')
}

/** A devnet the config attaches to (`devnet.fixtures`, written by `airlock devnet --json`). */
async function attachedDevnet(options: CliOptions): Promise<DevnetFixtures | undefined> {
  const devnet = options.config.devnet
  if (typeof devnet !== 'object' || !devnet.fixtures) return undefined
  return (await import('./boot.js')).readFixtures(devnet.fixtures)
}

function buildChains(options: CliOptions, env: Env, devnet: DevnetFixtures | undefined): Chains {
  const { config } = options
  return createChains({
    settings: config.chains,
    extra: devnet
      ? [
          {
            name: devnet.chain,
            chain: devnetChain(devnet),
            testnet: true,
            rpc: config.chains?.[devnet.chain]?.rpc ?? [devnet.rpcUrl],
          },
        ]
      : [],
    env,
    publicFallback: config.rpc?.publicFallback,
    transport: {
      ...(config.rpc?.timeoutMs === undefined ? {} : { timeoutMs: config.rpc.timeoutMs }),
      ...(config.rpc?.hedgeDelayMs === undefined ? {} : { hedgeDelayMs: config.rpc.hedgeDelayMs }),
    },
  })
}

async function guardWallet(
  options: CliOptions,
  env: Env,
  io: WalletIo,
  devnet: DevnetFixtures | undefined,
  chainId: number,
): Promise<GuardWallet> {
  const ref = options.config.wallet
  const { createSigner } = await import('../signer/signer.js')
  if (!ref) {
    if (devnet && devnet.chainId === chainId && devnet.accounts[0])
      return {
        address: devnet.accounts[0],
        describe: 'devnet account 0',
        signer: () => createSigner({ backend: 'devnet', accountIndex: 0, chainId }),
      }
    throw new BaseError(
      'WALLET_NOT_CONFIGURED',
      'No wallet is configured, so there is no delegation to manage.',
      {
        metaMessages: [
          'Name the gateway wallet in the config (`"wallet": "<label or address>"`, see `airlock wallet list`)',
          'and pass it with --config FILE (or AIRLOCK_CONFIG).',
        ],
      },
    )
  }
  const { createWalletStore } = await import('../signer/walletStore.js')
  const store = createWalletStore({ dataDir: dataDirOf(options.config, env) })
  const entry = await store.find(ref)
  return {
    address: entry.address as Address,
    describe: `keystore${entry.label ? ` "${entry.label}"` : ''}`,
    async signer() {
      const password = env.AIRLOCK_WALLET_PASSWORD ?? (await promptPassword(io, entry.address))
      return createSigner({ backend: 'keystore', keystore: await store.load(ref), password })
    },
  }
}

async function promptPassword(io: WalletIo, address: string): Promise<string> {
  if (!io.isTTY)
    throw new InvalidInputError(
      'No wallet password: AIRLOCK_WALLET_PASSWORD is not set and there is no terminal to prompt on.',
      {
        field: 'password',
        metaMessages: [
          'Set AIRLOCK_WALLET_PASSWORD in the environment (from a secret manager, not a shell history), or run the command in a terminal to be prompted.',
        ],
      },
    )
  return io.readHidden(`Password of wallet ${address}: `)
}

/**
 * The delegation used the wallet's nonces outside the gateway's nonce manager (two per delegation). Each
 * reservation already takes max(the database's next nonce, the chain's pending), and a running gateway resyncs
 * and re-signs when a node says a nonce is taken; when no gateway runs on this data directory, the store's
 * counter is resynced here as well, so it never trails the chain.
 */
async function resyncNonces(
  options: CliOptions,
  env: Env,
  chainId: number,
  wallet: Address,
  chains: Chains,
): Promise<string[]> {
  const dataDir = dataDirOf(options.config, env)
  if (!env.DATABASE_URL && existsSync(join(dataDir, adminFileName)))
    return [
      'a gateway may be running on this data directory: it takes the wallet nonces the delegation used from the chain at its next write.',
    ]
  if (!env.DATABASE_URL && !existsSync(join(dataDir, 'db', 'PG_VERSION'))) return []
  try {
    const [{ openStore }, { lockDataDir }, { createNonceManager }] = await Promise.all([
      import('../store/openStore.js'),
      import('../store/lockDataDir.js'),
      import('../txs/nonceManager.js'),
    ])
    const lock = env.DATABASE_URL
      ? undefined
      : await lockDataDir(dataDir, { role: 'operator', create: false })
    try {
      const store = await openStore(
        env.DATABASE_URL
          ? { databaseUrl: env.DATABASE_URL, schema: env.AIRLOCK_DB_SCHEMA, mustExist: true }
          : { dataDir, lock, mustExist: true },
      )
      try {
        const client = chains.resolve(chainId).client
        const nonces = createNonceManager(store, {
          chainNonce: (_id, address) =>
            client.getTransactionCount({ address: address as Address, blockTag: 'pending' }),
        })
        const { nextNonce } = await nonces.resync(chainId, wallet)
        return [`the store's next nonce for ${wallet} on chain ${chainId} is ${nextNonce}.`]
      } finally {
        await store.close()
      }
    } finally {
      await lock?.release()
    }
  } catch (error) {
    return [
      `the store's nonce counter was not resynced (${(error as Error).message.split('\n')[0]}); the gateway takes the chain's nonce at its next write.`,
    ]
  }
}
