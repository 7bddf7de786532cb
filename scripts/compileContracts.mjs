// Builds contracts/artifacts.json: compiles contracts/*.sol with solc-js and adds the third-party artifacts the
// devnet deploys (WETH9, ENS, Uniswap v3, Multicall3). Run with `npm run contracts` after changing a contract;
// the committed output means `npm ci && npm start` never needs solc. src/devnet/artifacts.test.ts fails when the
// committed file no longer matches the sources.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import {
  artifactsFile,
  compilerSettings,
  computeSourceHash,
  contractsDir,
  guardFile,
  packageVersion,
  solidityFiles,
} from './sourceHash.mjs'

const require = createRequire(import.meta.url)

/** Third-party artifacts: package file, and the ABI entries deployment and tests use (undefined = keep all). */
const thirdParty = {
  WETH9: { file: '@uniswap/v2-periphery/build/WETH9.json' },
  ENSRegistry: { file: '@ensdomains/ens/build/contracts/ENSRegistry.json' },
  PublicResolver: {
    file: '@ensdomains/resolver/build/contracts/PublicResolver.json',
    keep: [
      'addr',
      'setAddr',
      'text',
      'setText',
      'name',
      'setName',
      'contenthash',
      'supportsInterface',
      'multicall',
    ],
  },
  ReverseRegistrar: { file: '@ensdomains/resolver/build/contracts/ReverseRegistrar.json' },
  UniswapV3Factory: {
    file: '@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json',
    keep: ['createPool', 'getPool', 'feeAmountTickSpacing', 'owner'],
  },
  NonfungiblePositionManager: {
    file: '@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json',
    keep: [
      'createAndInitializePoolIfNecessary',
      'mint',
      'positions',
      'balanceOf',
      'ownerOf',
      'tokenOfOwnerByIndex',
      'increaseLiquidity',
      'decreaseLiquidity',
      'collect',
      'multicall',
    ],
  },
  SwapRouter: {
    file: '@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json',
    keep: [
      'exactInputSingle',
      'exactInput',
      'exactOutputSingle',
      'exactOutput',
      'multicall',
      'refundETH',
      'unwrapWETH9',
    ],
  },
  QuoterV2: {
    file: '@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json',
    keep: ['quoteExactInputSingle', 'quoteExactInput', 'quoteExactOutputSingle', 'quoteExactOutput'],
  },
}

function fail(message) {
  console.error(`compileContracts: ${message}`)
  process.exit(1)
}

/** Resolves `@openzeppelin/...` style imports from node_modules. */
function findImport(path) {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') }
  } catch {
    return { error: `import not found: ${path}` }
  }
}

/** Contracts whose runtime code the gateway checks on chain, so the artifact keeps it. */
const withRuntime = new Set(['AirlockGuard'])

function compileOwnContracts() {
  const solc = require('solc')
  const sources = {}
  for (const file of solidityFiles()) {
    sources[file] = { content: readFileSync(new URL(file, contractsDir), 'utf8') }
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...compilerSettings,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }))
  const problems = (output.errors ?? []).filter((e) => e.severity === 'error')
  for (const w of (output.errors ?? []).filter((e) => e.severity !== 'error'))
    console.warn(w.formattedMessage)
  if (problems.length) fail(problems.map((e) => e.formattedMessage).join('\n'))

  const contracts = {}
  for (const file of Object.keys(sources)) {
    for (const [name, c] of Object.entries(output.contracts[file] ?? {})) {
      const bytecode = c.evm.bytecode.object
      if (!bytecode) continue // interfaces and abstract contracts
      if (contracts[name]) fail(`duplicate contract name ${name}`)
      contracts[name] = { abi: c.abi, bytecode: `0x${bytecode}` }
      // The guard's runtime code is checked on chain (its code hash) before a wallet delegates to it.
      if (withRuntime.has(name)) contracts[name].runtime = `0x${c.evm.deployedBytecode.object}`
    }
  }
  return { contracts, compiler: solc.version() }
}

function thirdPartyArtifacts() {
  const contracts = {}
  for (const [name, { file, keep }] of Object.entries(thirdParty)) {
    const json = JSON.parse(readFileSync(require.resolve(file), 'utf8'))
    const abi = json.abi ?? JSON.parse(json.interface)
    const bytecode = typeof json.bytecode === 'string' ? json.bytecode : json.bytecode?.object
    if (!bytecode || bytecode === '0x') fail(`${file} has no bytecode`)
    const trimmed = abi.filter(
      (item) =>
        item.type === 'constructor' ||
        keep === undefined ||
        ((item.type === 'function' || item.type === 'error') && keep.includes(item.name)),
    )
    contracts[name] = { abi: trimmed, bytecode: bytecode.startsWith('0x') ? bytecode : `0x${bytecode}` }
  }
  return contracts
}

/** Multicall3's creation code as viem ships it (the constants module is not exported, so read its text). */
async function multicall3() {
  const viemRoot = fileURLToPath(new URL('.', `file://${require.resolve('viem/package.json')}`))
  const text = readFileSync(`${viemRoot}_esm/constants/contracts.js`, 'utf8')
  const match = text.match(/multicall3Bytecode\s*=\s*'(0x[0-9a-fA-F]+)'/)
  if (!match) fail('multicall3Bytecode not found in viem/_esm/constants/contracts.js')
  const { multicall3Abi } = await import('viem')
  return { abi: multicall3Abi, bytecode: match[1] }
}

/** Drops `internalType` (solc's Solidity type names): viem does not need it and it doubles some ABIs. */
function stripInternalTypes(value) {
  if (Array.isArray(value)) return value.map(stripInternalTypes)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'internalType')
      .map(([key, v]) => [key, stripInternalTypes(v)]),
  )
}

const started = Date.now()
const own = compileOwnContracts()
const contracts = { ...own.contracts, ...thirdPartyArtifacts(), Multicall3: await multicall3() }
const sorted = Object.fromEntries(
  Object.keys(contracts)
    .sort()
    .map((name) => [
      name,
      {
        abi: stripInternalTypes(contracts[name].abi),
        bytecode: contracts[name].bytecode,
        ...(contracts[name].runtime ? { runtime: contracts[name].runtime } : {}),
      },
    ]),
)
const artifacts = {
  sourceHash: computeSourceHash(),
  compiler: own.compiler,
  openzeppelin: packageVersion('@openzeppelin/contracts'),
  contracts: sorted,
}
// One line per contract keeps the file small and its diffs readable.
const lines = Object.entries(sorted).map(([name, c]) => `  ${JSON.stringify(name)}: ${JSON.stringify(c)}`)
const head = Object.entries(artifacts)
  .filter(([key]) => key !== 'contracts')
  .map(([key, value]) => ` ${JSON.stringify(key)}: ${JSON.stringify(value)},`)
writeFileSync(artifactsFile, `{\n${head.join('\n')}\n "contracts": {\n${lines.join(',\n')}\n }\n}\n`)
// The guard's artifact also on its own: the gateway loads it at every start (its address and code hash), and the
// full file (every devnet fixture) only when it runs a devnet.
writeFileSync(guardFile, `${JSON.stringify({ sourceHash: artifacts.sourceHash, ...sorted.AirlockGuard })}\n`)
const size = Math.round(readFileSync(artifactsFile).length / 1024)
console.log(
  `compileContracts: wrote ${Object.keys(sorted).length} contracts to contracts/artifacts.json (${size} KiB) in ${Date.now() - started} ms`,
)
