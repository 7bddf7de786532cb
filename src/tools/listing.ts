import { z } from 'zod'
import type { ToolListing } from '../context/tool.js'
import type { ToolDefinition } from './defineTool.js'
import type { WriteToolDefinition } from './shared/write.js'

type JsonSchema = { [key: string]: unknown }

/** How a listed output field marks an untrusted envelope (`{ value, untrusted: true, sanitized, truncated }`). */
const untrustedNote = 'untrusted'

/**
 * A tool's `tools/list` entry: name, title, description, JSON Schemas of its input and output, annotations.
 *
 * The entry is sized for a model's context (the README's budget), and derived from the zod schemas, which stay
 * the single source of truth and types:
 * - input: the structure, types, enums and descriptions a caller needs; patterns, lengths and bounds are left to
 *   the server's strict parse, which names the field it refuses. Objects nested two levels down, and open
 *   objects, are outlined as `object`.
 * - output: the top-level field names, untrusted envelopes marked. Nothing nested, nothing required: a loosening
 *   of the zod output schema, so every real result still validates (clients check `structuredContent` against
 *   it), and the result itself shows the shape.
 *
 * @example toolListing(getBalance).inputSchema.properties.chain // { type: ['string', 'integer'] }
 */
export function toolListing(tool: ToolDefinition | WriteToolDefinition): ToolListing {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: { ...listedInput(jsonSchema(tool.input, 'input'), 0), type: 'object' },
    outputSchema: { type: 'object', properties: listedOutput(jsonSchema(tool.output, 'output')) },
    annotations: tool.annotations,
  }
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema
  return json
}

/**
 * Keywords left to the server's strict parse: patterns, formats, lengths and numeric bounds are limits a caller
 * meets only by mistake, and the refusal names the field and the limit (descriptions state the ones that matter).
 */
const serverOnly = new Set([
  'pattern',
  'format',
  'propertyNames',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
])

/** An input schema at object nesting `depth` (the arguments object is 0; arrays and unions add none). */
function listedInput(schema: JsonSchema, depth: number): JsonSchema {
  if (schema.type === 'object' && (depth >= 2 || (depth >= 1 && isOpen(schema.additionalProperties))))
    return brief(schema, 'object')
  const out: JsonSchema = {}
  for (const [key, value] of Object.entries(schema)) {
    if (serverOnly.has(key)) continue
    if (key === 'properties')
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, listedInput(v, depth + 1)]),
      )
    else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object'))
      out[key] = listedInput(value as JsonSchema, depth)
    else if (key === 'anyOf' || key === 'oneOf')
      out[key] = (value as JsonSchema[]).map((v) => listedInput(v, depth))
    else out[key] = value
  }
  return foldUnion(out)
}

/** An object that takes any key (`z.looseObject`, `z.record(z.string(), z.unknown())`). */
function isOpen(additional: unknown): boolean {
  return (
    additional === undefined ||
    additional === true ||
    (typeof additional === 'object' && additional !== null && Object.keys(additional).length === 0)
  )
}

function brief(schema: JsonSchema, type: string): JsonSchema {
  return typeof schema.description === 'string' ? { type, description: schema.description } : { type }
}

/**
 * Folds an `anyOf` of plain members: constants of one type become an `enum`, types become one `type` or a list
 * (`['string', 'integer']`). A union that still has a plain member of its only type is that type (`block`: a tag
 * from an enum, a number or a hash, all strings). Anything else stays as it is.
 */
function foldUnion(schema: JsonSchema): JsonSchema {
  const union = schema.anyOf as JsonSchema[] | undefined
  if (!union?.every((s) => typeof s.type === 'string')) return schema
  const { anyOf: _, ...rest } = schema
  const types = [...new Set(union.map((s) => s.type as string))]
  if (types.length === 1 && union.every((s) => s.const !== undefined && Object.keys(s).length === 2))
    return { ...rest, type: types[0], enum: union.map((s) => s.const) }
  const plain = (s: JsonSchema) => Object.keys(s).length === 1
  if ((types.length === 1 && union.some(plain)) || union.every(plain))
    return { ...rest, type: types.length === 1 ? types[0] : types }
  return schema
}

/** The output's top-level fields, each admitting any value; untrusted envelopes (maybe nullable) say so. */
function listedOutput(schema: JsonSchema): Record<string, JsonSchema> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
  return Object.fromEntries(
    Object.entries(properties).map(([name, field]) => [
      name,
      isUntrusted(field) ? { description: untrustedNote } : {},
    ]),
  )
}

function isUntrusted(schema: JsonSchema): boolean {
  const props = schema.properties as Record<string, JsonSchema> | undefined
  if (props?.untrusted?.const === true) return true
  return ((schema.anyOf ?? []) as JsonSchema[]).some(isUntrusted)
}
