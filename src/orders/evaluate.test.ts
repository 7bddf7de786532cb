import { describe, expect, it } from 'vitest'
import { evaluateOrder, initialState, type Observation, type OrderState } from './evaluate.js'
import { type OrderTrigger, resolveGuards, wad } from './spec.js'

const guards = resolveGuards({ cooldownSeconds: 60, maxFiresPerDay: 3 })
const move: OrderTrigger = { kind: 'move', pair: 'ETH/BTC', thresholdBps: 50 }
const t0 = 1_800_000_000
const price = (x: string) => (wad * BigInt(Math.round(Number(x) * 1e6))) / 1_000_000n
const obs = (time: number, primary: bigint, secondary = primary, updatedAt = time): Observation => ({
  blockNumber: BigInt(time),
  time,
  sources: [
    { name: 'feed', value: primary, updatedAt },
    { name: 'pool', value: secondary, updatedAt: time },
  ],
})
const expires = t0 + 30 * 86_400

/** Runs the evaluations in turn, applying each new state; the kinds. */
function run(trigger: OrderTrigger, steps: Observation[], state: OrderState = initialState(trigger, t0)) {
  const kinds: string[] = []
  for (const o of steps) {
    const e = evaluateOrder(trigger, guards, state, expires, o)
    kinds.push(e.kind === 'update' ? `update:${e.event}` : e.kind)
    if (e.kind === 'update' || e.kind === 'fire' || e.kind === 'pause') state = e.state
    if (e.kind === 'pause' || e.kind === 'expire') break
  }
  return { kinds, state }
}

describe('evaluateOrder', () => {
  it('fires on a move of more than the threshold, exactly once, and re-bases', () => {
    const { kinds, state } = run(move, [
      obs(t0, price('0.05')),
      obs(t0 + 12, price('0.0502')), // +0.4 %: nothing
      obs(t0 + 24, price('0.05025')), // exactly +0.5 %: not "more than"
      obs(t0 + 36, price('0.0503')), // +0.6 %: fire
      obs(t0 + 48, price('0.0503')),
    ])
    expect(kinds).toEqual(['update:referenced', 'none', 'none', 'fire', 'none'])
    expect(state.reference).toBe(price('0.0503').toString())
    expect(state.firesToday).toBe(1)
  })

  it('a move back inside the band after a fire does not fire again; oscillation is held by the cooldown', () => {
    const { kinds } = run(move, [
      obs(t0, price('0.05')),
      obs(t0 + 10, price('0.0503')), // fire, reference 0.0503
      obs(t0 + 20, price('0.05015')), // -0.3 % from the new reference: nothing
      obs(t0 + 30, price('0.05')), // -0.6 %: in cooldown (60 s)
      obs(t0 + 40, price('0.0503')), // back to the reference: nothing
      obs(t0 + 50, price('0.05')), // -0.6 % again, still in cooldown: the same skip is not recorded twice
    ])
    expect(kinds).toEqual([
      'update:referenced',
      'fire',
      'none',
      'update:skipped',
      'update:idle',
      'update:skipped',
    ])
  })

  it('holds the fires per day', () => {
    const steps: Observation[] = [obs(t0, price('1'))]
    let p = 1
    for (let i = 1; i <= 8; i++) {
      p = p * 1.01
      steps.push(obs(t0 + i * 61, price(p.toFixed(6))))
    }
    const { kinds } = run(move, steps)
    expect(kinds.filter((k) => k === 'fire')).toHaveLength(3)
    expect(kinds).toContain('update:skipped')
  })

  it('stale or disagreeing sources never fire; three in a row pause the order', () => {
    const stale = run(move, [obs(t0, price('0.05')), obs(t0 + 4000, price('0.06'), price('0.06'), t0)])
    expect(stale.kinds).toEqual(['update:referenced', 'update:skipped'])
    const { kinds, state } = run(move, [
      obs(t0, price('0.05')),
      obs(t0 + 10, price('0.052'), price('0.05')), // +4 % vs the pool: they disagree (max 1 %)
      obs(t0 + 20, price('0.052'), price('0.05')),
      obs(t0 + 30, price('0.052'), price('0.05')),
    ])
    expect(kinds).toEqual(['update:referenced', 'update:skipped', 'update:skipped', 'pause'])
    expect(state.badStreak).toBe(3)
    const missing: Observation = { blockNumber: 1n, time: t0, sources: undefined }
    expect(evaluateOrder(move, guards, initialState(move, t0), expires, missing)).toMatchObject({
      kind: 'update',
      reason: 'the price sources could not be read',
    })
  })

  it('a cross trigger re-arms only across the band', () => {
    const cross: OrderTrigger = {
      kind: 'cross',
      pair: 'ETH/USD',
      direction: 'above',
      level: price('3000').toString(),
    }
    const g = resolveGuards({ cooldownSeconds: 0, rearmPercent: '1' })
    let state = initialState(cross, t0)
    const kinds: string[] = []
    for (const [i, p] of ['2990', '3001', '2995', '3002', '2960', '3003'].entries()) {
      const e = evaluateOrder(cross, g, state, expires, obs(t0 + i * 10, price(p)))
      kinds.push(e.kind === 'update' ? `update:${e.event}` : e.kind)
      if (e.kind === 'update' || e.kind === 'fire') state = e.state
    }
    expect(kinds).toEqual(['none', 'fire', 'none', 'none', 'update:armed', 'fire'])
  })

  it('an interval fires when due and an order expires', () => {
    const every: OrderTrigger = { kind: 'interval', seconds: 60 }
    const none: Observation = { blockNumber: 1n, time: t0 + 30, sources: [] }
    expect(evaluateOrder(every, guards, initialState(every, t0), expires, none).kind).toBe('none')
    const due = evaluateOrder(every, guards, initialState(every, t0), expires, { ...none, time: t0 + 61 })
    expect(due).toMatchObject({ kind: 'fire', state: { nextDueAt: t0 + 120 } })
    expect(evaluateOrder(every, guards, initialState(every, t0), t0 + 10, none).kind).toBe('expire')
  })
})
