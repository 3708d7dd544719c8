// Checks request bodies against the services' own request schemas (copied into
// __tests__/fixtures/request-schemas.json). Only the JSON Schema words those schemas use.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Schema {
  type?: string
  required?: string[]
  properties?: Record<string, Schema>
  items?: Schema | { oneOf: Schema[] }
  enum?: unknown[]
  pattern?: string
  format?: string
  oneOf?: Schema[]
  anyOf?: Schema[]
  not?: Schema
}

interface Fixtures {
  deepgram: Record<string, Schema>
  github: Record<string, Schema>
}

const fixtures = JSON.parse(
  readFileSync(join(process.cwd(), '__tests__/fixtures/request-schemas.json'), 'utf8'),
) as Fixtures

export function requestSchema(service: 'deepgram' | 'github', operation: string): Schema {
  const schema = fixtures[service][operation]
  if (!schema) throw new Error(`no schema for ${service} ${operation}`)
  return schema
}

/** Every way `value` breaks `schema`; empty when it conforms. */
export function schemaErrors(value: unknown, schema: Schema, path = 'body'): string[] {
  const errors: string[] = []
  if (schema.type && !hasType(value, schema.type)) return [`${path} is not of type ${schema.type}`]
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path} is not one of ${schema.enum.join(', ')}`)
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern).test(value))
    errors.push(`${path} does not match ${schema.pattern}`)
  if (
    schema.format === 'date-time' &&
    typeof value === 'string' &&
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
  ) {
    errors.push(`${path} is not an RFC 3339 date-time`)
  }
  const record = isRecord(value) ? value : undefined
  for (const name of schema.required ?? []) if (record && !(name in record)) errors.push(`${path}.${name} is required`)
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    if (record && name in record) errors.push(...schemaErrors(record[name], sub, `${path}.${name}`))
  }
  if (schema.items && Array.isArray(value)) {
    const items = schema.items
    value.forEach((item, i) => {
      const alternatives = 'oneOf' in items && items.oneOf ? items.oneOf : [items as Schema]
      if (!alternatives.some((alt) => schemaErrors(item, alt).length === 0))
        errors.push(`${path}[${i}] matches no item schema`)
    })
  }
  if (schema.oneOf && schema.oneOf.filter((alt) => schemaErrors(value, alt, path).length === 0).length !== 1) {
    errors.push(`${path} does not match exactly one of its alternatives`)
  }
  if (schema.anyOf && !schema.anyOf.some((alt) => schemaErrors(value, alt, path).length === 0))
    errors.push(`${path} matches none of anyOf`)
  if (schema.not && schemaErrors(value, schema.not, path).length === 0) errors.push(`${path} matches what it must not`)
  return errors
}

function hasType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value)
  if (type === 'number') return typeof value === 'number'
  if (type === 'array') return Array.isArray(value)
  if (type === 'object') return isRecord(value)
  return typeof value === type
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
