import { type FacilitatorClient, HTTPFacilitatorClient } from '@x402/core/server'
import { type Address, getAddress } from 'viem'
import { type AuditEntryInput, type AuditLog, createAuditLog } from '../audit/auditLog.js'
import { auditTransitions } from '../audit/auditTransitions.js'
import { type Chains, createChains } from '../chains/chains.js'
import { type KnownContracts, knownContracts } from '../chains/knownContracts.js'
import { createTokenFacts } from '../chains/tokenFacts.js'
import { localOperator } from '../context/caller.js'
import { devnetChain } from '../devnet/devnetChain.js'
import type { DevnetFixtures } from '../devnet/fixtures.js'
import type { SolanaDevnetFixtures } from '../devnet/solana/fixtures.js'
import { BaseError, InvalidConfigError, toBaseError } from '../errors/index.js'
import { type Authenticator, createAuthenticator } from '../identity/authenticate.js'
import { agentCaller, createPassportRegistry, type PassportRegistry } from '../identity/passportRegistry.js'
import type { OrderStatus } from '../orders/orderStore.js'
import { createOrders } from '../orders/orders.js'
import { devnetCatalog } from '../orders/sources.js'
import { type Charging, createCharging } from '../payments/charging.js'
import { createPayouts, type PayoutOutcome } from '../payments/payouts.js'
import { type PaymentsReport, paymentsMetrics, paymentsReport } from '../payments/report.js'
import { createGuard } from '../pipeline/guard.js'
import { createPipeline, type Pipeline } from '../pipeline/pipeline.js'
import { createPrices } from '../pipeline/prices.js'
import {
  listBreaches,
  readSettlement,
  type Settlement,
  type SettleParts,
  settleIntent,
  settleMinedIntents,
} from '../pipeline/settle.js'
import { createWritePath, toolCapabilities, type WritePath } from '../pipeline/write.js'
import { type AddressBook, createAddressBook } from '../policy/addressBook.js'
import { createApprovals } from '../policy/approvals.js'
import { demoPolicy } from '../policy/demoPolicy.js'
import { grantCharge } from '../policy/grantScope.js'
import { createKillSwitch, type KillSwitch } from '../policy/killSwitch.js'
import { createLimitLedger, describeCharge } from '../policy/limits.js'
import { createPolicySource, type PolicySource } from '../policy/loadPolicy.js'
import { settleLimits } from '../policy/settleLimits.js'
import { type Signer, warmSigning } from '../signer/signer.js'
import type { SolanaSigner } from '../signer/solanaSigner.js'
import { simulateWrite } from '../simulate/simulate.js'
import type { Store } from '../store/openStore.js'
import { sharedSecret } from '../store/sharedSecret.js'
import type { MetadataFetcher, ToolContext } from '../tools/context.js'
import type { ToolDefinition } from '../tools/defineTool.js'
import { allTools } from '../tools/index.js'
import { warmEnsNormalization } from '../tools/shared/ensName.js'
import type { WriteToolDefinition } from '../tools/shared/write.js'
import { selectTools } from '../tools/toolsets.js'
import { createIntentJournal } from '../txs/intentJournal.js'
import { createNonceManager } from '../txs/nonceManager.js'
import { createTracker, type Tracker } from '../txs/tracker.js'
import { createCcipRead } from '../untrusted/ccipRead.js'
import { createSafeFetcher, type SafeFetcher } from '../untrusted/safeFetch.js'
import { type AuthSettings, authSettings, type Config } from './config.js'
import { createServiceLeases, createServices, periodicService, replicaId } from './services.js'
import { diffManifest, type ToolManifest, toolManifest } from './toolManifest.js'

/** Tool calls held while the store opens; past this many, later ones go unrecorded until it is open. */
const maxEarlyAuditEntries = 10_000

