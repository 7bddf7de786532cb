// The fingerprint of everything that determines contracts/artifacts.json. Shared by compileContracts.mjs
// (which writes it) and src/devnet/artifacts.test.ts (which fails when the committed artifacts are stale).
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** Directory of the Solidity sources. */
export const contractsDir = new URL('../contracts/', import.meta.url)

/** The committed artifact file. */
export const artifactsFile = new URL('../contracts/artifacts.json', import.meta.url)

/** The guard's artifact alone (what the gateway loads at every start). */
export const guardFile = new URL('../contracts/guard.json', import.meta.url)

/** solc settings; part of the hash, so changing them invalidates the artifacts. */
export const compilerSettings = Object.freeze({
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
})

/** Packages whose sources or artifacts end up in artifacts.json. */
export const inputPackages = Object.freeze([
  'solc',
  '@openzeppelin/contracts',
  '@ensdomains/ens',
  '@ensdomains/resolver',
  '@uniswap/v2-periphery',
  '@uniswap/v3-core',
  '@uniswap/v3-periphery',
  'viem',
])

/** Version of an installed package, read from its package.json. */
export function packageVersion(name) {
  return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version
}

/** The .sol file names in contracts/, sorted. */
export function solidityFiles() {
  return readdirSync(contractsDir)
    .filter((f) => f.endsWith('.sol'))
    .sort()
}

/**
 * sha256 over the Solidity sources, the compiler settings, the compile script and the versions of the packages
 * that feed the artifacts. Line endings are normalised so a Windows checkout hashes the same.
 */
export function computeSourceHash() {
  const hash = createHash('sha256')
  const text = (url) => readFileSync(url, 'utf8').replace(/\r\n/g, '\n')
  for (const file of solidityFiles()) {
    hash.update(`file:${file}\n${text(new URL(file, contractsDir))}\n`)
  }
  hash.update(`script:\n${text(new URL('./compileContracts.mjs', import.meta.url))}\n`)
  hash.update(`settings:${JSON.stringify(compilerSettings)}\n`)
  for (const name of inputPackages) hash.update(`package:${name}@${packageVersion(name)}\n`)
  return hash.digest('hex')
}
