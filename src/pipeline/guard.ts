import { createHash } from 'node:crypto'
import { type Address, formatUnits, type Hex, isAddressEqual } from 'viem'
import type { AuditLog } from '../audit/auditLog.js'
import type { ChainContext } from '../chains/chains.js'
import type { TokenFactsService } from '../chains/tokenFacts.js'
import { actorOf, agentIdOf, type Caller } from '../context/caller.js'
import { type JsonObject, stringifyJson, toJson } from '../context/json.js'
import { BaseError, toBaseError } from '../errors/index.js'
import { type AddressBook, isLookalike } from '../policy/addressBook.js'
import type { Approvals } from '../policy/approvals.js'
import type { CompiledPolicy } from '../policy/compilePolicy.js'
import { toBaseUnitsFloor } from '../policy/decimal.js'
import { evaluatePolicy } from '../policy/evaluate.js'
import { grantRuleId, narrowByGrant } from '../policy/grantScope.js'
import { addressKey, chainKeys, limitKey } from '../policy/keys.js'
import type { KillSwitch } from '../policy/killSwitch.js'
import { describeCharge, type LimitLedger } from '../policy/limits.js'
import type { LimitCharge, PolicyDecision, PolicyFacts, PolicyOperation } from '../policy/types.js'
import type { BudgetValue } from '../schemas/budget.js'
import type { BlockEnvironment } from '../simulate/blockEnvironment.js'
import type { Simulation, SimulationCall } from '../simulate/types.js'
import { quoteUntrusted } from '../untrusted/quoteUntrusted.js'
import {
  buildFacts,
  type Counterparty,
  counterpartiesOf,
  counterpartyRefusal,
  decodeCall,
  factsChain,
} from './facts.js'
import type { PriceBook } from './prices.js'
import type { Settlement, SettleSubject } from './settle.js'

/** The guardrail parts the write path needs (DESIGN §1): policy, simulation, limits, approvals, kill switch, audit. */
export type GuardrailParts = {
  /** The policy in force; `undefined` = none configured: reads only, every write is denied. */
  policy(): CompiledPolicy | undefined
  killSwitch: KillSwitch
  limits: LimitLedger
  approvals: Approvals
  addressBook: AddressBook
  audit: AuditLog
  simulate(
    chain: ChainContext,
    call: SimulationCall,
    options?: { tokens?: readonly Address[]; environment?: BlockEnvironment | undefined },
  ): Promise<Simulation>
  prices(chain: ChainContext): Promise<PriceBook>
  tokens: TokenFactsService
  /** How long a held intent waits for a human. */
  approvalTtlSeconds: number
  /**
   * Settles mined intents on what their receipts show (limits take what actually moved; a breach engages the kill
   * switch) and releases reservations of intents that ended without a transaction. `intent`: that mined one, now.
   */
  settleLimits(intent?: SettleSubject): Promise<void>
  /** A mined intent's settlement, once it has one. */
  settlement(intentId: string): Promise<Settlement | undefined>
  /** Engage the kill switch after this many denials within the window. */
  autoKill: { maxDenials: number; windowSeconds: number }
}

/** What the guard decided for one write, with the evidence. */
export type GuardOutcome = {
  decision: PolicyDecision
  facts: PolicyFacts
  simulation: Simulation | undefined
  /** Why no simulation exists (the endpoint offers none): the write then needs a human. */
  simulationUnavailable?: string | undefined
  /** The agent whose write this is (its refusals count towards stopping it alone), absent for the operator. */
  agent?: string | undefined
}