/** Options of {@link createGateway}. */
export type CreateGatewayOptions = {
  config?: Config | undefined
  /** Fixtures of a running devnet: adds the `devnet` chain, its tokens, pools and feeds. */
  devnet?: DevnetFixtures | undefined
  /** More devnet-like chains (distinct names and chain ids), e.g. ten chains for the portfolio bench. */
  extraDevnets?: readonly DevnetFixtures[] | undefined
  /** Fixtures of a running Solana devnet: adds `solana-local`, its mints, and (demo mode) its demo rules. */
  solanaDevnet?: SolanaDevnetFixtures | undefined
  env?: Readonly<Record<string, string | undefined>> | undefined
  /** Replace the metadata fetcher (tests). */
  fetcher?: MetadataFetcher | undefined
  /** Replace the SSRF-guarded fetcher that ENS off-chain lookups (EIP-3668) go through (tests). */
  ccipFetcher?: SafeFetcher | undefined
  /** Replace the SSRF-guarded fetcher that x402 purchases go through (tests: a local x402 server). */
  paymentFetcher?: SafeFetcher | undefined
  tools?: readonly (ToolDefinition | WriteToolDefinition)[] | undefined
  /** Directory a policy file path in the config is relative to (the config file's). */
  configDir?: string | undefined
  /** Operational log lines (stderr in the CLI). */
  log?: ((line: string) => void) | undefined
  /** did:web developers resolved over loopback HTTP (tests only). */
  allowLoopbackDidWeb?: boolean | undefined
  /** How the operator runs the CLI, in hints (`npx airlock --config F` from a checkout); default `airlock`. */
  operatorCommand?: string | undefined
  /** The write path's parts: an open store and (optionally) a signer. Without them, write tools say so. */
  writes?:
    | {
        store: Store | Promise<Store>
        signer?: Signer | undefined
        /** The Solana wallet (ed25519), for writes on Solana clusters. */
        solanaSigner?: SolanaSigner | undefined
        /** Test hook, devnet only: SIGKILL at a named point (crash-safety tests). */
        crashAt?: 'after-sign' | 'after-broadcast' | undefined
        trackerIntervalMs?: number | undefined
        /** How often approvals are expired / resumed and reservations settled (default 1000 ms). */
        maintainIntervalMs?: number | undefined
      }
    | undefined
}

/** The operator's levers over a gateway's state: what the admin API and the CLI act on. */
export type Operator = {
  audit: AuditLog
  killSwitch: KillSwitch
  approvals: ReturnType<typeof createApprovals>
  addressBook: AddressBook
  limits: ReturnType<typeof createLimitLedger>
  policy: PolicySource
  /** Expire / resume approvals and settle limits now (after an approval). */
  maintain(): Promise<unknown>
  /** Recent breaches: mined intents that moved more than was checked, newest first. */
  breaches(): Promise<Settlement[]>
  /** A random secret every replica on this store shares (created on first use). */
  secret(name: string): Promise<Uint8Array>
  /** Agent passports: developers, passports and their status, replay nonces (DESIGN §7). */
  passports: PassportRegistry
  /** x402 (DESIGN §9): the report of what was charged and spent, its metrics, and revenue-share payouts. */
  payments: OperatorPayments
  /** Standing orders (DESIGN §10): every order, and the operator's pause, resume and cancel. */
  orders: OperatorOrders
}

/** The operator's levers over standing orders (`airlock orders …`, `/admin/orders`). */
export type OperatorOrders = {
  list(filter?: {
    status?: OrderStatus | undefined
    limit?: number | undefined
  }): Promise<Record<string, unknown>[]>
  get(id: string): Promise<Record<string, unknown>>
  pause(id: string, by: string, reason?: string | undefined): Promise<Record<string, unknown>>
  resume(id: string, by: string): Promise<Record<string, unknown>>
  cancel(id: string, by: string, reason?: string | undefined): Promise<Record<string, unknown>>
  /** Runs an evaluation pass now (this replica, if it holds the lease) and resolves when it has ended. */
  evaluate(): Promise<void>
}

/** The operator's levers over payments. */
export type OperatorPayments = {
  report(options?: { days?: number | undefined }): Promise<PaymentsReport>
  /** The report's figures as Prometheus text. */
  metrics(): Promise<string>
  /** Pays every payee's accrued shares now, as guarded transfers (`airlock payments payout`). */
  payout(): Promise<PayoutOutcome[]>
}

