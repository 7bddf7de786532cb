import type { Config } from '../server/config.js'
import { defaultDataDir } from '../signer/walletStore.js'

/**
 * Where keystores and the embedded database live: the config's `dataDir`, else `AIRLOCK_DATA_DIR`, else
 * `~/.airlock`. Every command resolves it here, so `airlock wallet` writes where `airlock start` reads.
 *
 * @example const dir = dataDirOf(options.config, process.env)
 */
export function dataDirOf(config: Config, env: Readonly<Record<string, string | undefined>>): string {
  return config.dataDir ?? defaultDataDir(env)
}