/** The write as the guard sees it: the operation, the call (absent for typed data) and the tool's resolved details. */
export type GuardSubject = {
  operation: PolicyOperation
  chain: ChainContext
  wallet: Address
  agent: string
  /** The whole caller: an agent's passport names its developer, and its grant narrows the decision. */
  caller?: Caller | undefined
  call?: { to: Address; data: Hex; value: bigint } | undefined
  details: Record<string, unknown>
  /** A simulation made elsewhere (typed data approvals), used instead of simulating a call. */
  simulation?: Simulation | undefined
  /** Typed data: there is no call to simulate; an undefined `simulation` means its effects are unknown. */
  typedData?: boolean | undefined
  /** The gas limit and fees the transaction will be signed with: the simulation runs it with exactly these. */
  fees?: GuardFees | undefined
  /** The block the fees were priced from: the simulation is pinned to it (no second block read). */
  environment?: BlockEnvironment | undefined
  /**
   * Present when `fees.gas` is the intrinsic 21,000 of a bare value transfer, which is all a recipient without
   * code takes. A simulation that reverts with it (the recipient runs code) asks this for estimated fees, which the
   * draft then signs with, and simulates again with them: what is simulated stays what is signed.
   */
  estimate?: (() => Promise<GuardFees | undefined>) | undefined
  /** A Solana transaction, simulated and decoded by its draft kind (the EVM fields above are absent). */
  solana?: SolanaCheck | undefined
}

const solanaSystemProgram = '11111111111111111111111111111111'
const solanaTokenPrograms = [
  'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA',
  'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb',
]

/** What a Solana draft tells the guard: its simulation, decoded instructions, the token's facts and prices. */
export type SolanaCheck = {
  simulation: Simulation | undefined
  simulationUnavailable?: string | undefined
  to?: string | undefined
  /** The mint moved; absent for SOL. */
  token?: string | undefined
  /** The mint's decimals (9 for SOL). */
  decimals: number
  assetId: string
  amount?: { raw: bigint; decimals: number } | undefined
  /** Every program called: the message's own and those the simulation's logs show invoked. */
  programs: string[]
  tokenRisks: string[]
  authorityChanges: number
  accountCloses: number
  /** The recipient's account as the cluster has it: its owner program, and whether it is a program. */
  recipient?: { owner: string | null; executable: boolean } | undefined
  /** USD prices in micro-dollars per whole unit, by mint (`native` for SOL); an asset without one is unpriced. */
  prices: ReadonlyMap<string, bigint>
}

/** A transaction's gas limit and EIP-1559 fees. */
export type GuardFees = { gas: bigint; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }

/**
 * The guard: simulation → facts → hard refusals → policy. Pure decisions come from `evaluatePolicy`; the I/O
 * (simulation, prices, address book, token decimals) happens here, before it.
 */
export type Guard = {
  parts: GuardrailParts
  /** Throws KILL_SWITCH_ENGAGED when engaged, `agent` is stopped, or the state is unreadable (fail closed). */
  assertLive(agent?: string | undefined): Promise<void>
  /** Simulates and decides. Throws for refusals that no rule can lift (reverts, hard refusals, disagreement). */
  check(subject: GuardSubject): Promise<GuardOutcome>
  /** Reserves an allowed intent's limits, all or none; throws LIMIT_EXCEEDED naming the budget. */
  reserve(intentId: string, limits: readonly LimitCharge[], options?: { force?: boolean }): Promise<void>
  /** Records a denial (audit, auto kill switch) and returns the error for the agent. */
  denied(intentId: string, outcome: GuardOutcome): Promise<BaseError>
  /**
   * Records any other refusal of a write (recipient refusals, LIMIT_EXCEEDED, signing refused) like a denial;
   * errors that `denied` made, and other codes, are left alone.
   */
  refused(intentId: string, error: unknown, agent?: string | undefined): Promise<void>
  /** Engages the kill switch on its own (endpoint disagreement, tool definitions changed, too many denials). */
  autoKill(reason: string): Promise<void>
  /** Every budget of the policy's allow rules that can apply on this chain, with used and remaining. */
  budgets(chain: ChainContext, wallet: Address): Promise<Budget[]>
}

/** One budget as get_limits shows it (amounts in display units). */
export type Budget = BudgetValue

/**
 * Builds the guard over its parts.
 *
 * @example const outcome = await guard.check({ operation: 'transfer', chain, wallet, agent: 'local', call, details })
 */
