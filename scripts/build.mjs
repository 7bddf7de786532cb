// Bundles the CLI (and the bench) into dist/ with esbuild: one tree-shaken ESM file per entry plus lazily loaded
// chunks, so `airlock stdio` starts without parsing all of viem and every chain definition.
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

rmSync('dist', { recursive: true, force: true })
await build({
  entryPoints: { airlock: 'src/cli/main.ts', bench: 'bench/run.ts' },
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
  // PGlite loads its WASM and data files next to its own module; pg has an optional native binding.
  external: ['@foundry-rs/*', '@electric-sql/pglite', 'pg'],
  banner: {
    // Bundled CommonJS dependencies may call require(); give them one.
    js: "import { createRequire as __airlockCreateRequire } from 'node:module'; const require = __airlockCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
})
