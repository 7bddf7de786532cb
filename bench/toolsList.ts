// The size of `tools/list` as a model's context pays for it: UTF-8 bytes of the `tools` array, for every toolset
// and for `read` alone. Goals: ≤ 20 KiB for the read and write toolsets (issue 11's set; the per-tool average is
// reported too), ≤ 21 KiB with the payments toolset (fetch_with_payment), ≤ 24 KiB with every toolset since the
// standing-order tools, ≤ 10 KiB for read.
// Deterministic, no devnet: the entries are the ones the pipeline serves (toolListing of each definition).
import { allTools } from '../src/tools/index.js'
import { toolListing } from '../src/tools/listing.js'
import { selectTools, type ToolsetName, toolsetNames, toolsets } from '../src/tools/toolsets.js'

/** The figures {@link benchToolsList} returns. */
export type ToolsListFigures = {
  /** Bytes of the full `tools` array (every toolset). */
  full_bytes: number
  full_tools: number
  /** `full_bytes / full_tools`, rounded. */
  per_tool_bytes: number
  /** Bytes of the `tools` array with only the `read` toolset served. */
  read_bytes: number
  read_tools: number
  /** Bytes of the `tools` array with the `read` and `write` toolsets served. */
  read_write_bytes: number
  read_write_tools: number
  /** Bytes of the `tools` array with the `read`, `write` and `payments` toolsets served. */
  read_write_payments_bytes: number
  /** Bytes and tool count per toolset on its own (empty toolsets are 0). */
  toolsets: Record<ToolsetName, { bytes: number; tools: number }>
  goals: {
    read_write_bytes: 20_480
    read_write_payments_bytes: 21_504
    full_bytes: 24_576
    read_bytes: 10_240
  }
  met: boolean
}

const bytes = (tools: readonly (typeof allTools)[number][]) =>
  Buffer.byteLength(JSON.stringify(tools.map(toolListing)))

/**
 * Measures `tools/list` for the full tool set and per toolset.
 *
 * @example const { full_bytes, per_tool_bytes, read_bytes } = benchToolsList()
 */
export function benchToolsList(): ToolsListFigures {
  const read = selectTools(allTools, ['read'])
  const full_bytes = bytes(allTools)
  const read_bytes = bytes(read)
  const readWrite = selectTools(allTools, ['read', 'write'])
  const read_write_bytes = bytes(readWrite)
  const read_write_payments_bytes = bytes(selectTools(allTools, ['read', 'write', 'payments']))
  const perToolset = Object.fromEntries(
    toolsetNames.map((name) => {
      const tools = allTools.filter((t) => toolsets[name].includes(t.name))
      return [name, { bytes: tools.length ? bytes(tools) : 0, tools: tools.length }]
    }),
  ) as ToolsListFigures['toolsets']
  return {
    full_bytes,
    full_tools: allTools.length,
    per_tool_bytes: Math.round(full_bytes / allTools.length),
    read_bytes,
    read_tools: read.length,
    read_write_bytes,
    read_write_tools: readWrite.length,
    read_write_payments_bytes,
    toolsets: perToolset,
    goals: {
      read_write_bytes: 20_480,
      read_write_payments_bytes: 21_504,
      full_bytes: 24_576,
      read_bytes: 10_240,
    },
    met:
      read_write_bytes <= 20_480 &&
      read_write_payments_bytes <= 21_504 &&
      full_bytes <= 24_576 &&
      read_bytes <= 10_240,
  }
}
