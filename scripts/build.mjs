// Bundles the CLI (and the bench) into dist/ with esbuild: one tree-shaken ESM file per entry plus lazily loaded
// chunks, so `airlock stdio` starts without parsing all of viem and every chain definition.
import { createHash } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints: { airlock: 'src/cli/main.ts', bench: 'bench/run.ts', client: 'src/client.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  minifySyntax: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // PGlite loads its WASM and data files next to its own module; pg has an optional native binding; litesvm (the
  // embedded Solana devnet) is a native binding in a platform package.
  external: ['@foundry-rs/*', '@electric-sql/pglite', 'pg', 'litesvm'],
  banner: {
    // Bundled CommonJS dependencies may call require(); give them one.
    js: "import { createRequire as __airlockCreateRequire } from 'node:module'; const require = __airlockCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
})

// The embedded database's worker thread (src/store/pgliteThread.ts) is plain JavaScript, loaded by path beside the
// module that starts it: the entry files in dist/ or the chunks in dist/chunks/.
for (const dir of ['dist', join('dist', 'chunks')])
  copyFileSync('src/store/pgliteWorker.cjs', join(dir, 'pgliteWorker.cjs'))

// The store template (src/store/shippedStoreTemplate.ts): a migrated embedded database, made once here so that a
// gateway's first start unpacks it in a fraction of a second instead of running initdb (seconds of CPU, hundreds
// of MB left behind). Kept in node_modules/.cache under a hash of what shapes it, so rebuilds reuse it.
const templateFile = join('dist', 'store-template.tar.gz')
const storeSources = readdirSync('src/store')
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
  .sort()
const hash = createHash('sha256')
hash.update(readFileSync('node_modules/@electric-sql/pglite/package.json'))
for (const name of storeSources) hash.update(name).update(readFileSync(join('src/store', name)))
const cacheDir = join('node_modules', '.cache', 'airlock')
const cached = join(cacheDir, `store-template-${hash.digest('hex').slice(0, 16)}.tar.gz`)
if (!existsSync(cached)) {
  // Inside the project, so that the bundle's external packages resolve from its node_modules.
  mkdirSync(cacheDir, { recursive: true })
  const work = mkdtempSync(join(cacheDir, 'build-'))
  try {
    const maker = join(work, 'makeStoreTemplate.mjs')
    await build({
      entryPoints: ['src/store/makeStoreTemplate.ts'],
      outfile: maker,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: ['@electric-sql/pglite', 'pg'],
      banner: {
        js: "import { createRequire as __airlockCreateRequire } from 'node:module'; const require = __airlockCreateRequire(import.meta.url);",
      },
      logLevel: 'warning',
    })
    const { makeStoreTemplate } = await import(pathToFileURL(maker).href)
    const made = join(work, 'store-template.tar.gz')
    await makeStoreTemplate(made)
    // Renamed into place: a build running alongside never copies half a template.
    copyFileSync(made, `${cached}.${process.pid}`)
    renameSync(`${cached}.${process.pid}`, cached)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
copyFileSync(cached, templateFile)