/** The transport-independent core: chains, tools and the pipeline. One per process, shared by all MCP sessions. */
export type Gateway = {
  readonly pipeline: Pipeline
  readonly chains: Chains
  readonly devnet: DevnetFixtures | undefined
  /** The embedded Solana devnet's fixtures, when it runs. */
  readonly solanaDevnet: SolanaDevnetFixtures | undefined
  /** Resolves when restart reconciliation is done (immediately without a write path). */
  readonly ready: Promise<unknown>
  /** The write path, when configured (tests and the CLI use it directly). */
  readonly writes: WritePath | undefined
  /** The operator's levers (approvals, kill switch, audit, address book), once the store is open. */
  readonly operator: Promise<Operator> | undefined
  /** Hashes of every tool definition (`airlock://tools/manifest`). */
  readonly manifest: ToolManifest
  /** Put held writes to the human through the MCP client when it can ask (config `approvals.elicit`). */
  readonly askHumans: boolean
  /** HTTP authentication settings (config `auth`). */
  readonly auth: AuthSettings
  /**
   * The gateway's public base URL (`http://127.0.0.1:8402`): the token audience and the status lists' address.
   * The config's `auth.publicUrl`, or set by the HTTP server once it listens.
   */
  publicUrl: string
  /** Passports over HTTP (token endpoint, request verification); absent without a store. */
  readonly authenticator: Authenticator | undefined
  /** Runs a tool call through the pipeline (see {@link Pipeline.call} for `run`). */
  call: Pipeline['call']
  /**
   * Stops the gateway's services and waits for work they started (a tracker pass, a maintenance pass) to let go.
   * Close the store after it resolves, never before: a pass still running would fail on it.
   */
  close(): Promise<void>
}

/**
 * Builds the gateway core from a validated config (and devnet fixtures in devnet mode).
 *
 * @example
 * const gateway = createGateway({ config, devnet: fixtures, env: process.env })
 * const server = createMcpServer(gateway, 'stdio')
 */
