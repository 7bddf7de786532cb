import { type Address, erc20Abi, formatUnits, getAddress } from 'viem'
import type { z } from 'zod'
import type { AuditLog } from '../audit/auditLog.js'
import type { ChainContext, Chains } from '../chains/chains.js'
import { actorOf, agentIdOf, type Caller, type GrantScope } from '../context/caller.js'
import { requestContext } from '../context/requestContext.js'
import type { ToolResult } from '../context/tool.js'
import { BaseError, InvalidInputError, NotFoundError, toBaseError } from '../errors/index.js'
import type { KillSwitch } from '../policy/killSwitch.js'
import { addressProblem } from '../schemas/address.js'
import { parseAmount } from '../schemas/amount.js'
import type { Store } from '../store/openStore.js'
import { evaluateOrder, initialState, type Observation, sourceProblem, utcDay } from './evaluate.js'
import {
  createOrderStore,
  type FireAction,
  type OrderFire,
  type OrderStatus,
  type StandingOrder,
} from './orderStore.js'
import { type Holding, minOutAtOracle, planRebalance, valueMicroUsd } from './plan.js'
import { catalogSymbols, catalogToken, latestBlock, type OrderCatalog, readPairs } from './sources.js'
import {
  type ActionInput,
  formatWad,
  type GuardsInput,
  maxLifetimeSeconds,
  type OrderAction,
  type OrderSpec,
  type OrderToken,
  percentToBps,
  resolveGuards,
  resolveTrigger,
  type TriggerInput,
  wad,
} from './spec.js'

/** What an agent gives create_standing_order (less the chain and idempotency key). */
export type OrderRequest = {
  trigger: z.infer<typeof TriggerInput>
  action: z.infer<typeof ActionInput>
  budgetUsd: string
  guards?: z.infer<typeof GuardsInput> | undefined
}

/** The passport lookups an agent's order needs when it fires: the agent's current grant, or why it has none. */
export type OrderPassports = {
  /** The agent's caller fields (developer, grant) from its passport in force; throws when it is not active. */
  current(did: string): Promise<{ developer?: string | undefined; grant: GrantScope }>
}

/** Options of {@link createOrders}. */
export type CreateOrdersParameters = {
  store: Store
  chains: Pick<Chains, 'resolve'>
  /** What orders can watch and trade on a chain; undefined = orders are not available there. */
  catalog(chainId: number): OrderCatalog | undefined
  /** Runs a tool call through the whole pipeline (the gateway's `call`). */
  call(
    name: string,
    args: Record<string, unknown>,
    ctx: ReturnType<typeof requestContext>,
  ): Promise<ToolResult>
  audit: AuditLog
  killSwitch: KillSwitch
  passports?: OrderPassports | undefined
  /** The gateway wallet (the one fires spend from). */
  wallet(): Address | undefined
  /** The Uniswap v3 router swaps go through on a chain. */
  router(chainId: number): Address | undefined
  /** A pass's error that it survived (one chain or one fire): logged, the pass goes on. */
  onError?: ((error: unknown) => void) | undefined
  /** The limit ledger: a paused, cancelled or expired order gives back what its creation reserved. */
  limits?: { release(intentId: string): Promise<void> } | undefined
}

/** Intent statuses of a write still under way: a fire waiting on one stays pending, its budget reserved. */
const inFlight = new Set(['created', 'held', 'signed', 'broadcast'])

/** How long after its evaluation a fire of which nothing has started may still be carried out. */
const staleFireMs = 10 * 60_000

/** Tools an action's fires call: the agent's grant must name them. */
const actionTools: Record<OrderAction['kind'], string[]> = {
  rebalance: ['approve', 'swap'],
  swap: ['approve', 'swap'],
  transfer: ['transfer'],
}

/**
 * Standing orders (DESIGN §10): resolving an order's request into a spec, the firing pass (evaluate every active
 * order at the latest block, deterministically; fire through the whole pipeline as `origin: order`, acting for the
 * creator), and the levers agents and the operator pull (list, get, cancel, pause, resume).
 *
 * @example const orders = createOrders({ store, chains, catalog, call: gateway.call, audit, killSwitch, wallet, router })
 */