export function createGuard(parts: GuardrailParts): Guard {
  async function autoKill(reason: string) {
    await parts.killSwitch.engage(reason, 'airlock (automatic)').catch(() => {})
  }

  /**
   * Every refusal of a write counts towards the automatic kill switch, whatever refused it (a rule, the default
   * deny, a lookalike or other recipient refusal, an exhausted limit): an agent probing the guard is one.
   */
  async function recordDenial(intentId: string, data: JsonObject, agent?: string | undefined) {
    await parts.audit.append({ kind: 'policy.denied', intentId, data })
    // An agent's refusals stop that agent alone (its passport may be stolen or its model looping); the others and
    // the operator go on. The operator's own refusals stop everything, as before.
    const actor = agent === undefined ? undefined : actorOf({ kind: 'agent', id: agent })
    const recent = await parts.audit
      .countRecent('policy.denied', parts.autoKill.windowSeconds, actor)
      .catch(() => 0)
    if (recent < parts.autoKill.maxDenials) return
    const reason = `${recent} refused writes within ${parts.autoKill.windowSeconds} s (an agent may be compromised or looping)`
    if (agent === undefined) await autoKill(reason)
    else await parts.killSwitch.stopAgent(agent, reason, 'airlock (automatic)').catch(() => {})
  }

  /**
   * What is left of each budget, e.g. "250 of 250 (limit small-daily on token 0x…, 24h)"; undefined without charges
   * or when the store cannot say.
   */
  async function budgetsLeft(charges: readonly LimitCharge[]): Promise<string | undefined> {
    if (charges.length === 0) return undefined
    const usage = await parts.limits.usage(charges).catch(() => undefined)
    if (!usage) return undefined
    return charges
      .map((c, i) => {
        const d = describeCharge(c, usage[i]?.used ?? 0n, usage[i]?.remaining ?? c.max)
        if (c.metric === 'outflowUsd') return `$${d.remaining} of $${d.max} (limit ${d.limit}, ${d.window})`
        if (c.metric === 'count') return `${d.remaining} of ${d.max} writes (limit ${d.limit}, ${d.window})`
        return `${d.remaining} of ${d.max} (limit ${d.limit} on ${c.token ? `token ${c.token}` : 'the native coin'}, ${d.window})`
      })
      .join('; ')
  }

  /**
   * The policy's decision on the facts, then what no rule can change: no simulation means a human decides, an
   * unmeasurable token is refused under its limits, and an agent's grant narrows the rest (DESIGN §7).
   */
  function decide(
    facts: PolicyFacts,
    simulation: Simulation | undefined,
    simulationUnavailable: string | undefined,
    subject: Pick<GuardSubject, 'caller'>,
    decimals: ReadonlyMap<string, number> = new Map(),
  ): GuardOutcome {
    const policy = parts.policy()
    let decision: PolicyDecision = policy
      ? evaluatePolicy(policy, facts)
      : {
          effect: 'deny',
          ruleIds: [],
          reasons: ['no policy is configured, so this gateway allows reads only'],
          limits: [],
          policyHash: 'none',
        }
    if (simulationUnavailable && decision.effect === 'allow')
      decision = {
        ...decision,
        effect: 'require_approval',
        limits: [],
        reasons: [
          ...decision.reasons,
          `a human must approve it: ${simulationUnavailable} (no simulation, so no automatic allow)`,
        ],
      }
    // An amount limit cannot measure a token whose decimals() does not work: refused, never guessed (ADVERSARIAL
    // 49, 12). Base units of an unknown scale against a cap in display units could be off by any power of ten.
    const unmeasurable = (simulation?.deltas ?? []).filter(
      (d) => d.kind === 'erc20' && d.raw < 0n && !decimals.has(d.token.toLowerCase()),
    )
    if (decision.effect === 'allow' && unmeasurable.length) {
      const tokens = new Set(unmeasurable.map((d) => (d as { token: Address }).token.toLowerCase()))
      const limited = decision.limits.find(
        (l) => l.metric === 'outflowUsd' || (l.metric === 'outflow' && tokens.has(l.key.split('/')[4] ?? '')),
      )
      if (limited)
        decision = {
          ...decision,
          effect: 'deny',
          limits: [],
          reasons: [
            `token ${[...tokens].join(', ')} has no working decimals(), so limit "${limited.limitId}" of rule ${limited.ruleId} cannot measure what leaves; refused rather than guessed`,
          ],
        }
    }
    // An agent's write meets its user's grant last: it can only narrow what the policy decided (DESIGN §7).
    // An agent's standing order fires within the same grant, read again from its passport at each fire.
    const actsForAgent =
      subject.caller?.kind === 'agent' ||
      (subject.caller?.kind === 'order' && agentIdOf(subject.caller) !== undefined)
    if (actsForAgent && subject.caller && subject.caller.kind !== 'operator')
      decision = subject.caller.grant
        ? narrowByGrant(decision, facts, subject.caller.grant)
        : {
            effect: 'deny',
            ruleIds: [grantRuleId],
            reasons: ['the agent holds no grant from a user, so it may not write'],
            limits: [],
            policyHash: decision.policyHash,
          }
    return { decision, facts, simulation, simulationUnavailable, agent: agentIdOf(subject.caller) }
  }

  /**
   * A Solana transaction (DESIGN §8): the draft kind simulated it and decoded its instructions; the guard refuses
   * what no rule can allow (authority changes, account closes, the wallet paying itself, a lookalike recipient, a
   * failing simulation), builds the facts and decides like any write.
   */
  async function checkSolana(subject: GuardSubject, solana: SolanaCheck): Promise<GuardOutcome> {
    const { chain } = subject
    if (solana.authorityChanges > 0 || solana.accountCloses > 0)
      throw new BaseError(
        'POLICY_DENIED',
        `Refused: the transaction ${solana.authorityChanges > 0 ? 'changes an account authority' : 'closes an account'}.`,
        {
          metaMessages: [
            'No policy rule can allow this through the gateway: it moves control, not an amount.',
          ],
        },
      )
    if (solana.to !== undefined) {
      // Recipients that are always a mistake (ADVERSARIAL 4, as on EVM): the wallet itself, the mint, the system
      // program (Solana's "zero address"), a program, or a token account (tokens sent to it land in a new account
      // owned by that token account, out of anyone's reach; SOL sent to it is stuck there).
      const r = solana.recipient
      const refusal =
        solana.to === subject.wallet
          ? 'a transfer from the gateway wallet to itself'
          : solana.to === solana.token
            ? 'a transfer to the token mint itself'
            : solana.to === solanaSystemProgram
              ? 'a transfer to the system program'
              : r?.executable
                ? `a transfer to a program (${solana.to})`
                : r?.owner && solanaTokenPrograms.includes(r.owner)
                  ? `a transfer to a token account (${solana.to}); give the owner's wallet address, not its token account`
                  : undefined
      if (refusal)
        throw new BaseError('POLICY_DENIED', `Refused: ${refusal}.`, {
          field: 'to',
          metaMessages: ['No policy rule can allow this. Check the recipient.'],
        })
    }
    const book = await parts.addressBook.list()
    const listed = new Set(book.map((e) => addressKey(e.address)))
    if (solana.to !== undefined && !listed.has(solana.to)) lookalikeRefusal(solana.to as Address, book)
    const simulation = solana.simulation
    if (simulation?.reverted)
      throw new BaseError(
        'SIMULATION_REVERTED',
        `The gateway's simulation of this ${subject.operation} fails: ${simulation.revertReason ? quoteUntrusted(simulation.revertReason, 'program error', { maxLength: 200 }) : 'no reason given'}.`,
        {
          metaMessages: [
            "Nothing was signed. The reason above is the chain's own text (untrusted): check balances, the recipient and the amount.",
          ],
        },
      )
    const prices = solana.prices
    const outflows: PolicyFacts['outflows'] = []
    let usd: bigint | undefined = 0n
    for (const d of simulation?.deltas ?? []) {
      if (d.raw >= 0n) continue
      const token = d.kind === 'spl' ? d.token : undefined
      const decimals = token === undefined ? 9 : token === solana.token ? solana.decimals : undefined
      if (decimals === undefined) {
        usd = undefined
        continue
      }
      outflows.push({
        ...(token ? { token: token as Address } : {}),
        raw: -d.raw,
        decimals,
        assetId: d.assetId,
      })
      const price = prices.get(token ?? 'native')
      usd =
        usd === undefined || price === undefined
          ? undefined
          : usd + (-d.raw * price) / 10n ** BigInt(decimals)
    }
    const facts: PolicyFacts = {
      operation: subject.operation,
      chain: chain.name,
      chainId: (chain as { id: number }).id,
      caip2: chain.caip2,
      wallet: subject.wallet,
      agent: subject.agent,
      origin: subject.caller?.kind === 'order' ? 'order' : 'tool',
      developer:
        subject.caller?.kind === 'agent' || subject.caller?.kind === 'order'
          ? subject.caller.developer
          : undefined,
      to: solana.to as Address | undefined,
      token: solana.token as Address | undefined,
      assetId: solana.assetId,
      functions: [],
      amount: solana.amount,
      value: { raw: solana.token === undefined ? (solana.amount?.raw ?? 0n) : 0n, decimals: 9 },
      addressBookListed: solana.to !== undefined && listed.has(solana.to),
      simulation,
      outflows,
      outflowMicroUsd: simulation ? usd : undefined,
      approvalMicroUsd: 0n,
      now: new Date(),
      programs: solana.programs,
      tokenRisks: solana.tokenRisks,
    }
    return decide(facts, simulation, solana.simulationUnavailable, subject)
  }

  return {
    parts,
    async assertLive(agent) {
      await parts.killSwitch.assertOff(agent)
    },

    async check(subject) {
      if (subject.solana) return checkSolana(subject, subject.solana)
      const { chain, call } = subject
      // The wallet's own code (its delegation to the on-chain guard) runs a batch of any calls as the wallet: a
      // call into it would hide those calls from every check below. Nothing but a plain transfer goes there.
      if (call && call.data !== '0x' && isAddressEqual(call.to, subject.wallet))
        throw new BaseError('POLICY_DENIED', 'Refused: a call into the gateway wallet itself.', {
          field: 'address',
          metaMessages: [
            "No policy rule can allow this: the wallet's code runs batches only for the gateway's own checked writes. Call the contract you mean directly.",
          ],
        })
      // Calldata that is not canonical is refused before anything else looks at it (ADVERSARIAL 23).
      const decoded = call
        ? decodeCall(
            call.data,
            typeof subject.details.function === 'string' ? subject.details.function : undefined,
          )
        : undefined
      // Recipients and spenders, the tool's own and every decoded (inner) call's, meet the refusals no rule can
      // lift before anything is simulated (ADVERSARIAL 4, 5, 50).
      const book = await parts.addressBook.list()
      const listed = new Set(book.map((e) => e.address.toLowerCase()))
      const counterparties = counterpartiesOf(subject.operation, subject.details, call, decoded)
      // A contract stopped on its own (it once made a write move more than was checked) refuses every write that
      // touches it, before anything is simulated; an unreadable store refuses too (fail closed).
      const touched = contractsTouched(subject.details, call, counterparties)
      await parts.killSwitch.assertContractsLive(chain.id, touched, { chainName: chain.name })
      const refusal = counterpartyRefusal(counterparties, subject.wallet, subject.operation)
      if (refusal)
        throw new BaseError('POLICY_DENIED', `Refused: ${refusal}.`, {
          field: 'to',
          metaMessages: ['No policy rule can allow this. Check the recipient.'],
        })
      for (const c of counterparties)
        if (!listed.has(c.address.toLowerCase())) lookalikeRefusal(c.address, book)
      let simulation = subject.simulation
      let simulationUnavailable: string | undefined
      if (subject.typedData && !simulation)
        simulationUnavailable = 'the gateway does not understand what this EIP-712 message authorizes'
      if (!simulation && call) {
        try {
          let fees = subject.fees
          const simulate = (environment: BlockEnvironment | undefined) =>
            parts.simulate(
              chain,
              { from: subject.wallet, ...call, ...fees },
              { tokens: tokensOf(subject.details), ...(environment ? { environment } : {}) },
            )
          simulation = await simulate(subject.environment)
          // 21,000 gas was a guess that only an address without code takes: with the draft's estimated fees now.
          if (simulation.reverted && subject.estimate) {
            fees = await subject.estimate()
            simulation = await simulate(subject.environment)
          }
          // Balance reads that disagree with the traced value transfers can be the wallet's own other transaction
          // landing between the reads (many writes at once): ask once more, on the block after it.
          if (simulation.flags.includes('native-differs-from-logs')) simulation = await simulate(undefined)
        } catch (error) {
          const e = toBaseError(error)
          if (e.code === 'ENDPOINT_DISAGREEMENT') {
            await autoKill(`endpoints of ${chain.name} disagree on a write simulation`)
            throw e
          }
          if (e.code !== 'SIMULATION_UNAVAILABLE') throw e
          simulationUnavailable = e.shortMessage
        }
      }
      // What only the simulation revealed (a token behind a router, a spender granted inside the call) meets the
      // stopped contracts too; what was checked above is not asked again.
      const checked = new Set(touched.map((a) => a.toLowerCase()))
      const revealed = [
        ...(simulation?.deltas ?? []).flatMap((d) => (d.kind === 'native' ? [] : [d.token])),
        ...(simulation?.approvals ?? []).flatMap((a) => [a.token, a.spender]),
      ].filter((a) => !checked.has(a.toLowerCase()))
      if (revealed.length)
        await parts.killSwitch.assertContractsLive(chain.id, revealed, { chainName: chain.name })
      if (simulation?.reverted)
        throw new BaseError(
          'SIMULATION_REVERTED',
          `The gateway's simulation of this ${subject.operation} reverts: ${simulation.revertReason ? quoteUntrusted(simulation.revertReason, 'revert reason', { maxLength: 200 }) : 'no reason given'}.`,
          {
            metaMessages: [
              'Nothing was signed. The reason above is the contract’s own text (untrusted): check balances, allowances and arguments.',
            ],
          },
        )
      const assets = new Set<Address>()
      for (const t of tokensOf(subject.details)) assets.add(t)
      for (const d of simulation?.deltas ?? []) if (d.kind === 'erc20') assets.add(d.token)
      const decimals = new Map<string, number>()
      await Promise.all(
        [...assets].map(async (token) => {
          const facts = await parts.tokens.get(chain, token).catch(() => undefined)
          if (facts) decimals.set(token.toLowerCase(), facts.decimals)
        }),
      )
      const prices = await parts.prices(chain)
      const facts = buildFacts({
        operation: subject.operation,
        chain: factsChain(chain),
        wallet: subject.wallet,
        agent: subject.agent,
        origin:
          subject.caller?.kind === 'order'
            ? 'order'
            : subject.caller?.kind === 'operator' && subject.caller.id === 'payouts'
              ? 'payout'
              : 'tool',
        developer:
          subject.caller?.kind === 'agent' || subject.caller?.kind === 'order'
            ? subject.caller.developer
            : undefined,
        call,
        decoded,
        details: subject.details,
        simulation,
        addressBookListed: (a) => listed.has(a.toLowerCase()),
        decimals: (t) => decimals.get(t.toLowerCase()),
        priceMicroUsd: prices,
        now: new Date(),
      })
      // The counterparty the facts name (a router, a contract, a verifying contract) is checked as well.
      if (facts.to && !facts.addressBookListed) lookalikeRefusal(facts.to, book)
      return decide(facts, simulation, simulationUnavailable, subject, decimals)
    },

    async reserve(intentId, limits, options) {
      if (limits.length === 0) return
      const result = await parts.limits.reserve(intentId, limits, options)
      if (result.ok) return
      const d = describeCharge(result.charge, result.used, result.remaining)
      throw new BaseError(
        'LIMIT_EXCEEDED',
        `Denied: this needs ${formatUnits(result.charge.amount, result.charge.decimals)} of limit "${d.limit}" (rule ${d.rule}), which has ${d.remaining} left of ${d.max} in ${d.window}.`,
        {
          metaMessages: [
            `Used so far in the window: ${d.used}. Call get_limits to see every budget.`,
            'Send less, wait for the window to free budget, or ask the operator.',
          ],
        },
      )
    },

    async denied(intentId, outcome) {
      const { decision } = outcome
      await recordDenial(
        intentId,
        {
          code: 'POLICY_DENIED',
          ruleIds: decision.ruleIds,
          reasons: decision.reasons,
          policyHash: decision.policyHash,
        },
        outcome.agent,
      )
      // What is left under the nearest allow rule: the agent learns what it could still do, not only what failed.
      const near = decision.nearest
      const left = near ? await budgetsLeft(near.limits) : undefined
      const error = new BaseError(
        'POLICY_DENIED',
        `Denied: ${decision.reasons.join('; ')}.${left ? ` Left under rule ${near!.ruleId}: ${left}.` : ''}`,
        {
          metaMessages: [
            decision.ruleIds.length
              ? `Rule(s): ${decision.ruleIds.join(', ')}.`
              : near
                ? `No rule allows it; rule ${near.ruleId} would, if the condition(s) above held.`
                : 'No rule allows it.',
            outcome.agent
              ? "Nothing was signed. Call whoami for what your user's grant allows and its budget left; the operator owns the policy."
              : 'Nothing was signed. Call get_limits for your budgets and per-transfer caps; the operator owns the policy.',
          ],
        },
      )
      recordedDenials.add(error)
      return error
    },

    async refused(intentId, error, agent) {
      const e = toBaseError(error)
      if (!countedCodes.has(e.code) || recordedDenials.has(e)) return
      await recordDenial(intentId, { code: e.code, reasons: [e.shortMessage] }, agent)
    },

    autoKill,

    async budgets(chain, wallet) {
      const policy = parts.policy()
      if (!policy) return []
      const keys = chainKeys(chain.name, chain.id)
      const rows: {
        budget: Omit<Budget, 'max' | 'used' | 'remaining'>
        key: string
        windowSeconds: number
        max: bigint
        decimals: number
      }[] = []
      for (const rule of policy.rules) {
        if (rule.effect !== 'allow' || rule.limits.length === 0) continue
        const chains = rule.rule.match?.chain
        if (chains && !chains.some((c) => keys.includes(String(c).toLowerCase()))) continue
        for (const [i, limit] of rule.limits.entries()) {
          const key = limitKey({
            ruleId: rule.id,
            limitId: limit.id,
            chainId: chain.id,
            wallet,
            ...(limit.metric === 'outflow' ? { token: limit.tokenKey } : {}),
          })
          let decimals = 0
          if (limit.metric === 'outflowUsd') decimals = 6
          else if (limit.metric === 'outflow')
            decimals =
              limit.tokenKey === 'native' || !limit.token
                ? chain.chain.nativeCurrency.decimals
                : ((await parts.tokens.get(chain, limit.token).catch(() => undefined))?.decimals ?? -1)
          if (decimals < 0) continue
          rows.push({
            budget: {
              limit: limit.id,
              rule: rule.id,
              metric: limit.metric,
              ...(limit.metric === 'outflow' ? { token: limit.token ?? 'native' } : {}),
              window: rule.rule.limits?.[i]?.window ?? `${limit.windowSeconds}s`,
            },
            key,
            windowSeconds: limit.windowSeconds,
            max: toBaseUnitsFloor(limit.max, decimals),
            decimals,
          })
        }
      }
      const usage = await parts.limits.usage(rows)
      return rows.map((r, i) => ({
        ...r.budget,
        max: formatUnits(r.max, r.decimals),
        used: formatUnits(usage[i]?.used ?? 0n, r.decimals),
        remaining: formatUnits(usage[i]?.remaining ?? r.max, r.decimals),
      }))
    },
  }
}

