import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { InvalidConfigError } from '../errors/index.js'
import { parseConfig } from '../server/config.js'
import { allTools, readTools, writeTools } from './index.js'
import { toolListing } from './listing.js'
import { parseToolsets, selectTools, toolsetNames, toolsets } from './toolsets.js'

type Listed = {
  type?: string
  properties: Record<string, object>
  required?: string[]
  additionalProperties?: unknown
}
const listed = (schema: unknown) => schema as Listed
const size = (tools: readonly (typeof allTools)[number][]) =>
  Buffer.byteLength(JSON.stringify(tools.map(toolListing)))

describe('tools/list budget', () => {
  it('keeps the read and write toolsets within 20 KiB, the payments tool within 1 KiB more, the order tools 3 KiB', () => {
    expect(size(selectTools(allTools, ['read', 'write']))).toBeLessThanOrEqual(20 * 1024)
    expect(size(selectTools(allTools, ['read', 'write', 'payments']))).toBeLessThanOrEqual(21 * 1024)
    expect(size(allTools)).toBeLessThanOrEqual(24 * 1024)
  })

  it('keeps the read toolset within 10 KiB', () => {
    expect(size(readTools)).toBeLessThanOrEqual(10 * 1024)
  })

  it('gives every tool a title, a short description, an output schema and all four hints', () => {
    for (const t of allTools.map(toolListing)) {
      expect(t.title, t.name).toBeTruthy()
      expect(t.description.length, t.name).toBeLessThanOrEqual(200)
      expect(t.outputSchema?.type, t.name).toBe('object')
      expect(t.annotations?.readOnlyHint, t.name).toBeTypeOf('boolean')
      expect(t.annotations?.idempotentHint ?? false, t.name).toBeTypeOf('boolean')
      expect(t.annotations?.openWorldHint, t.name).toBeTypeOf('boolean')
      if (!t.annotations?.readOnlyHint) expect(t.annotations?.destructiveHint, t.name).toBeTypeOf('boolean')
    }
  })
})

describe('toolListing', () => {
  it('lists the input with every field, the same required ones, and no extra properties', () => {
    for (const tool of allTools) {
      const full = listed(z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }))
      const input = listed(toolListing(tool).inputSchema)
      expect(Object.keys(input.properties), tool.name).toEqual(Object.keys(full.properties))
      expect(input.required, tool.name).toEqual(full.required)
      expect(input.additionalProperties, tool.name).toBe(false)
    }
  })

  it('names every top-level output field and constrains nothing inside, so every real result validates', () => {
    for (const tool of allTools) {
      const output = listed(toolListing(tool).outputSchema)
      expect(Object.keys(output), tool.name).toEqual(['type', 'properties'])
      expect(Object.keys(output.properties), tool.name).toEqual(Object.keys(tool.output.shape))
      for (const field of Object.values(output.properties))
        expect([{}, { description: 'untrusted' }], tool.name).toContainEqual(field)
    }
  })

  it('marks untrusted third-party fields, nullable ones too', () => {
    const props = (name: string) =>
      listed(toolListing(allTools.find((t) => t.name === name)!).outputSchema).properties
    expect(props('get_token_info')).toMatchObject({
      name: { description: 'untrusted' },
      symbol: { description: 'untrusted' },
      decimals: {},
    })
    expect(props('get_nft')).toMatchObject({ metadata: { description: 'untrusted' } })
  })

  it('folds a chain reference to its plain types and a set of constants to an enum', () => {
    const quote = listed(toolListing(allTools.find((t) => t.name === 'quote_swap')!).inputSchema)
    expect(quote.properties.chain).toEqual({ type: ['string', 'integer'] })
    expect(quote.properties.fee).toMatchObject({ type: 'number', enum: [100, 500, 3000, 10000] })
  })
})

describe('toolsets', () => {
  it('puts every tool in exactly one toolset and names only tools that exist', () => {
    const names = allTools.map((t) => t.name)
    const listed = toolsetNames.flatMap((n) => toolsets[n])
    expect([...listed].sort()).toEqual([...names].sort())
    const paymentTools = selectTools(allTools, ['payments'])
    expect(paymentTools.map((t) => t.name)).toEqual(['fetch_with_payment'])
    const orderTools = selectTools(allTools, ['orders'])
    expect(orderTools.map((t) => t.name)).toEqual([
      'create_standing_order',
      'list_standing_orders',
      'get_standing_order',
      'cancel_standing_order',
    ])
    expect(readTools.length + writeTools.length + paymentTools.length + orderTools.length).toBe(
      allTools.length,
    )
  })

  it('selects in tools/list order, all by default', () => {
    expect(selectTools(allTools, undefined)).toBe(allTools)
    expect(selectTools(allTools, ['write', 'orders', 'payments', 'read']).map((t) => t.name)).toEqual(
      allTools.map((t) => t.name),
    )
    expect(selectTools(allTools, ['read', 'solana'])).toEqual(readTools)
  })

  it('refuses toolsets that serve nothing yet, saying which are empty', () => {
    expect(() => selectTools(allTools, ['solana'])).toThrow(/serve no tools yet/)
  })

  it('parses --tools and refuses an unknown name, naming the accepted ones', () => {
    expect(parseToolsets('read, write')).toEqual(['read', 'write'])
    expect(() => parseToolsets('read,wrte')).toThrow(InvalidConfigError)
    expect(() => parseToolsets('read,wrte')).toThrow(
      '--tools: unknown toolset "wrte" (accepted: read, write, payments, orders, solana).',
    )
    expect(() => parseToolsets('')).toThrow(/name at least one toolset/)
  })

  it('takes `tools` in the config file and refuses an unknown name there too', () => {
    expect(parseConfig({ tools: ['read'] }).tools).toEqual(['read'])
    expect(() => parseConfig({ tools: ['read', 'admin'] })).toThrow(
      /field "tools.1" — unknown toolset "admin" \(accepted: read, write, payments, orders, solana\)/,
    )
  })
})
