import type { OrderGuards, OrderTrigger } from './spec.js'

/** Where an order's trigger stands between evaluations (stored as JSON on the order; prices as WAD strings). */
export type OrderState = {
  /** A move trigger's reference price, re-based after each fire. */
  reference?: string | undefined
  /** Whether the trigger may fire (false after a fire until the price is back inside the re-arm band). */
  armed: boolean
  /** Block time (unix s) of the last fire. */
  lastFireAt?: number | undefined
  /** UTC day (`2026-12-02`) `firesToday` counts. */
  day?: string | undefined
  firesToday: number
  /** An interval trigger's next due time (unix s). */
  nextDueAt?: number | undefined
  /** Blocks in a row at which the sources were missing, stale or disagreed. */
  badStreak: number
  /** The last block counted in `badStreak` (a pass at the same block does not count again). */
  lastBadBlock?: string | undefined
  /** Fires in a row that failed. */
  failStreak: number
  /** Why the last evaluation that wanted to fire did not (so a repeated reason is not recorded again). */
  lastSkip?: string | undefined
}

/** What the price sources said at one block: the primary first. */
export type Observation = {
  blockNumber: bigint
  /** The block's timestamp (unix s): every time guard is measured against it, never the wall clock. */
  time: number
  /** The pair's sources, primary first; undefined = the pair could not be read at all. */
  sources?: readonly { value: bigint; updatedAt: number; name: string }[] | undefined
  /** The block time's UTC day (`2026-12-02`); computed from `time` when absent (a pass computes it once). */
  day?: string | undefined
}

/** The outcome of one evaluation. */
export type Evaluation =
  /** Nothing changed. */
  | { kind: 'none' }
  /** The state changed without firing (armed, referenced, skipped and why): recorded and audited. */
  | { kind: 'update'; state: OrderState; event: string; reason: string; price?: bigint | undefined }
  /** Fire now: `state` is the order's state after the fire. */
  | { kind: 'fire'; state: OrderState; reason: string; price?: bigint | undefined }
  /** Pause the order. */
  | { kind: 'pause'; state: OrderState; reason: string }
  /** The order reached its expiry. */
  | { kind: 'expire'; reason: string }

/** A fresh order's state. */
export function initialState(trigger: OrderTrigger, createdAt: number): OrderState {
  return {
    armed: true,
    firesToday: 0,
    badStreak: 0,
    failStreak: 0,
    ...(trigger.kind === 'interval' ? { nextDueAt: createdAt + trigger.seconds } : {}),
  }
}

/**
 * Evaluates one order at one block (DESIGN §10): a pure function of the trigger, the guards, the state and what
 * the sources said, so every replica (and every re-run after a crash) decides the same. Order of checks: expiry;
 * for price triggers the sources (all present, none older than `maxAgeSeconds` by block time, none further than
 * `maxDeviationBps` from the primary; bad sources at `pauseAfter` blocks in a row pause the order); the re-arm band; the
 * trigger condition on the primary source; then the cooldown and the fires per UTC day.
 *
 * @example evaluateOrder(trigger, guards, state, expiresAt, observation)
 */
