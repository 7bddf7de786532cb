import { existsSync, openAsBlob } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The file name of the store template the build ships beside the CLI (`dist/store-template.tar.gz`). */
export const storeTemplateFileName = 'store-template.tar.gz'

/**
 * The store template the build made (`npm run build`, see scripts/build.mjs): a PGlite dump of a migrated embedded
 * database, which a new data directory (or an in-memory store) starts from instead of running initdb. Undefined
 * where there is none (running from source, tests): the store is then created as PostgreSQL creates one.
 * The Blob reads the file only when used.
 *
 * @example const template = await shippedStoreTemplate() // Blob | undefined
 */
export async function shippedStoreTemplate(): Promise<Blob | undefined> {
  // Bundled, this module sits in dist/ or in dist/chunks/; from source, in src/store/ (where no template is).
  for (const candidate of [`./${storeTemplateFileName}`, `../${storeTemplateFileName}`]) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(path)) return openAsBlob(path)
  }
  return undefined
}
