import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { openStore } from './openStore.js'

/**
 * Creates a migrated embedded database from scratch and writes its PGlite dump (gzip tarball) to `path`: the
 * template a new data directory starts from (see {@link shippedStoreTemplate}). The build runs it once, so a
 * gateway never pays for initdb at run time.
 *
 * @example await makeStoreTemplate('dist/store-template.tar.gz')
 * @throws {StoreUnavailableError} the database could not be created or migrated
 */
export async function makeStoreTemplate(path: string): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'airlock-store-template-'))
  try {
    await (await openStore({ dataDir, template: false })).close()
    const pglite = await PGlite.create({ dataDir: join(dataDir, 'db') })
    try {
      const dump = await pglite.dumpDataDir('gzip')
      await writeFile(path, Buffer.from(await dump.arrayBuffer()), { mode: 0o644 })
    } finally {
      await pglite.close()
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}