export function createOrders(parameters: CreateOrdersParameters) {
  const orders = createOrderStore(parameters.store)
  const { audit } = parameters

  function catalogOf(chain: ChainContext): OrderCatalog {
    const catalog = parameters.catalog(chain.id)
    if (!catalog)
      throw new NotFoundError(`Standing orders have no price sources on ${chain.name}.`, {
        field: 'chain',
        metaMessages: [
          'The operator configures pairs and tokens for orders (config `orders`); the devnet has them.',
        ],
      })
    return catalog
  }

  function tokenOf(catalog: OrderCatalog, ref: string, field: string): OrderToken & { usd: string } {
    const t = catalogToken(catalog, ref)
    if (!t || t.address === 'native') {
      // The native coin only as what a transfer sends: a swap or a rebalance trades ERC-20s.
      if (t?.address === 'native' && field === 'action.token')
        return {
          address: '0x0000000000000000000000000000000000000000',
          symbol: t.symbol,
          decimals: 18,
          usd: t.usd,
        }
      throw new InvalidInputError(
        `Token "${ref.slice(0, 64)}" has no price source for standing orders on this chain.`,
        { field, metaMessages: [`Orders can use: ${catalogSymbols(catalog)}.`] },
      )
    }
    return { address: getAddress(t.address), symbol: t.symbol, decimals: t.decimals, usd: t.usd }
  }

  function strip(t: OrderToken & { usd?: string }): OrderToken {
    return { address: t.address, symbol: t.symbol, decimals: t.decimals }
  }

  /** The USD price of a catalog token at a block: $1, or its pair's primary source once the sources agree. */
  function usdPrice(
    catalog: OrderCatalog,
    token: OrderToken,
    observed: Map<string, Observation['sources']>,
    spec: OrderSpec,
    time: number,
  ): bigint {
    const entry = catalog.tokens.find(
      (t) =>
        t.symbol === token.symbol &&
        (t.address === 'native' || t.address.toLowerCase() === token.address.toLowerCase()),
    )
    if (!entry) throw new Error(`token ${token.symbol} left the catalog`)
    if (entry.usd === 'USD') return wad
    const sources = observed.get(entry.usd)
    // The same checks as a trigger's: every source present, fresh and agreeing, or no price (the fire fails).
    const problem = sourceProblem(spec.guards, { blockNumber: 0n, time, sources })
    if (problem) throw new Error(`${entry.usd}: ${problem}`)
    return sources![0]!.value
  }

  function pairsOf(catalog: OrderCatalog, spec: OrderSpec): string[] {
    const pairs = new Set<string>()
    if (spec.trigger.kind !== 'interval') pairs.add(spec.trigger.pair)
    const tokens =
      spec.action.kind === 'rebalance'
        ? spec.action.weights.map((w) => w.token)
        : spec.action.kind === 'swap'
          ? [spec.action.tokenIn, spec.action.tokenOut]
          : [spec.action.token]
    for (const t of tokens) {
      const entry = catalog.tokens.find((c) => c.symbol === t.symbol)
      if (entry && entry.usd !== 'USD') pairs.add(entry.usd)
    }
    return [...pairs]
  }

  /**
   * Checks an order request against the chain's catalog and the caller's grant, and resolves it (tokens, amounts in
   * base units, guards with defaults, the expiry).
   *
   * @throws {InvalidInputError} weights not summing to 100, an unknown pair or token, a bad amount or address
   * @throws {BaseError} FORBIDDEN: the agent's grant does not name the tools or chain its fires need
   */
  function resolve(chain: ChainContext, request: OrderRequest, caller: Caller, now: number): OrderSpec {
    const catalog = catalogOf(chain)
    const trigger = resolveTrigger(request.trigger)
    if (trigger.kind !== 'interval' && !catalog.pairs[trigger.pair])
      throw new InvalidInputError(`No price sources for pair "${trigger.pair}" on ${chain.name}.`, {
        field: 'trigger.pair',
        metaMessages: [`Pairs: ${Object.keys(catalog.pairs).join(', ')}.`],
      })
    const guards = resolveGuards(request.guards)
    const a = request.action
    let action: OrderAction
    if (a.kind === 'rebalance') {
      const seen = new Set<string>()
      const weights = a.weights!.map((w, i) => {
        const token = tokenOf(catalog, w.token, `action.weights.${i}.token`)
        if (seen.has(token.address))
          throw new InvalidInputError(`Token ${token.symbol} is listed twice.`, {
            field: `action.weights.${i}`,
          })
        seen.add(token.address)
        return { token: strip(token), bps: percentToBps(w.percent) }
      })
      const sum = weights.reduce((s, w) => s + w.bps, 0)
      if (sum !== 10_000)
        throw new InvalidInputError(`The target weights sum to ${sum / 100} %, not 100 %.`, {
          field: 'action.weights',
          metaMessages: ['Give percents that add up to exactly 100.'],
        })
      if (weights.some((w) => w.bps === 0))
        throw new InvalidInputError('A target weight of 0 % is not a target: leave the token out.', {
          field: 'action.weights',
        })
      action = { kind: 'rebalance', weights }
    } else if (a.kind === 'swap') {
      const tokenIn = tokenOf(catalog, a.tokenIn!, 'action.tokenIn')
      const tokenOut = tokenOf(catalog, a.tokenOut!, 'action.tokenOut')
      if (tokenIn.address === tokenOut.address)
        throw new InvalidInputError('tokenIn and tokenOut are the same token.', { field: 'action.tokenOut' })
      const amountIn = parseAmount(a.amountIn!, tokenIn.decimals, 'action.amountIn')
      if (amountIn === 0n)
        throw new InvalidInputError('amountIn must be more than 0.', { field: 'action.amountIn' })
      action = {
        kind: 'swap',
        tokenIn: strip(tokenIn),
        tokenOut: strip(tokenOut),
        amountIn: amountIn.toString(),
      }
    } else {
      const token = tokenOf(catalog, a.token!, 'action.token')
      const problem = addressProblem(a.to!)
      if (problem)
        throw new InvalidInputError(`action.to is not an address: ${problem}.`, { field: 'action.to' })
      const amount = parseAmount(a.amount!, token.decimals, 'action.amount')
      if (amount === 0n)
        throw new InvalidInputError('amount must be more than 0.', { field: 'action.amount' })
      action = { kind: 'transfer', token: strip(token), to: getAddress(a.to!), amount: amount.toString() }
    }
    const budget = parseAmount(request.budgetUsd, 6, 'budgetUsd')
    if (budget === 0n) throw new InvalidInputError('budgetUsd must be more than 0.', { field: 'budgetUsd' })
    const expiresIn = request.guards?.expiresInSeconds ?? 30 * 24 * 3600
    const grant = caller.kind === 'agent' ? caller.grant : undefined
    if (caller.kind === 'agent') {
      if (!grant)
        throw new BaseError(
          'FORBIDDEN',
          'This agent holds no grant from a user, so its orders could never fire.',
        )
      const missing = actionTools[action.kind].filter((t) => !grant.tools.includes(t))
      if (missing.length)
        throw new BaseError(
          'FORBIDDEN',
          `The user's grant does not let this agent call ${missing.join(', ')}, which this order's fires need.`,
          { field: 'action', metaMessages: ['Its user signs a grant naming those tools.'] },
        )
      if (now + expiresIn > grant.expiry)
        throw new BaseError(
          'FORBIDDEN',
          `The order would outlive the user's grant (it ends ${new Date(grant.expiry * 1000).toISOString()}).`,
          { field: 'guards.expiresInSeconds', metaMessages: ['Give a shorter expiresInSeconds.'] },
        )
    }
    return {
      chain: chain.name,
      chainId: chain.id,
      trigger,
      action,
      guards,
      budget: budget.toString(),
      expiresAt: Math.min(now + expiresIn, now + maxLifetimeSeconds),
    }
  }

  /** Records an allowed (or approved) order as active; idempotent on the creation intent. */
  async function activate(intentId: string, caller: Caller, spec: OrderSpec, now: number): Promise<string> {
    const id = orderIdOf(intentId)
    await orders.insert({
      id,
      caller,
      owner: actorOf(caller),
      spec,
      state: initialState(spec.trigger, now),
      budget: BigInt(spec.budget),
      intentId,
    })
    await orders.event(id, 'created', 'allowed by the policy')
    await audit.append({
      kind: 'order.created',
      actor: actorOf(caller),
      intentId,
      data: { order: id, trigger: spec.trigger.kind, action: spec.action.kind, budget: spec.budget } as never,
    })
    return id
  }

  // --- the firing pass -------------------------------------------------------------------------------------------

  /** Records a state change of one evaluation: the event row and the audit entry. */
  async function record(
    order: StandingOrder,
    kind: string,
    reason: string,
    blockNumber?: bigint,
    detail?: Record<string, unknown>,
  ) {
    await orders.event(order.id, kind, reason, blockNumber, detail)
    // An order that stops (for now or for good) gives back the budget its creation reserved under the policy.
    if (kind === 'paused' || kind === 'cancelled' || kind === 'expired')
      await parameters.limits?.release(order.intentId).catch(() => {})
    await audit.append({
      kind: `order.${kind}`,
      actor: `order:${order.id}`,
      data: {
        order: order.id,
        reason,
        ...(blockNumber !== undefined ? { block: blockNumber.toString() } : {}),
        ...detail,
      } as never,
    })
  }

  /** The caller a fire acts as: the order, for its creator (an agent's passport must still be in force). */
  async function fireCaller(order: StandingOrder): Promise<Caller> {
    const creator = order.caller
    if (creator.kind !== 'agent') return { kind: 'order', id: order.id, agent: order.owner }
    if (!parameters.passports)
      throw new BaseError('UNAUTHORIZED', 'Passports are not available to check this agent.')
    const current = await parameters.passports.current(creator.id)
    // The grant in force now, not the one the order was created under: a narrower grant narrows the order too.
    const missing = actionTools[order.spec.action.kind].filter((t) => !current.grant.tools.includes(t))
    if (missing.length)
      throw new BaseError('FORBIDDEN', `the user's grant no longer lets the agent call ${missing.join(', ')}`)
    if (!current.grant.chains.includes(`eip155:${order.spec.chainId}`))
      throw new BaseError('FORBIDDEN', `the user's grant no longer names chain ${order.spec.chain}`)
    return { kind: 'order', id: order.id, agent: order.owner, ...current }
  }

  /**
   * The active orders, from a cache kept per process: each pass reads only every active order's id and version and
   * fetches the rows that are new or changed (a state change, a fire, a pause all take a new version), so 10,000
   * orders cost one narrow query per block, not 10,000 rows of JSON.
   */
  const cache = new Map<string, StandingOrder>()
  async function activeOrders(): Promise<StandingOrder[]> {
    const heads = await orders.activeVersions()
    const stale = heads.filter((h) => cache.get(h.id)?.version !== h.version).map((h) => h.id)
    for (let i = 0; i < stale.length; i += 1000)
      for (const o of await orders.byIds(stale.slice(i, i + 1000))) cache.set(o.id, o)
    const live = new Set(heads.map((h) => h.id))
    for (const id of cache.keys()) if (!live.has(id)) cache.delete(id)
    return heads.flatMap((h) => {
      const o = cache.get(h.id)
      return o && o.status === 'active' && o.version === h.version ? [o] : []
    })
  }

  /** Evaluates every active order at the latest block of its chain and fires what is due, then carries fires. */
  async function pass(signal?: AbortSignal): Promise<{ evaluated: number; fired: number }> {
    // The kill switch stops all firing (and an unreadable state counts as engaged: fail closed).
    const kill = await parameters.killSwitch.state().catch(() => ({ engaged: true }))
    if (kill.engaged) return { evaluated: 0, fired: 0 }
    let evaluated = 0
    let fired = 0
    // Fires a crash, a lost lease or a write still in flight left under way come first (same calls, same idempotency
    // keys: never a second transaction). An order with a fire under way is not evaluated until it has ended.
    const busy = new Set<string>()
    for (const fire of await orders.pendingFires()) {
      if (signal?.aborted) return { evaluated, fired }
      try {
        const order = await orders.get(fire.orderId)
        if (order && (await carry(order, fire, signal)) === 'pending') busy.add(order.id)
      } catch (error) {
        busy.add(fire.orderId)
        parameters.onError?.(error)
      }
    }
    const active = await activeOrders()
    const byChain = new Map<number, StandingOrder[]>()
    for (const o of active) {
      if (busy.has(o.id)) continue
      const list = byChain.get(o.spec.chainId)
      if (list) list.push(o)
      else byChain.set(o.spec.chainId, [o])
    }
    const due: { order: StandingOrder; seq: number }[] = []
    for (const [chainId, list] of byChain) {
      if (signal?.aborted) break
      // One chain's trouble (its endpoints down) never holds up the others.
      try {
        const counts = await evaluateChain(chainId, list, due, signal)
        evaluated += counts
      } catch (error) {
        parameters.onError?.(error)
      }
    }
    // Fires are carried after every order was evaluated: a slow fire never delays another order's evaluation.
    for (const { order, seq } of due) {
      if (signal?.aborted) break
      fired++
      try {
        const fresh = await orders.get(order.id)
        const fire = (await orders.fires(order.id, 1))[0]
        if (fresh && fire && fire.seq === seq) await carry(fresh, fire, signal)
      } catch (error) {
        parameters.onError?.(error)
      }
    }
    return { evaluated, fired }
  }

  /** Evaluates one chain's orders at its latest block; records what changed; collects the fires. */
  async function evaluateChain(
    chainId: number,
    list: StandingOrder[],
    due: { order: StandingOrder; seq: number }[],
    signal?: AbortSignal,
  ): Promise<number> {
    const chain = parameters.chains.resolve(chainId)
    const catalog = parameters.catalog(chainId)
    if (!catalog) return 0
    const block = await latestBlock(chain)
    const pairs = new Set<string>()
    for (const o of list) if (o.spec.trigger.kind !== 'interval') pairs.add(o.spec.trigger.pair)
    const observed = await readPairs(chain, catalog, [...pairs], block).catch(() => new Map())
    const day = utcDay(block.time)
    let evaluated = 0
    for (const order of list) {
      if (signal?.aborted) break
      evaluated++
      const obs: Observation = {
        blockNumber: block.number,
        time: block.time,
        day,
        sources: order.spec.trigger.kind === 'interval' ? [] : observed.get(order.spec.trigger.pair),
      }
      const e = evaluateOrder(order.spec.trigger, order.spec.guards, order.state, order.spec.expiresAt, obs)
      const price = 'price' in e && e.price !== undefined ? { price: e.price.toString() } : {}
      if (e.kind === 'none') continue
      if (e.kind === 'update') {
        if (await orders.update(order.id, order.version, e.state))
          await record(order, e.event, e.reason, block.number, price)
      } else if (e.kind === 'pause') {
        if (await orders.setStatus(order.id, 'paused', e.reason, ['active'], e.state))
          await record(order, 'paused', e.reason, block.number)
      } else if (e.kind === 'expire') {
        if (await orders.setStatus(order.id, 'expired', e.reason, ['active']))
          await record(order, 'expired', e.reason, block.number)
      } else {
        // Who it would act for must still be able to act: a stopped agent, or one whose passport or grant no
        // longer covers the order, gets no fire at all (a skip, recorded once), not a fire that fails.
        const blocked = await fireBlocked(order)
        if (blocked) {
          if (order.state.lastSkip !== blocked) {
            const state = { ...order.state, lastSkip: blocked }
            if (await orders.update(order.id, order.version, state))
              await record(order, 'skipped', blocked, block.number, price)
          }
          continue
        }
        const seq = await orders.fire(order.id, order.version, e.state, {
          blockNumber: block.number,
          blockTime: block.time,
          price: e.price,
        })
        if (seq === undefined) continue
        await record(order, 'fired', e.reason, block.number, { fire: seq, ...price })
        due.push({ order, seq })
      }
    }
    return evaluated
  }

  /** Why an order may not fire now (its creator stopped, its passport or grant not covering it), or undefined. */
  async function fireBlocked(order: StandingOrder): Promise<string | undefined> {
    const agent = agentIdOf({ kind: 'order', id: order.id, agent: order.owner })
    try {
      await parameters.killSwitch.assertOff(agent)
    } catch (error) {
      return `the creator's writes are stopped: ${toBaseError(error).shortMessage}`
    }
    try {
      await fireCaller(order)
    } catch (error) {
      return `the creating agent cannot act: ${toBaseError(error).shortMessage}`
    }
    return undefined
  }

  /** Plans a fire's actions at the current block: swaps with oracle minimums, or the transfer. */
  async function plan(order: StandingOrder, seq: number, chain: ChainContext): Promise<FireAction[]> {
    const catalog = catalogOf(chain)
    const wallet = parameters.wallet()
    if (!wallet) throw new Error('the gateway has no wallet')
    const block = await latestBlock(chain)
    const observed = await readPairs(chain, catalog, pairsOf(catalog, order.spec), block)
    const price = (t: OrderToken) => usdPrice(catalog, t, observed, order.spec, block.time)
    const { action, guards } = order.spec
    const key = (i: number, step: string) => `order:${order.id}:${seq}:${i}:${step}`
    const swapCalls = (
      i: number,
      tokenIn: OrderToken,
      tokenOut: OrderToken,
      amountIn: bigint,
      minOut: bigint,
    ) => [
      {
        tool: 'approve',
        args: {
          chain: chain.name,
          token: tokenIn.address,
          spender: parameters.router(chain.id),
          amount: formatUnits(amountIn, tokenIn.decimals),
          idempotencyKey: key(i, 'approve'),
          wait: true,
        },
      },
      {
        tool: 'swap',
        args: {
          chain: chain.name,
          tokenIn: tokenIn.address,
          tokenOut: tokenOut.address,
          amountIn: formatUnits(amountIn, tokenIn.decimals),
          minAmountOut: formatUnits(minOut, tokenOut.decimals),
          maxSlippageBps: guards.maxSlippageBps,
          idempotencyKey: key(i, 'swap'),
          wait: true,
        },
      },
    ]
    const swapAction = (
      i: number,
      s: {
        tokenIn: OrderToken
        tokenOut: OrderToken
        amountIn: bigint
        minAmountOut: bigint
        valueMicroUsd: bigint
      },
    ): FireAction => ({
      kind: 'swap',
      summary: `swap ${formatUnits(s.amountIn, s.tokenIn.decimals)} ${s.tokenIn.symbol} for at least ${formatUnits(s.minAmountOut, s.tokenOut.decimals)} ${s.tokenOut.symbol}`,
      value: s.valueMicroUsd.toString(),
      status: 'planned',
      intents: [],
      calls: swapCalls(i, s.tokenIn, s.tokenOut, s.amountIn, s.minAmountOut),
    })
    if (action.kind === 'transfer') {
      const amount = BigInt(action.amount)
      const native = action.token.address === '0x0000000000000000000000000000000000000000'
      return [
        {
          kind: 'transfer',
          summary: `transfer ${formatUnits(amount, action.token.decimals)} ${action.token.symbol} to ${action.to}`,
          value: valueMicroUsd(amount, action.token.decimals, price(action.token)).toString(),
          status: 'planned',
          intents: [],
          calls: [
            {
              tool: 'transfer',
              args: {
                chain: chain.name,
                to: action.to,
                ...(native ? {} : { token: action.token.address }),
                amount: formatUnits(amount, action.token.decimals),
                idempotencyKey: key(0, 'transfer'),
                wait: true,
              },
            },
          ],
        },
      ]
    }
    if (action.kind === 'swap') {
      const amountIn = BigInt(action.amountIn)
      const pIn = price(action.tokenIn)
      const pOut = price(action.tokenOut)
      return [
        swapAction(0, {
          tokenIn: action.tokenIn,
          tokenOut: action.tokenOut,
          amountIn,
          minAmountOut: minOutAtOracle(
            amountIn,
            action.tokenIn,
            action.tokenOut,
            pIn,
            pOut,
            guards.maxSlippageBps,
          ),
          valueMicroUsd: valueMicroUsd(amountIn, action.tokenIn.decimals, pIn),
        }),
      ]
    }
    const balances = await chain.client.multicall({
      allowFailure: false,
      blockNumber: block.number,
      contracts: action.weights.map((w) => ({
        address: w.token.address,
        abi: erc20Abi,
        functionName: 'balanceOf' as const,
        args: [wallet] as const,
      })),
    })
    const holdings: Holding[] = action.weights.map((w, i) => ({
      token: w.token,
      bps: w.bps,
      balance: balances[i] as bigint,
      priceWad: price(w.token),
    }))
    return planRebalance(holdings, guards.maxSlippageBps).map((s, i) => swapAction(i, s))
  }

  /**
   * Carries one fire: plans it once (the plan is saved, so a resumed fire sends exactly the same calls with the same
   * idempotency keys), then each action in turn: its value reserved from the order's budget together with the mark
   * that says so (a resumed fire never reserves twice; refused → the fire stops there and the order pauses), its
   * calls through the whole pipeline, the budget settled on the outcome. A call still in flight (held for a human,
   * broadcast and not yet mined) keeps its reservation and leaves the fire pending: the next pass asks again.
   * Returns where the fire stands.
   */
  async function carry(
    order: StandingOrder,
    fire: OrderFire,
    signal?: AbortSignal,
  ): Promise<'done' | 'pending' | 'ended'> {
    let actions = fire.actions
    const stop = async (status: 'failed' | 'stopped', error: string, pause?: string | false) => {
      for (const a of actions) if (a.status === 'planned' && !a.reserved) a.status = 'stopped'
      await orders.saveFire(order.id, fire.seq, { status, actions, error })
      await record(order, status === 'failed' ? 'fire-failed' : 'fire-stopped', error, fire.blockNumber, {
        fire: fire.seq,
      })
      if (pause === false) return 'ended' as const
      const failStreak = (order.state.failStreak ?? 0) + 1
      await orders.streak(order.id, failStreak)
      const reason =
        pause ??
        (failStreak >= order.spec.guards.failuresBeforePause
          ? `${failStreak} fires in a row failed`
          : undefined)
      if (reason && (await orders.setStatus(order.id, 'paused', reason, ['active'])))
        await record(order, 'paused', reason, fire.blockNumber)
      return 'ended' as const
    }
    const started = actions.some((a) => a.reserved)
    if (!started && order.status !== 'active') return stop('stopped', `the order is ${order.status}`, false)
    // A fire nothing of which has started is not carried long after the evaluation that caused it.
    if (!started && Date.now() - fire.createdAt.getTime() > staleFireMs)
      return stop(
        'stopped',
        'the fire is stale: it was not carried out within 10 minutes of its evaluation',
        false,
      )
    let caller: Caller
    try {
      caller = await fireCaller(order)
    } catch (error) {
      const why = `the creating agent cannot act: ${toBaseError(error).shortMessage}`
      return stop('stopped', why, why)
    }
    let chain: ChainContext
    try {
      chain = parameters.chains.resolve(order.spec.chainId)
    } catch {
      return stop('failed', `chain ${order.spec.chain} is not served`)
    }
    if (!fire.planned) {
      try {
        actions = await plan(order, fire.seq, chain)
      } catch (error) {
        return stop('failed', `could not plan the fire: ${toBaseError(error).shortMessage}`)
      }
      await orders.saveFire(order.id, fire.seq, { actions, planned: true })
    }
    const ctx = requestContext({ transport: 'internal', caller, origin: 'order' })
    for (const action of actions) {
      if (action.status !== 'planned') continue
      if (signal?.aborted) return 'pending'
      const value = BigInt(action.value)
      if (!action.reserved) {
        action.reserved = true
        if (!(await orders.reserveAction(order.id, fire.seq, value, actions))) {
          action.reserved = false
          const now = await orders.get(order.id)
          if (now?.status !== 'active') return stop('stopped', `the order is ${now?.status ?? 'gone'}`, false)
          action.error = 'the order budget is exhausted'
          return stop(
            'stopped',
            `the order's budget cannot cover ${action.summary}`,
            'the order budget is exhausted',
          )
        }
      }
      let failure: string | undefined
      for (const [j, call] of action.calls.entries()) {
        const done = action.intents[j]
        if (done && (done.status === 'skipped' || done.status === 'mined')) continue
        // An allowance already large enough needs no approval (the swap is what moves funds).
        if (call.tool === 'approve' && !done && (await allowanceCovers(chain, call.args))) {
          action.intents[j] = { tool: call.tool, status: 'skipped' }
          continue
        }
        // The same call with the same idempotency key: the same intent, as it stands now.
        const result = await parameters.call(call.tool, call.args, ctx)
        const out = (result.structuredContent ?? {}) as {
          intentId?: string
          status?: string
          receipt?: { status?: string }
        }
        action.intents[j] = { tool: call.tool, intentId: out.intentId, status: out.status }
        if (result.isError) {
          failure = `${call.tool} refused: ${errorText(result)}`
          break
        }
        if (out.status && inFlight.has(out.status)) {
          await orders.saveFire(order.id, fire.seq, { actions })
          return 'pending'
        }
        if (out.status !== 'mined' || out.receipt?.status === 'reverted') {
          failure = `${call.tool} ended ${out.status ?? 'unknown'}${out.receipt?.status === 'reverted' ? ' (reverted)' : ''}`
          break
        }
      }
      if (failure) {
        action.status = 'failed'
        action.error = failure
        await orders.settleAction(order.id, fire.seq, value, 0n, actions)
        return stop('failed', failure)
      }
      action.status = 'done'
      await orders.settleAction(order.id, fire.seq, value, value, actions)
    }
    await orders.saveFire(order.id, fire.seq, { status: 'done', actions })
    await orders.streak(order.id, 0)
    await record(order, 'fire-done', `${actions.length} action(s) done`, fire.blockNumber, {
      fire: fire.seq,
      intents: actions.flatMap((a) => a.intents.map((x) => x?.intentId).filter(Boolean)),
    })
    return 'done'
  }

  async function allowanceCovers(chain: ChainContext, args: Record<string, unknown>): Promise<boolean> {
    const wallet = parameters.wallet()
    if (!wallet) return false
    const token = args.token as Address
    const decimals = await chain.client.readContract({
      address: token,
      abi: erc20Abi,
      functionName: 'decimals',
    })
    const allowance = await chain.client.readContract({
      address: token,
      abi: erc20Abi,
      functionName: 'allowance',
      args: [wallet, args.spender as Address],
    })
    return allowance >= parseAmount(String(args.amount), decimals)
  }

  // --- levers ------------------------------------------------------------------------------------------------------

  /** An order the caller may see: an agent sees only its own; the operator every one. */
  async function own(id: string, caller: Caller): Promise<StandingOrder> {
    const order = await orders.get(id)
    if (!order || (caller.kind === 'agent' && order.owner !== actorOf(caller)))
      throw new NotFoundError(`No standing order ${id.slice(0, 64)}.`, {
        field: 'orderId',
        metaMessages: ['list_standing_orders shows your orders.'],
      })
    return order
  }

  return {
    orders,
    resolve,
    activate,
    pass,
    carry,
    own,
    /** Cancels an order (its owner or the operator): it never fires again, and any reservation is released. */
    async cancel(id: string, caller: Caller, reason = 'cancelled') {
      const order = await own(id, caller)
      const done = await orders.setStatus(id, 'cancelled', reason, ['active', 'paused'])
      if (!done && order.status !== 'cancelled')
        throw new BaseError(
          'PRECONDITION_FAILED',
          `Standing order ${id} is ${order.status}; it cannot be cancelled.`,
        )
      if (done) await record(order, 'cancelled', `${reason} by ${actorOf(caller)}`)
      return (await orders.get(id))!
    },
    /** Pauses an active order (the operator). */
    async pause(id: string, by: string, reason = 'paused by the operator') {
      const order = await orders.get(id)
      if (!order) throw new NotFoundError(`No standing order ${id.slice(0, 64)}.`)
      if (await orders.setStatus(id, 'paused', reason, ['active']))
        await record(order, 'paused', `${reason} (${by})`)
      return (await orders.get(id))!
    },
    /** Resumes a paused order: streaks reset, the trigger re-armed (a move trigger takes a fresh reference). */
    async resume(id: string, by: string) {
      const order = await orders.get(id)
      if (!order) throw new NotFoundError(`No standing order ${id.slice(0, 64)}.`)
      if (order.status !== 'paused')
        throw new BaseError('PRECONDITION_FAILED', `Standing order ${id} is ${order.status}, not paused.`)
      // A move trigger takes a fresh reference; a cross trigger stays disarmed until the price is back across its
      // band (a stop-loss that fired is not fired again by a resume).
      const state = {
        ...order.state,
        badStreak: 0,
        failStreak: 0,
        lastBadBlock: undefined,
        reference: undefined,
        lastSkip: undefined,
      }
      if (await orders.setStatus(id, 'active', undefined, ['paused'], state))
        await record(order, 'resumed', `resumed by ${by}`)
      return (await orders.get(id))!
    },
    /** An order as the tools and the operator show it. */
    async describe(order: StandingOrder, detail = false) {
      return describeOrder(
        order,
        detail ? await orders.fires(order.id, 10) : undefined,
        detail ? await orders.events(order.id, 10) : undefined,
      )
    },
  }
}