/** Refusals that count towards the automatic kill switch (DESIGN §1: an agent probing the guard). */
const countedCodes = new Set(['POLICY_DENIED', 'LIMIT_EXCEEDED', 'SIGNING_REFUSED'])
/** Errors `denied` made: already recorded, so `refused` does not count them twice. */
const recordedDenials = new WeakSet<BaseError>()

/** Refuses an address that looks like an address-book entry but is not it (address poisoning, ADVERSARIAL 5). */
function lookalikeRefusal(address: Address, book: readonly { address: string; label: string }[]): void {
  const lookalike = book.find((e) => isLookalike(e.address, address))
  if (lookalike)
    throw new BaseError(
      'POLICY_DENIED',
      `Refused: ${address} looks like the address-book entry "${lookalike.label}" (${lookalike.address}) but is a different address.`,
      {
        field: 'to',
        metaMessages: [
          'This is how address-poisoning attacks work: same first and last characters, different middle.',
          'Compare the full address with the one you meant; the operator can add it to the address book if it is right.',
        ],
      },
    )
}

/**
 * Every address a write touches that may be a stopped contract: the call's target (inner calls of a `multicall`
 * run on it too), every recipient, spender and token of the decoded calls, and the tokens, recipient, spender and
 * verifying contract the tool's details name.
 */
