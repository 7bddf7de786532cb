import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

/**
 * A new directory `airlock-<prefix>-…` under the OS temp dir, removed with everything in it when the current test
 * ends, whether it passed or failed. Call it inside a test (or a helper a test calls).
 *
 * @example
 * it('writes a keystore', () => {
 *   const dataDir = tempDir('wallets')
 *   …
 * })
 */
export function tempDir(prefix: string): string {
  let dir: string | undefined
  // Registered before the directory exists: outside a test this throws, and nothing is left behind.
  // Retried: a gateway process the test just stopped may still be letting go of its files.
  onTestFinished(async () => {
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 })
  })
  dir = mkdtempSync(join(tmpdir(), `airlock-${prefix}-`))
  return dir
}