export function evaluateOrder(
  trigger: OrderTrigger,
  guards: OrderGuards,
  state: OrderState,
  expiresAt: number,
  obs: Observation,
): Evaluation {
  if (obs.time >= expiresAt) return { kind: 'expire', reason: 'the order reached its expiry' }
  const day = obs.day ?? utcDay(obs.time)
  if (quiet(trigger, guards, state, obs, day)) return { kind: 'none' }
  let next: OrderState = { ...state }
  let changed: { event: string; reason: string } | undefined
  if (next.day !== day) next = { ...next, day, firesToday: 0 }

  let price: bigint | undefined
  let condition = false
  let why = ''
  if (trigger.kind === 'interval') {
    const due = next.nextDueAt ?? obs.time
    if (obs.time >= due) {
      condition = true
      why = `interval of ${trigger.seconds} s is due`
      let after = due
      while (after <= obs.time) after += trigger.seconds
      next.nextDueAt = after
    }
  } else {
    const problem = sourceProblem(guards, obs)
    if (problem) {
      // Counted once per block: passes run more often than blocks come (an idle devnet mines none at all).
      if (next.lastBadBlock !== undefined && obs.blockNumber <= BigInt(next.lastBadBlock))
        return { kind: 'none' }
      const badStreak = next.badStreak + 1
      next = { ...next, badStreak, lastBadBlock: obs.blockNumber.toString() }
      if (badStreak >= guards.pauseAfter)
        return { kind: 'pause', state: next, reason: `${problem}, ${badStreak} evaluations in a row` }
      return { kind: 'update', state: next, event: 'skipped', reason: problem }
    }
    if (next.badStreak > 0) {
      next.badStreak = 0
      next.lastBadBlock = undefined
      changed = { event: 'sources-agree', reason: 'the price sources are fresh and agree again' }
    }
    price = obs.sources![0]!.value
    if (trigger.kind === 'move') {
      if (next.reference === undefined) {
        next.reference = price.toString()
        changed = { event: 'referenced', reason: 'reference price taken' }
      }
      const reference = BigInt(next.reference)
      const moveBps = (abs(price - reference) * 10_000n) / reference
      // A move of exactly the threshold is not "more than" it; compare exactly, not in rounded bps.
      const beyond = abs(price - reference) * 10_000n > BigInt(trigger.thresholdBps) * reference
      if (!next.armed && moveBps <= BigInt(guards.rearmBps)) {
        next.armed = true
        changed = { event: 'armed', reason: 'the price is back inside the re-arm band' }
      }
      if (next.armed && beyond) {
        condition = true
        why = `the price moved ${formatBps(price, reference)} from its reference (more than ${trigger.thresholdBps / 100} %)`
      }
    } else {
      const level = BigInt(trigger.level)
      const band = (level * BigInt(guards.rearmBps)) / 10_000n
      const crossed = trigger.direction === 'above' ? price > level : price < level
      const rearmed = trigger.direction === 'above' ? price < level - band : price > level + band
      if (!next.armed && rearmed) {
        next.armed = true
        changed = { event: 'armed', reason: 'the price is back across the re-arm band' }
      }
      if (next.armed && crossed) {
        condition = true
        why = `the price is ${trigger.direction} the level`
      }
    }
  }

  if (condition) {
    let skip: string | undefined
    if (next.lastFireAt !== undefined && obs.time - next.lastFireAt < guards.cooldownSeconds)
      skip = `in cooldown (${guards.cooldownSeconds} s after the last fire)`
    else if (next.firesToday >= guards.maxFiresPerDay)
      skip = `${guards.maxFiresPerDay} fires today already (the daily maximum)`
    if (!skip) {
      const fired: OrderState = {
        ...next,
        // A move trigger re-bases on the fire (its band is around the new reference); a cross re-arms across its band.
        armed: trigger.kind !== 'cross',
        lastFireAt: obs.time,
        firesToday: next.firesToday + 1,
        lastSkip: undefined,
        ...(trigger.kind === 'move' && price !== undefined ? { reference: price.toString() } : {}),
      }
      return { kind: 'fire', state: fired, reason: why, price }
    }
    if (next.lastSkip !== skip)
      return { kind: 'update', state: { ...next, lastSkip: skip }, event: 'skipped', reason: skip, price }
  } else if (next.lastSkip !== undefined) {
    next.lastSkip = undefined
    changed ??= { event: 'idle', reason: 'the trigger condition no longer holds' }
  }
  if (changed) return { kind: 'update', state: next, ...changed, price }
  // A new UTC day resets the count without an event of its own; keep it with the next change.
  return { kind: 'none' }
}

/**
 * The common case, without allocating: a referenced, armed move trigger whose sources are fine and whose price is
 * within its threshold, with nothing to reset. Anything else takes the full path (same answer, more work).
 */
function quiet(
  trigger: OrderTrigger,
  guards: OrderGuards,
  state: OrderState,
  obs: Observation,
  day: string,
): boolean {
  if (trigger.kind !== 'move' || !state.armed || state.reference === undefined) return false
  if (state.badStreak !== 0 || state.lastSkip !== undefined || state.day !== day) return false
  const sources = obs.sources
  if (!sources || sources.length < 2) return false
  const primary = sources[0]!.value
  if (primary <= 0n) return false
  for (const s of sources) {
    if (s.value <= 0n || obs.time - s.updatedAt > guards.maxAgeSeconds) return false
    if (abs(s.value - primary) * 10_000n > BigInt(guards.maxDeviationBps) * primary) return false
  }
  const reference = BigInt(state.reference)
  return abs(primary - reference) * 10_000n <= BigInt(trigger.thresholdBps) * reference
}

/**
 * The UTC day of a unix time, `2026-12-02`.
 *
 * @example utcDay(1_800_000_000) // '2027-01-15'
 */
export function utcDay(time: number): string {
  return new Date(time * 1000).toISOString().slice(0, 10)
}

/**
 * Why the sources cannot be used at this block, or undefined: fewer than two, a non-positive price, one older than
 * `maxAgeSeconds` by block time, one further than `maxDeviationBps` from the primary.
 */
export function sourceProblem(guards: OrderGuards, obs: Observation): string | undefined {
  const sources = obs.sources
  if (!sources || sources.length === 0) return 'the price sources could not be read'
  if (sources.length < 2) return 'fewer than two price sources answered'
  for (const s of sources) {
    if (s.value <= 0n) return `price source ${s.name} has no positive price`
    if (obs.time - s.updatedAt > guards.maxAgeSeconds)
      return `price source ${s.name} is stale (updated ${obs.time - s.updatedAt} s before the block, more than ${guards.maxAgeSeconds} s)`
  }
  const primary = sources[0]!.value
  for (const s of sources.slice(1)) {
    if (abs(s.value - primary) * 10_000n > BigInt(guards.maxDeviationBps) * primary)
      return `price sources disagree: ${s.name} is ${formatBps(s.value, primary)} from ${sources[0]!.name} (more than ${guards.maxDeviationBps / 100} %)`
  }
  return undefined
}

function abs(v: bigint): bigint {
  return v < 0n ? -v : v
}

/** `+0.61 %`: the signed change from `from` to `to`, in percent with two decimals (rounded toward zero). */
function formatBps(to: bigint, from: bigint): string {
  const bp100 = ((to - from) * 1_000_000n) / from // hundredths of a basis point
  const sign = bp100 < 0n ? '-' : '+'
  const a = abs(bp100)
  return `${sign}${a / 10_000n}.${(a % 10_000n).toString().padStart(4, '0').slice(0, 2)} %`
}
