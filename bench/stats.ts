/** Median, p95 and mean of a list of durations in milliseconds. */
export function summarize(samples: readonly number[]): {
  n: number
  median: number
  p95: number
  mean: number
} {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
  return {
    n: sorted.length,
    median: at(0.5),
    p95: at(0.95),
    mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
  }
}

/** Runs `a` and `b` alternately `rounds` times (after `warmup` rounds), so machine noise hits both sides. */
export async function interleave(
  rounds: number,
  warmup: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] }
  for (let i = 0; i < rounds + warmup; i++) {
    const first = i % 2 === 0
    for (const side of first ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      const t = performance.now()
      await (side === 'a' ? a() : b())
      const dt = performance.now() - t
      if (i >= warmup) out[side].push(dt)
    }
  }
  return out
}

/** Times one async call in milliseconds. */
export async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}
