import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, onTestFinished } from 'vitest'

// Retried: a gateway process the test just stopped may still be letting go of its files.
const remove = (dir: string) => rm(dir, { recursive: true, force: true, maxRetries: 5 })

// Directories made outside a test (in a beforeAll) go with the file. Vitest loads this module once per test file
// (isolated modules), while the file is being collected, so this hook belongs to that file.
const madeInHooks: string[] = []
afterAll(async () => {
  await Promise.all(madeInHooks.splice(0).map(remove))
})

/**
 * A new directory `airlock-<prefix>-…` under the OS temp dir, removed with everything in it when the current test
 * ends, whether it passed or failed; made in a `beforeAll`, when the file's tests are done.
 *
 * @example
 * it('writes a keystore', () => {
 *   const dataDir = tempDir('wallets')
 *   …
 * })
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `airlock-${prefix}-`))
  try {
    onTestFinished(() => remove(dir))
  } catch {
    // Not inside a test.
    madeInHooks.push(dir)
  }
  return dir
}
