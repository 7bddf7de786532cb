import { createHash } from 'node:crypto'
import { guardAddress, guardCodeHash } from '../chains/evm/guard.js'
import type { ToolListing as Tool } from '../context/tool.js'

/** One tool's pin: its name and the hash of its full definition. */
export type ToolPin = { name: string; hash: string }

/**
 * `airlock://tools/manifest`: every tool's hash, the on-chain guard every guarded write runs through (its address
 * and the keccak256 of its runtime code, which the compiled source fixes), and one hash over all of them.
 */
export type ToolManifest = {
  algorithm: 'sha256'
  hash: string
  tools: ToolPin[]
  guard?: { address: string; codeHash: string } | undefined
}

/** The pin of the on-chain guard in the manifest (listed with the tools when it changes). */
const guardPin = { name: 'AirlockGuard (on-chain guard)', hash: guardCodeHash }

/**
 * JSON with object keys sorted at every level, so the same definition always hashes the same.
 *
 * @example sortedJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

/**
 * Hashes each tool's full definition as `tools/list` shows it (name, title, description, input and output
 * schemas, annotations), so a client can pin them and notice any change (ADVERSARIAL 41).
 *
 * @example toolManifest(pipeline.tools).tools.find((t) => t.name === 'transfer')?.hash
 */
export function toolManifest(tools: readonly Tool[]): ToolManifest {
  const pins = tools
    .map((tool) => ({ name: tool.name, hash: sha256(sortedJson(tool)) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
  return {
    algorithm: 'sha256',
    hash: sha256([...pins, guardPin].map((p) => `${p.name}:${p.hash}`).join('\n')),
    tools: pins,
    guard: { address: guardAddress, codeHash: guardCodeHash },
  }
}

/**
 * The tools whose definition differs from a pinned manifest: changed, added or removed.
 *
 * @example diffManifest(pinned, toolManifest(pipeline.tools)) // [] when nothing changed
 */
export function diffManifest(
  pinned: ToolManifest,
  current: ToolManifest,
): { name: string; change: 'changed' | 'added' | 'removed' }[] {
  const before = new Map(pinned.tools.map((t) => [t.name, t.hash]))
  const after = new Map(current.tools.map((t) => [t.name, t.hash]))
  const out: { name: string; change: 'changed' | 'added' | 'removed' }[] = []
  for (const [name, hash] of after) {
    const old = before.get(name)
    if (old === undefined) out.push({ name, change: 'added' })
    else if (old !== hash) out.push({ name, change: 'changed' })
  }
  for (const name of before.keys()) if (!after.has(name)) out.push({ name, change: 'removed' })
  // A manifest pinned before the guard was part of it has none: that is not a change of the guard.
  if (pinned.guard && pinned.guard.codeHash !== current.guard?.codeHash)
    out.push({ name: guardPin.name, change: 'changed' })
  return out
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