export function createGateway(options: CreateGatewayOptions = {}): Gateway {
  const config = options.config ?? {}
  const auth = authSettings(config)
  const devnet = options.devnet
  const registry: Record<number, KnownContracts> = { ...knownContracts }
  const extra = []
  for (const d of [...(devnet ? [devnet] : []), ...(options.extraDevnets ?? [])]) {
    // `chains.devnet.rpc` in the config puts the devnet behind several endpoints (e.g. a proxy beside it).
    extra.push({
      name: d.chain,
      chain: devnetChain(d),
      testnet: true,
      rpc: config.chains?.[d.chain]?.rpc ?? [d.rpcUrl],
    })
    registry[d.chainId] = devnetContracts(d)
  }
  const solanaDevnet = options.solanaDevnet
  const chains = createChains({
    settings: config.chains,
    extra,
    solanaExtra: solanaDevnet
      ? [
          {
            name: solanaDevnet.chain,
            genesisHash: solanaDevnet.genesisHash,
            rpc: config.chains?.[solanaDevnet.chain]?.rpc ?? [solanaDevnet.rpcUrl],
          },
        ]
      : undefined,
    env: options.env,
    publicFallback: config.rpc?.publicFallback,
    // Off-chain lookups (EIP-3668) only for ENS, and only through the SSRF guard; contract reads never follow them.
    ccipRead: createCcipRead(options.ccipFetcher ?? createSafeFetcher()),
    transport: {
      ...(config.rpc?.timeoutMs === undefined ? {} : { timeoutMs: config.rpc.timeoutMs }),
      ...(config.rpc?.hedgeDelayMs === undefined ? {} : { hedgeDelayMs: config.rpc.hedgeDelayMs }),
    },
  })
  const context: ToolContext = {
    chains,
    tokens: createTokenFacts(registry),
    fetcher:
      options.fetcher ?? createSafeFetcher(config.ipfsGateway ? { ipfsGateway: config.ipfsGateway } : {}),
    ensChain: devnet ? devnet.chain : 'ethereum',
    devnet,
    solanaDevnet,
  }
  let writes: WritePath | undefined
  let tracker: Tracker | undefined
  let ready: Promise<unknown> = Promise.resolve()
  let operator: Promise<Operator> | undefined
  let auditLog: AuditLog | undefined
  // Background work (tracker, approval maintenance; later order firing and payouts), started once the store is
  // open, stopped by close(). Work only one replica may run takes a lease (periodicService's `lease`); these two
  // run on every replica, see below.
  const services = createServices()
  let auditIsReady: (log: AuditLog | undefined) => void = () => {}
  const auditReady = new Promise<AuditLog | undefined>((resolve) => {
    auditIsReady = resolve
  })
  const closers: (() => unknown)[] = []
  const log = options.log ?? (() => {})
  const toolSet = options.tools ?? selectTools(allTools, config.tools)
  const pipelineTools = createPipeline(toolSet, context).tools
  const manifest = toolManifest(pipelineTools)
  // The store pins every tool this build defines, whichever toolsets are served: turning a toolset on or off is not a
  // changed definition, and a definition changed while its toolset was off is still caught when it comes back.
  const defined = options.tools ?? allTools
  const pinned = defined === toolSet ? manifest : toolManifest(createPipeline(defined, context).tools)
  if (options.writes) {
    const { signer, solanaSigner, crashAt, trackerIntervalMs } = options.writes
    // The policy: the config's (inline or its own file, reloaded on change); on the devnet with none, the demo
    // policy; otherwise none — and with none, every write is denied (reads only).
    const policy = createPolicySource({
      value: config.policy,
      configDir: options.configDir,
      fallback: () => (devnet ? demoPolicy(devnet, solanaDevnet) : undefined),
      log,
      watch: true,
    })
    closers.push(() => policy.close())
    // The store may still be opening (the CLI does not wait for it, so tools/list answers at once); every write
    // and intent call waits for it and for restart reconciliation before it runs.
    const built = Promise.resolve(options.writes.store).then(async (store) => {
      const audit = createAuditLog(store, { onError: (error) => log(`audit: ${toBaseError(error).message}`) })
      for (const held of early.splice(0)) audit.appendSoon(held.entry, held.at)
      auditLog = audit
      auditIsReady(audit)
      const killSwitch = createKillSwitch(store, { audit })
      const limits = createLimitLedger(store)
      const approvals = createApprovals(store, { audit })
      const addressBook = cachedAddressBook(createAddressBook(store, { audit }))
      await pinManifest(store, pinned, killSwitch, audit, log)
      if (devnet && config.policy === undefined)
        await seedDemoAddressBook(addressBook, devnet, revenuePayees(config, signer?.address), solanaDevnet)
      const journal = createIntentJournal(store, { onTransition: auditTransitions(audit) })
      const nonces = createNonceManager(store, {
        chainNonce: (chainId, wallet) =>
          chains
            .resolve(chainId)
            .client.getTransactionCount({ address: wallet as Address, blockTag: 'pending' }),
      })
      tracker = createTracker({
        journal,
        chains,
        intervalMs: trackerIntervalMs,
        mayBroadcast: () => killSwitch.state().then((k) => !k.engaged),
        log,
      })
      const report = await tracker.reconcileAll()
      // On every replica, no lease: its transitions are conditional (another replica's move wins), re-sending the
      // same signed bytes is harmless, and a lease lapsing after a crash would leave intents untracked meanwhile.
      const watching = tracker
      const trackerService = { name: 'tracker', start: () => watching.start(), stop: () => watching.stop() }
      if (services.add(trackerService)) await services.start(trackerService)
      const prices = createPrices(context.tokens)
      const settleParts: SettleParts = {
        store,
        chains,
        killSwitch,
        audit,
        policy: () => policy.current(),
        prices,
        tokens: context.tokens,
        // A write the on-chain guard reverted stops its contract only (the kill switch for that contract).
        stopContract: async (chainId, contract, reason) => {
          await killSwitch.stopContract(chainId, contract, reason, 'airlock (automatic)')
        },
      }
      const guard = createGuard({
        policy: () => policy.current(),
        killSwitch,
        limits,
        approvals,
        addressBook,
        audit,
        simulate: simulateWrite,
        prices,
        tokens: context.tokens,
        approvalTtlSeconds: config.approvals?.ttlSeconds ?? 3600,
        autoKill: {
          maxDenials: config.killSwitch?.maxDenials ?? 20,
          windowSeconds: config.killSwitch?.denialWindowSeconds ?? 60,
        },
        settleLimits: async (intent) => {
          if (intent) return settleIntent(settleParts, intent)
          await settleMinedIntents(settleParts)
          await settleLimits(store, limits)
        },
        settlement: (intentId) => readSettlement(store, intentId),
      })
      const passports = createPassportRegistry(store, {
        audit,
        baseUrl: () => gateway.publicUrl,
        statusCacheSeconds: auth.statusCacheSeconds,
        allowLoopbackHttp: options.allowLoopbackDidWeb === true,
      })
      // Standing orders (DESIGN §10): each fire is a tool call through the whole pipeline, for the order's creator.
      const catalog = devnet ? devnetCatalog(devnet) : undefined
      const orders = createOrders({
        store,
        chains,
        catalog: (chainId) => (catalog && catalog.chainId === chainId ? catalog : undefined),
        call: (name, args, ctx) => gateway.call(name, args, ctx),
        audit,
        killSwitch,
        limits,
        passports: {
          async current(did) {
            const caller = agentCaller(await passports.current(did))
            if (caller.kind !== 'agent' || !caller.grant)
              throw new BaseError('FORBIDDEN', 'The agent holds no grant from a user.')
            return { developer: caller.developer, grant: caller.grant }
          },
        },
        wallet: () => signer?.address,
        router: (chainId) => context.tokens.contracts(chainId)?.uniswapV3?.router,
      })
      const path = createWritePath({
        orders,
        context,
        journal,
        nonces,
        signer,
        solanaSigner,
        tracker,
        guard,
        feeCaps: (name) => config.chains?.[name],
        crashAt: devnet ? crashAt : undefined,
        operatorCommand: options.operatorCommand,
        payFetcher: options.paymentFetcher,
      })
      // One pass at a time; a failing pass (store briefly away) is retried on the next tick. On every replica, no
      // lease: expiring, cancelling and resuming approvals are conditional transitions (one replica's wins, the
      // others' find nothing to do), and the replica where the operator decided must carry the decision out.
      const maintenance = periodicService({
        name: 'approval-maintenance',
        intervalMs: options.writes?.maintainIntervalMs ?? 1000,
        run: () => path.maintain(),
        onError: (error) => log(`maintenance: ${toBaseError(error).message}`),
      })
      // The operator's pass (after deciding an approval) starts after the call, never joins one already under
      // way that read the approvals before the decision: when it resolves, the decision has been carried out.
      const maintain = () => maintenance.runNow()
      // The first pass runs before the levers are handed out; closed meanwhile, nothing runs on the closing store.
      if (services.add(maintenance)) await services.start(maintenance)
      else await maintenance.stop()
      // Shares are paid from the wallet the charges were paid to: only when that is the gateway wallet.
      const treasury =
        signer && (!config.payments?.payTo || getAddress(config.payments.payTo) === signer.address)
          ? signer.address
          : undefined
      const payouts = treasury
        ? createPayouts({
            store,
            treasury: getAddress(treasury),
            call: (name, args, ctx) => gateway.call(name, args, ctx),
            audit,
          })
        : undefined
      const payments: OperatorPayments = {
        report: (o) => paymentsReport(store, o),
        metrics: async () => paymentsMetrics(await paymentsReport(store)),
        async payout() {
          if (!payouts)
            throw new BaseError(
              'WALLET_NOT_CONFIGURED',
              signer
                ? 'Charges are paid to payments.payTo, not to the gateway wallet: the gateway does not pay shares out of a wallet they never reached.'
                : 'Payouts need the gateway wallet (the treasury).',
              {
                metaMessages: [
                  'Pay the shares (airlock payments report shows them) from payments.payTo, or leave payTo out so charges reach the gateway wallet.',
                ],
              },
            )
          return payouts.run()
        },
      }
      // Scheduled payouts: one replica at a time (a lease), so two never run the same pass; each payout is
      // idempotent besides.
      const payoutSeconds = config.payments?.payoutIntervalSeconds
      if (payouts && payoutSeconds) {
        const payoutService = periodicService({
          name: 'payouts',
          intervalMs: payoutSeconds * 1000,
          run: () => payouts.run(),
          lease: { leases: createServiceLeases(store.db), holder: replicaId() },
          onError: (error) => log(`payouts: ${toBaseError(error).message}`),
        })
        if (services.add(payoutService)) await services.start(payoutService)
      }
      // The firing service: one replica at a time (a lease); a fire is recorded with the state change that caused
      // it (conditional on the order's version) and carried with idempotency keys, so a crash never fires twice.
      const ordersService = periodicService({
        name: 'orders',
        intervalMs: config.orders?.evaluateIntervalMs ?? 2000,
        run: (signal) => orders.pass(signal),
        lease: { leases: createServiceLeases(store.db), holder: replicaId() },
        onError: (error) => log(`orders: ${toBaseError(error).message}`),
      })
      // Registered even when its timer is off (`orders.enabled: false`): a pass the operator asks for takes the
      // lease, and closing the gateway must give it back to the next replica.
      if (services.add(ordersService) && config.orders?.enabled !== false && catalog)
        await services.start(ordersService)
      const levers: Operator = {
        orders: {
          list: async (filter) =>
            Promise.all(
              (await orders.orders.list({ ...filter, limit: filter?.limit ?? 100 })).map((o) =>
                orders.describe(o),
              ),
            ),
          get: async (id) => orders.describe(await orders.own(id, localOperator), true),
          pause: async (id, by, reason) => orders.describe(await orders.pause(id, by, reason)),
          resume: async (id, by) => orders.describe(await orders.resume(id, by)),
          cancel: async (id, by, reason) =>
            orders.describe(await orders.cancel(id, { kind: 'operator', id: by }, reason)),
          evaluate: () => ordersService.runNow(),
        },
        payments,
        passports,
        audit,
        killSwitch,
        approvals,
        addressBook,
        limits,
        policy,
        maintain,
        breaches: () => listBreaches(store),
        secret: (name) => sharedSecret(store, name),
      }
      // ENSIP-15's tables (about 0.45 s, once) are built now, not on the first write to a name.
      warmEnsNormalization()
      // And the signing curve's table, not on the first signature.
      warmSigning()
      return { path, report, levers }
    })
    built.catch(() => auditIsReady(undefined))
    ready = built.then((b) => b.report)
    writes = lazyWritePath(built.then((b) => b.path))
    operator = built.then((b) => b.levers)
    operator.catch(() => {})
    Object.assign(context, toolCapabilities(writes))
    context.identity = {
      async budget(agent, grant) {
        const { levers } = await built
        const charge = grantCharge(agent, grant, 0n)
        const [usage] = await levers.limits.usage([charge])
        const d = describeCharge(charge, usage?.used ?? 0n, usage?.remaining ?? charge.max)
        return { max: d.max, used: d.used, remaining: d.remaining, window: d.window }
      },
    }
  }
  // Every tool call's entry: a write's at once, a read's in the next batch (off the request path). Calls made while
  // the store is still opening are held (with their time) and written once it is open.
  const early: { entry: AuditEntryInput; at: Date }[] = []
  const charging = createGatewayCharging(config, options, chains, context, auditReady, closers)
  // Every price resolved now (token, decimals, EIP-712 domain): a bad one is said at start, not to the first payer.
  charging?.prepare().catch((error: unknown) => log(`payments: ${toBaseError(error).message}`))
  const pipeline = createPipeline(
    toolSet,
    context,
    writes,
    (entry, write) => {
      if (!auditLog) {
        if (options.writes && early.length < maxEarlyAuditEntries) early.push({ entry, at: new Date() })
      } else if (write)
        auditLog.append(entry).catch((error: unknown) => log(`audit: ${toBaseError(error).message}`))
      else auditLog.appendSoon(entry)
    },
    charging,
  )
  const authenticator = operator
    ? createAuthenticator({
        registry: async () => (await operator!).passports,
        baseUrl: () => gateway.publicUrl,
        tokenLifetimeSeconds: auth.tokenLifetimeSeconds,
        audit: (entry) => {
          if (auditLog)
            auditLog.appendSoon({ kind: entry.kind, actor: entry.actor, data: entry.data as never })
          else if (early.length < maxEarlyAuditEntries)
            early.push({
              entry: { kind: entry.kind, actor: entry.actor, data: entry.data as never },
              at: new Date(),
            })
        },
      })
    : undefined
  const gateway: Gateway = {
    auth,
    authenticator,
    publicUrl: auth.publicUrl ?? 'http://127.0.0.1:8402',
    pipeline,
    chains,
    devnet,
    solanaDevnet,
    ready,
    writes,
    operator,
    manifest,
    askHumans: config.approvals?.elicit === true,
    call: (name, args, ctx, run) => pipeline.call(name, args, ctx, run),
    close: async () => {
      // Reads' entries still held are written while the store is open (the caller closes it after this).
      await auditLog?.flush()
      await Promise.all([services.stop(), ...closers.map((c) => c())])
      chains.close()
    },
  }
  return gateway
}

