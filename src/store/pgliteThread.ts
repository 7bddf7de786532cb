import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

/** What the Kysely dialect needs of a PGlite instance: in this thread, or in its own. */
export type PgliteLike = {
  readonly waitReady: Promise<void>
  readonly closed: boolean
  query<R>(
    sql: string,
    params: unknown[],
    options: { rowMode: 'object' },
  ): Promise<{ rows: R[]; affectedRows?: number | undefined; command?: string | undefined }>
  close(): Promise<void>
}

/** Options of {@link startPgliteThread}. */
export type PgliteThreadOptions = {
  /** `memory://` or the database directory. */
  dataDir: string
  /** `-c name=value` pairs added to PGlite's own start parameters. */
  extraStartParams: readonly string[]
  /** A `dumpDataDir` tarball to start a memory database from. */
  loadDataDir?: Blob | undefined
}

/**
 * Where the thread's code is: beside this module (the sources), or in `chunks/` beside the bundle that inlined it
 * (the build copies it there). Undefined when neither has it: the caller then runs PGlite in its own thread.
 */
export function pgliteWorkerFile(): URL | undefined {
  for (const relative of ['./pgliteWorker.cjs', './chunks/pgliteWorker.cjs']) {
    const url = new URL(relative, import.meta.url)
    if (existsSync(fileURLToPath(url))) return url
  }
  return undefined
}

/** A database thread started ahead of its data directory: compiling PGlite while the caller prepares the rest. */
export type PgliteThread = {
  /** Starts the database (once); the thread is then the database's. */
  open(options: PgliteThreadOptions): Promise<PgliteLike>
  /** Ends a thread that was never opened (or failed to open). */
  dispose(): Promise<void>
}

/**
 * Starts the embedded database's worker thread now and has it compile PGlite's WebAssembly (the longest part of a
 * start) while the caller still takes its data directory, starts a devnet or unpacks a new database; `open` then
 * starts PostgreSQL in it. The database runs there for good, so its start and its queries never hold up this
 * thread: a tool listing or a read is answered while it works on the other core. Queries cross as structured clones
 * (rows with dates, JSON and numbers come back as they would in process); an error keeps its message and PostgreSQL
 * fields (`code`, `detail`, `constraint`, …).
 *
 * @example const thread = preparePgliteThread(file); …; const pglite = await thread.open({ dataDir, extraStartParams })
 */
export function preparePgliteThread(file: URL): PgliteThread {
  const pglitePath = createRequire(import.meta.url).resolve('@electric-sql/pglite')
  const worker = new Worker(file, {
    workerData: { pglitePath },
    // PGlite's own diagnostics stay out of stdout (stdio carries only MCP messages).
    stdout: true,
    stderr: true,
  })
  worker.stdout.resume()
  worker.stderr.resume()
  // Until it is opened, the thread never keeps the process alive.
  worker.unref()
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>()
  let nextId = 1
  let closed = false
  let opened = false
  let ended: Error | undefined
  const fail = (error: Error) => {
    ended ??= error
    for (const p of pending.values()) p.reject(ended)
    pending.clear()
  }
  worker.on('error', (error) => fail(error))
  worker.on('exit', (code) => fail(new Error(`the database thread ended (exit code ${code})`)))

  async function open(options: PgliteThreadOptions): Promise<PgliteLike> {
    if (opened) throw new Error('the database thread is already open')
    opened = true
    if (ended) throw ended
    const loadDataDir = options.loadDataDir ? await options.loadDataDir.arrayBuffer() : undefined
    worker.ref()
    try {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          worker.off('message', onMessage)
          worker.off('exit', onExit)
          worker.off('error', onError)
        }
        const onMessage = (message: { ready?: boolean; error?: Record<string, unknown> }) => {
          if (message.ready === undefined) return
          done()
          if (message.ready) resolve()
          else {
            void worker.terminate()
            reject(revive(message.error ?? {}))
          }
        }
        const onError = (error: Error) => {
          done()
          reject(error)
        }
        const onExit = (code: number) => {
          done()
          reject(new Error(`the database thread ended while starting (exit code ${code})`))
        }
        worker.on('message', onMessage)
        worker.on('exit', onExit)
        worker.on('error', onError)
        worker.postMessage(
          { dataDir: options.dataDir, extraStartParams: [...options.extraStartParams], loadDataDir },
          loadDataDir ? [loadDataDir] : [],
        )
      })
    } finally {
      // The thread keeps the process alive only while a query is outstanding, like a socket with a request on it:
      // an idle store never holds up an exit, and a command awaiting a query is never cut short.
      worker.unref()
    }
    worker.on('message', (message: { id: number; result?: unknown; error?: Record<string, unknown> }) => {
      const p = pending.get(message.id)
      if (!p) return
      pending.delete(message.id)
      if (pending.size === 0) worker.unref()
      if (message.error) p.reject(revive(message.error))
      else p.resolve(message.result)
    })
    const send = <T>(message: Record<string, unknown>): Promise<T> => {
      if (ended) return Promise.reject(ended)
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        if (pending.size === 0) worker.ref()
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
        worker.postMessage({ ...message, id })
      })
    }
    return {
      waitReady: Promise.resolve(),
      get closed() {
        return closed
      },
      query: (sql, params) => send({ op: 'query', sql, params }),
      async close() {
        if (closed) return
        closed = true
        try {
          await send({ op: 'close' })
        } finally {
          await worker.terminate()
        }
      },
    }
  }

  return {
    open,
    async dispose() {
      if (!opened || ended) await worker.terminate()
    },
  }
}

/**
 * Runs the embedded database in a worker thread of its own: {@link preparePgliteThread}, then `open`.
 *
 * @example const pglite = await startPgliteThread(file, { dataDir: '/data/db', extraStartParams: ['-c', 'shared_buffers=8MB'] })
 * @throws {Error} PGlite could not start (the thread has ended)
 */
export async function startPgliteThread(file: URL, options: PgliteThreadOptions): Promise<PgliteLike> {
  return preparePgliteThread(file).open(options)
}

/** An error from the thread as an `Error` with its fields back. */
function revive(plain: Record<string, unknown>): Error {
  const error = new Error(String(plain.message ?? 'database error'))
  for (const [key, value] of Object.entries(plain))
    if (key !== 'message') Object.assign(error, { [key]: value })
  return error
}