function contractsTouched(
  details: Record<string, unknown>,
  call: { to: Address } | undefined,
  counterparties: readonly Counterparty[],
): string[] {
  const out: string[] = call ? [call.to] : []
  for (const c of counterparties) out.push(c.address, ...(c.token ? [c.token] : []))
  out.push(...tokensOf(details))
  for (const key of ['to', 'spender', 'verifyingContract'])
    if (typeof details[key] === 'string') out.push(details[key] as string)
  return out
}

/** Token addresses a write's details name (transfer/approve token, swap tokens). */
function tokensOf(details: Record<string, unknown>): Address[] {
  const out: Address[] = []
  for (const key of ['token', 'tokenIn', 'tokenOut'])
    if (typeof details[key] === 'string' && /^0x[0-9a-fA-F]{40}$/.test(details[key] as string))
      out.push(details[key] as Address)
  return out
}

/**
 * The hash an approval is bound to: chain, sender, call and the simulated effects. An approved intent whose
 * re-simulation hashes differently is not sent.
 *
 * @example intentHash({ chainId: 31337, from, call, simulation })
 */
export function intentHash(input: {
  chainId: number
  from: Address
  call?: { to: Address; data: Hex; value: bigint } | undefined
  typedData?: unknown
  simulation: Simulation | undefined
}): string {
  const effects = input.simulation
    ? {
        deltas: input.simulation.deltas,
        approvals: input.simulation.approvals,
        reverted: input.simulation.reverted,
      }
    : null
  const text = stringifyJson({
    chainId: input.chainId,
    from: input.from.toLowerCase(),
    call: input.call ?? null,
    typedData: input.typedData ?? null,
    effects,
  })
  return createHash('sha256').update(text).digest('hex')
}

/**
 * A simulation as JSON for results, approvals and the audit log: amounts as decimal strings.
 *
 * @example simulationJson(simulation).deltas[0] // { kind: 'erc20', token, raw: '-1500000' }
 */
export function simulationJson(simulation: Simulation | undefined): Record<string, unknown> | null {
  if (!simulation) return null
  return toJson<JsonObject>(simulation)
}