/** The standing orders' levers. */
export type Orders = ReturnType<typeof createOrders>

/**
 * The id of the order a creation intent makes: known as soon as the intent is, also while a human decides.
 *
 * @example orderIdOf('int_3f2a…') // 'ord_3f2a…'
 */
export function orderIdOf(intentId: string): string {
  return `ord_${intentId.replace(/^[a-z]+_/, '')}`
}

/** An order as tools show it: amounts in display units, prices as decimals. */
export function describeOrder(
  order: StandingOrder,
  fires?: OrderFire[] | undefined,
  events?: Awaited<ReturnType<ReturnType<typeof createOrderStore>['events']>> | undefined,
) {
  const usd = (v: bigint) => formatUnits(v, 6)
  const { trigger, action, guards } = order.spec
  return {
    orderId: order.id,
    status: order.status as OrderStatus,
    ...(order.statusReason ? { statusReason: order.statusReason } : {}),
    owner: order.owner,
    chain: order.spec.chain,
    trigger:
      trigger.kind === 'move'
        ? { kind: 'move', pair: trigger.pair, percent: String(trigger.thresholdBps / 100) }
        : trigger.kind === 'cross'
          ? {
              kind: 'cross',
              pair: trigger.pair,
              direction: trigger.direction,
              level: formatWad(BigInt(trigger.level)),
            }
          : { kind: 'interval', seconds: trigger.seconds },
    action:
      action.kind === 'rebalance'
        ? {
            kind: 'rebalance',
            weights: action.weights.map((w) => ({
              token: w.token.symbol,
              address: w.token.address,
              percent: String(w.bps / 100),
            })),
          }
        : action.kind === 'swap'
          ? {
              kind: 'swap',
              tokenIn: action.tokenIn.symbol,
              tokenOut: action.tokenOut.symbol,
              amountIn: formatUnits(BigInt(action.amountIn), action.tokenIn.decimals),
            }
          : {
              kind: 'transfer',
              token: action.token.symbol,
              to: action.to,
              amount: formatUnits(BigInt(action.amount), action.token.decimals),
            },
    guards: {
      maxDeviationPercent: String(guards.maxDeviationBps / 100),
      maxAgeSeconds: guards.maxAgeSeconds,
      rearmPercent: String(guards.rearmBps / 100),
      cooldownSeconds: guards.cooldownSeconds,
      maxFiresPerDay: guards.maxFiresPerDay,
      maxSlippagePercent: String(guards.maxSlippageBps / 100),
    },
    budget: {
      usd: usd(order.budget),
      spent: usd(order.spent),
      reserved: usd(order.reserved),
      left: usd(order.budget - order.spent - order.reserved),
    },
    ...(order.state.reference ? { reference: formatWad(BigInt(order.state.reference)) } : {}),
    armed: order.state.armed,
    fires: order.fires,
    ...(order.state.lastFireAt ? { lastFireAt: new Date(order.state.lastFireAt * 1000).toISOString() } : {}),
    expiresAt: order.expiresAt.toISOString(),
    createdAt: order.createdAt.toISOString(),
    intentId: order.intentId,
    ...(fires
      ? {
          recentFires: fires.map((f) => ({
            seq: f.seq,
            status: f.status,
            block: f.blockNumber.toString(),
            ...(f.price ? { price: formatWad(BigInt(f.price)) } : {}),
            actions: f.actions.map((a) => ({
              summary: a.summary,
              status: a.status,
              intents: a.intents.filter(Boolean).map((x) => ({
                tool: x.tool,
                ...(x.intentId ? { intentId: x.intentId } : {}),
                ...(x.status ? { status: x.status } : {}),
              })),
              ...(a.error ? { error: a.error } : {}),
            })),
            ...(f.error ? { error: f.error } : {}),
          })),
        }
      : {}),
    ...(events
      ? {
          recentEvaluations: events.map((e) => ({
            kind: e.kind,
            ...(e.reason ? { reason: e.reason } : {}),
            ...(e.blockNumber ? { block: e.blockNumber } : {}),
            at: e.at.toISOString(),
          })),
        }
      : {}),
  }
}

function errorText(result: ToolResult): string {
  try {
    const e = (JSON.parse(result.content[0]?.text ?? '') as { error?: { code?: string; message?: string } })
      .error
    return `${e?.code ?? 'ERROR'}: ${(e?.message ?? '').slice(0, 300)}`
  } catch {
    return 'refused'
  }
}