/**
 * Charging per tool call (DESIGN §9), when the config prices tools: the facilitator by URL, or on the devnet one the
 * gateway starts itself; the payee is the gateway wallet unless `payments.payTo` says otherwise. Prices need the
 * store (claims and the ledger), and only read tools may be priced (a write's effect cannot be withheld once sent).
 */
function createGatewayCharging(
  config: Config,
  options: CreateGatewayOptions,
  chains: Chains,
  context: ToolContext,
  audit: Promise<AuditLog | undefined>,
  closers: (() => unknown)[],
): Charging | undefined {
  const payments = config.payments
  if (!payments?.prices?.length) return undefined
  const writes = options.writes
  if (!writes)
    throw new InvalidConfigError('payments.prices needs a wallet and a store (the ledger of charges).', {
      field: 'payments.prices',
      metaMessages: ['Configure `wallet` (see "Wallets and writes" in the README), or remove the prices.'],
    })
  const tools = new Map((options.tools ?? allTools).map((t) => [t.name, t]))
  for (const price of payments.prices)
    for (const name of price.tools) {
      const tool = tools.get(name)
      if (!tool)
        throw new InvalidConfigError(`payments.prices: unknown tool "${name.slice(0, 64)}".`, {
          field: 'payments.prices.tools',
        })
      if ('kind' in tool || tool.annotations.readOnlyHint !== true)
        throw new InvalidConfigError(
          `payments.prices: "${name}" has effects; only read tools can be priced (an effect cannot be withheld once it happened).`,
          { field: 'payments.prices.tools' },
        )
    }
  const payTo = payments.payTo ?? writes.signer?.address
  if (!payTo)
    throw new InvalidConfigError('payments.payTo is needed when the gateway has no wallet.', {
      field: 'payments.payTo',
    })
  let facilitator: Promise<FacilitatorClient>
  const setting = payments.facilitator ?? (options.devnet ? 'devnet' : undefined)
  if (setting === 'devnet') {
    const devnet = options.devnet
    if (!devnet)
      throw new InvalidConfigError('payments.facilitator "devnet" needs the embedded devnet.', {
        field: 'payments.facilitator',
      })
    const started = import('../payments/devnetFacilitator.js').then((m) => m.startDevnetFacilitator(devnet))
    started.catch(() => {})
    closers.push(() => started.then((f) => f.close()).catch(() => {}))
    facilitator = started.then((f) => new HTTPFacilitatorClient({ url: f.url }))
  } else if (setting) {
    facilitator = Promise.resolve(
      new HTTPFacilitatorClient({ url: setting.url, timeoutMs: setting.timeoutMs ?? 15_000 }),
    )
  } else
    throw new InvalidConfigError('payments.facilitator is needed: the URL of an x402 facilitator.', {
      field: 'payments.facilitator',
    })
  facilitator.catch(() => {})
  return createCharging({
    prices: payments.prices,
    chains,
    tokens: context.tokens,
    facilitator: {
      verify: async (...args) => (await facilitator).verify(...args),
      settle: async (...args) => (await facilitator).settle(...args),
      getSupported: async () => (await facilitator).getSupported(),
    },
    store: Promise.resolve(writes.store),
    payTo: getAddress(payTo),
    audit,
  })
}

