import { randomBytes } from 'node:crypto'
import type { Store } from './openStore.js'

/**
 * A random 32-byte secret shared by every replica on this store, created on first use (the first insert wins;
 * every replica reads the same row back). For MACs whose tokens one replica issues and another checks, such as
 * the MCP `requestState` of a held write. Never written to a log, a tool result or the audit.
 *
 * @example const key = await sharedSecret(store, 'mcp.requestState')
 */
export async function sharedSecret(store: Store, name: string): Promise<Uint8Array> {
  const key = `secret.${name}`
  const fresh = JSON.stringify(randomBytes(32).toString('base64url'))
  await store.db
    .insertInto('settings')
    .values({ key, value: fresh })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute()
  const row = await store.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirstOrThrow()
  const secret = Buffer.from(String(row.value), 'base64url')
  if (secret.length !== 32) throw new Error(`The shared secret ${name} in the store is malformed.`)
  return new Uint8Array(secret)
}
