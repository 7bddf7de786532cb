// The embedded database's thread (see pgliteThread.ts): one PGlite instance, created from `workerData`, answering
// one query at a time. Kept as plain JavaScript so the same file runs from the sources (tests) and from dist/.
// It starts compiling PGlite's WebAssembly at once, then waits for { dataDir, extraStartParams, loadDataDir? } and
// answers { ready: true } or { ready: false, error }. Then messages in: { id, op: 'query', sql, params } |
// { id, op: 'close' }; out: { id, result } | { id, error }.
const { parentPort, workerData } = require('node:worker_threads')
const { setFlagsFromString } = require('node:v8')
const { readFileSync } = require('node:fs')
const { readFile } = require('node:fs/promises')
const { dirname, join } = require('node:path')

// See openStore.ts (baselineWasmOnly): same query speed, less start-up work and memory.
setFlagsFromString('--liftoff-only')

const int8 = 20

/** An error as plain data: its message, name and PostgreSQL fields (code, detail, constraint, …). */
function plainError(error) {
  const out = {
    message: error instanceof Error ? error.message : String(error),
    name: error?.name ?? 'Error',
  }
  if (error && typeof error === 'object')
    for (const [key, value] of Object.entries(error))
      if (typeof value === 'string' || typeof value === 'number') out[key] = value
  return out
}

async function main() {
  const { PGlite } = require(workerData.pglitePath)
  // Compiled and read at once, while the caller still prepares the data directory: the longest part of a start.
  const dist = dirname(workerData.pglitePath)
  const wasm = WebAssembly.compile(readFileSync(join(dist, 'pglite.wasm')))
  const bundle = readFile(join(dist, 'pglite.data')).then((bytes) => new Blob([bytes]))
  wasm.catch(() => {})
  bundle.catch(() => {})
  const open = await new Promise((resolve) => parentPort.once('message', resolve))
  let pglite
  try {
    pglite = await PGlite.create({
      dataDir: open.dataDir,
      parsers: { [int8]: (text) => Number(text) },
      startParams: [...PGlite.defaultStartParams, ...open.extraStartParams],
      pgliteWasmModule: await wasm,
      fsBundle: await bundle,
      ...(open.loadDataDir ? { loadDataDir: new Blob([open.loadDataDir]) } : {}),
    })
  } catch (error) {
    parentPort.postMessage({ ready: false, error: plainError(error) })
    return
  }
  parentPort.postMessage({ ready: true })
  // One at a time, in order: PGlite is one session, and the caller's driver lends it to one user at a time anyway.
  let tail = Promise.resolve()
  parentPort.on('message', (message) => {
    tail = tail.then(async () => {
      try {
        if (message.op === 'close') {
          if (!pglite.closed) await pglite.close()
          parentPort.postMessage({ id: message.id, result: null })
          return
        }
        const result = await pglite.query(message.sql, message.params, { rowMode: 'object' })
        parentPort.postMessage({
          id: message.id,
          result: { rows: result.rows, affectedRows: result.affectedRows, command: result.command },
        })
      } catch (error) {
        parentPort.postMessage({ id: message.id, error: plainError(error) })
      }
    })
  })
}

main()