/**
 * Pins the tool definitions in the store. A gateway whose tools differ from the pinned ones (a changed
 * description, schema or annotation: what a client trusted) engages the kill switch until an operator reviews it
 * (ADVERSARIAL 41); the new definitions are pinned, so `airlock unkill` after the review is enough.
 */
async function pinManifest(
  store: Store,
  manifest: ToolManifest,
  killSwitch: KillSwitch,
  audit: AuditLog,
  log: (line: string) => void,
): Promise<void> {
  const row = await store.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', 'tools.manifest')
    .executeTakeFirst()
  const pinned = row?.value as ToolManifest | undefined
  if (pinned?.hash === manifest.hash) return
  const value = JSON.stringify(manifest)
  await store.db
    .insertInto('settings')
    .values({ key: 'tools.manifest', value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
    .execute()
  if (!pinned) return
  const changes = diffManifest(pinned, manifest)
  const names = changes.map((c) => `${c.name} (${c.change})`).join(', ')
  await audit.append({ kind: 'tools.changed', data: { changes, from: pinned.hash, to: manifest.hash } })
  await killSwitch.engage(`tool definitions changed since they were pinned: ${names}`, 'airlock (automatic)')
  log(`kill switch engaged: tool definitions changed (${names}); review, then \`airlock unkill\``)
}

/**
 * The address book with its list kept for a second: every write reads it (recipient and lookalike checks). Changes
 * through this gateway (admin API) apply at once; changes made elsewhere (another replica, the CLI on the store)
 * within a second.
 */
function cachedAddressBook(book: AddressBook, ttlMs = 1000): AddressBook {
  let cache: { at: number; value: ReturnType<AddressBook['list']> } | undefined
  return {
    ...book,
    list() {
      if (!cache || Date.now() - cache.at > ttlMs) {
        const value = book.list()
        cache = { at: Date.now(), value }
        value.catch(() => {
          if (cache?.value === value) cache = undefined
        })
      }
      return cache.value
    },
    async add(entry) {
      cache = undefined
      const added = await book.add(entry)
      cache = undefined
      return added
    },
    async remove(...args) {
      cache = undefined
      const removed = await book.remove(...args)
      cache = undefined
      return removed
    },
  }
}

/**
 * Demo mode: alice.eth and bob.eth (devnet accounts 1 and 2) are known recipients of the demo policy, and so are
 * the payees of the configured prices (their revenue shares are paid out under that policy).
 */
async function seedDemoAddressBook(
  book: AddressBook,
  devnet: DevnetFixtures,
  payees: readonly { address: string; label: string }[],
  solana?: SolanaDevnetFixtures | undefined,
): Promise<void> {
  if ((await book.list()).length > 0) return
  for (const [name, address] of Object.entries(devnet.ens))
    await book.add({ address, label: name, note: 'devnet demo', addedBy: 'demo' })
  // On the Solana devnet, accounts 1 and 2 are the demo's known recipients.
  for (const [i, label] of [
    [1, 'sol-alice'],
    [2, 'sol-bob'],
  ] as const) {
    const account = solana?.accounts[i]
    if (account)
      await book.add({ address: account.address, label, note: 'Solana devnet demo', addedBy: 'demo' })
  }
  for (const p of payees)
    await book.add({
      address: p.address,
      label: p.label,
      note: 'revenue-share payee (demo)',
      addedBy: 'demo',
    })
}

/** The payees of the configured prices other than the wallet charges are paid to (each once). */
function revenuePayees(config: Config, wallet: string | undefined) {
  const treasury = (config.payments?.payTo ?? wallet ?? '').toLowerCase()
  const out = new Map<string, { address: string; label: string }>()
  for (const price of config.payments?.prices ?? [])
    for (const p of price.payees ?? [])
      if (p.address.toLowerCase() !== treasury)
        out.set(p.address.toLowerCase(), { address: p.address, label: p.label ?? 'revenue-share payee' })
  return [...out.values()]
}

function devnetContracts(f: DevnetFixtures): KnownContracts {
  return {
    tokens: [
      { symbol: 'USDC', name: 'USD Coin', address: f.tokens.USDC.address, decimals: f.tokens.USDC.decimals },
      {
        symbol: 'WETH',
        name: 'Wrapped Ether',
        address: f.tokens.WETH.address,
        decimals: f.tokens.WETH.decimals,
      },
      {
        symbol: 'DAI',
        name: 'Dai Stablecoin',
        address: f.tokens.DAI.address,
        decimals: f.tokens.DAI.decimals,
      },
      {
        symbol: 'WBTC',
        name: 'Wrapped BTC',
        address: f.tokens.WBTC.address,
        decimals: f.tokens.WBTC.decimals,
      },
    ],
    uniswapV3: { quoter: f.uniswapV3.quoter, factory: f.uniswapV3.factory, router: f.uniswapV3.router },
    feeds: f.feeds,
  }
}

/** A write path whose parts are still being built: every call waits for them (and fails as they failed). */
function lazyWritePath(path: Promise<WritePath>): WritePath {
  path.catch(() => {}) // reported to each caller; an unawaited rejection must not end the process
  return {
    execute: async (...args) => (await path).execute(...args),
    describe: async (...args) => (await path).describe(...args),
    get: async (...args) => (await path).get(...args),
    follow: async (...args) => (await path).follow(...args),
    list: async (...args) => (await path).list(...args),
    cancel: async (...args) => (await path).cancel(...args),
    speedUp: async (...args) => (await path).speedUp(...args),
    signTypedData: async (...args) => (await path).signTypedData(...args),
    fetchWithPayment: async (...args) => (await path).fetchWithPayment(...args),
    createOrder: async (...args) => (await path).createOrder(...args),
    listOrders: async (...args) => (await path).listOrders(...args),
    getOrder: async (...args) => (await path).getOrder(...args),
    cancelOrder: async (...args) => (await path).cancelOrder(...args),
    preview: async (...args) => (await path).preview(...args),
    maintain: async (...args) => (await path).maintain(...args),
    limits: async (...args) => (await path).limits(...args),
    guardMode: async (...args) => (await path).guardMode(...args),
  }
}
