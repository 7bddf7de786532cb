import type { MiddlewareHandler } from 'hono'
import { z } from 'zod'
import { InvalidInputError } from '../../errors/index.js'

/** The parts of a request a schema can check. */
export type ValidationTarget = 'json' | 'query' | 'param'

const where: Record<ValidationTarget, string> = { json: 'request body', query: 'query', param: 'path' }

/**
 * A middleware that checks one part of the request against a zod schema and hands the parsed value to the
 * handler (`c.req.valid(target)`). Bad input is an {@link InvalidInputError} (400) naming the field; the body is
 * read as JSON whatever its content type says (curl's `-d` sends a form type), and an empty body is `{}`.
 *
 * @example app.post('/kill', validate('json', KillBody), (c) => c.json(c.req.valid('json')))
 * @throws {InvalidInputError} the part does not match the schema, or the body is not a JSON object
 */
export function validate<T extends ValidationTarget, S extends z.ZodType>(
  target: T,
  schema: S,
): MiddlewareHandler<
  // biome-ignore lint/suspicious/noExplicitAny: any environment, as hono's own validator
  any,
  string,
  { in: { [K in T]: z.input<S> }; out: { [K in T]: z.output<S> } }
> {
  const allowed = schema instanceof z.ZodObject ? Object.keys(schema.shape) : []
  return async (c, next) => {
    const value =
      target === 'json' ? await readJsonObject(c.req.raw) : target === 'query' ? c.req.query() : c.req.param()
    const result = await schema.safeParseAsync(value)
    if (!result.success) throw invalid(target, result.error, allowed, value)
    c.req.addValidatedData(target, result.data as object)
    await next()
  }
}

async function readJsonObject(request: Request): Promise<unknown> {
  const text = await request.text()
  if (text.trim() === '') return {}
  try {
    const value = JSON.parse(text) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {}
  throw new InvalidInputError('The request body must be a JSON object.')
}

/** The first issue, said with its field; the others as hints. */
function invalid(
  target: ValidationTarget,
  error: z.ZodError,
  allowed: string[],
  input: unknown,
): InvalidInputError {
  const said = error.issues.map((issue) => {
    const path = issue.path.map(String)
    if (issue.code === 'unrecognized_keys') {
      const field = [...path, issue.keys[0] ?? ''].join('.')
      return {
        field,
        message: `The ${where[target]} has an unknown field "${field.slice(0, 64)}"${allowed.length ? ` (it takes ${allowed.join(', ')})` : ''}.`,
      }
    }
    const field = path.join('.')
    const missing = issue.code === 'invalid_type' && at(input, issue.path) === undefined
    return {
      field,
      message: missing
        ? `The ${where[target]} needs "${field}" (${issue.expected}).`
        : `Bad ${where[target]} field "${field}": ${issue.message.replace(/\.$/, '')}.`,
    }
  })
  const [first, ...rest] = said
  return new InvalidInputError(first?.message ?? `Bad ${where[target]}.`, {
    ...(first?.field ? { field: first.field } : {}),
    metaMessages: rest.map((r) => r.message),
  })
}

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value
  for (const key of path)
    v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined
  return v
}
