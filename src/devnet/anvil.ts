import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { DevnetError } from '../errors/index.js'
import { jsonRpc } from './jsonRpc.js'

/**
 * The public test mnemonic; its first 10 accounts are funded on the devnet. Never use it for real funds.
 *
 * @example
 * const account = mnemonicToAccount(devnetMnemonic, { addressIndex: 1 }) // 0x7099…79C8, owner of alice.eth
 */
export const devnetMnemonic = 'test test test test test test test test test test test junk'

/** Options of {@link startAnvil}. */
export type StartAnvilParameters = {
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string | undefined
  /** Port to listen on; `0` (default) lets the OS pick a free one, read back from anvil. */
  port?: number | undefined
  /** Chain id. Default 31337. */
  chainId?: number | undefined
  /** HD mnemonic for the funded accounts. Default {@link devnetMnemonic}. It is visible in the process list. */
  mnemonic?: string | undefined
  /** Seconds between blocks; unset means a block per transaction (automine). */
  blockTime?: number | undefined
  /** Funded accounts. Default 10. */
  accounts?: number | undefined
  /** ETH balance of each account. Default 10000. */
  balance?: number | undefined
  /** Extra anvil flags (e.g. `['--hardfork', 'prague']`). Do not pass `--quiet`: readiness is read from the log. */
  args?: readonly string[] | undefined
  /** Path of an anvil binary; default: the one from `@foundry-rs/anvil`'s platform package. */
  binary?: string | undefined
  /** Give up if anvil is not listening after this long. Default 10 000 ms. */
  startTimeoutMs?: number | undefined
}

/** A running anvil started by {@link startAnvil}. */
export type AnvilInstance = {
  /** `http://<host>:<port>` */
  rpcUrl: string
  host: string
  port: number
  chainId: number
  /** Process id of anvil itself (not of a wrapper). */
  pid: number
  /** Stops anvil and waits for it to exit. Safe to call more than once. */
  stop(): Promise<void>
}

const platformPackages: Record<string, string> = {
  'darwin-arm64': '@foundry-rs/anvil-darwin-arm64',
  'darwin-x64': '@foundry-rs/anvil-darwin-amd64',
  'linux-arm64': '@foundry-rs/anvil-linux-arm64',
  'linux-x64': '@foundry-rs/anvil-linux-amd64',
  'win32-x64': '@foundry-rs/anvil-win32-amd64',
}

// Runs anvil as a child of a small shell that kills it as soon as the shell's stdin (a pipe from this process)
// reaches EOF, which happens however this process ends, SIGKILL included. fd 3 reports anvil's pid.
const wrapperScript = [
  'b=$1; shift',
  'exec 4<&0',
  '"$b" "$@" </dev/null 3>&- 4<&- &',
  'p=$!',
  'echo "$p" >&3',
  'exec 3>&-',
  `trap 'kill -TERM "$p" 2>/dev/null' TERM INT HUP`,
  '(read -r _ <&4; kill -TERM "$p" 2>/dev/null) &',
  'w=$!',
  'exec 4<&-',
  'wait "$p"; s=$?',
  'if kill -0 "$p" 2>/dev/null; then wait "$p"; s=$?; fi',
  'kill "$w" 2>/dev/null',
  'exit "$s"',
].join('\n')

const stderrLines = 20

/**
 * Starts a local anvil node and resolves once it accepts JSON-RPC. The process dies with this one: on
 * `stop()`, on exit, on SIGINT/SIGTERM, and (outside Windows) even when this process is SIGKILLed.
 *
 * @example
 * const anvil = await startAnvil({ chainId: 31337 })
 * console.log(anvil.rpcUrl) // http://127.0.0.1:40213
 * await anvil.stop()
 * @throws {DevnetError} the anvil binary is missing, the port is taken, or anvil exits or stalls during startup
 */
export async function startAnvil(parameters: StartAnvilParameters = {}): Promise<AnvilInstance> {
  const {
    host = '127.0.0.1',
    port = 0,
    chainId = 31337,
    mnemonic = devnetMnemonic,
    blockTime,
    accounts = 10,
    balance = 10_000,
    args = [],
    startTimeoutMs = 10_000,
  } = parameters
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new DevnetError(`Invalid port ${port}.`, {
      metaMessages: ['Give a port from 1 to 65535, or 0 for a free one.'],
    })
  }
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new DevnetError(`Invalid chain id ${chainId}.`, {
      metaMessages: ['Give a positive integer chain id.'],
    })
  }
  const binary = parameters.binary ?? resolveAnvilBinary()
  if (port !== 0) await assertPortFree(host, port)

  const anvilArgs = [
    '--host',
    host,
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    '--mnemonic',
    mnemonic,
    '--accounts',
    String(accounts),
    '--balance',
    String(balance),
    ...(blockTime === undefined ? [] : ['--block-time', String(blockTime)]),
    ...args,
  ]
  const wrapped = process.platform !== 'win32'
  const child = wrapped
    ? spawn('/bin/sh', ['-c', wrapperScript, 'airlock-anvil', binary, ...anvilArgs], {
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      })
    : spawn(binary, anvilArgs, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })

  const stderr: string[] = []
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderr.push(...chunk.split('\n').filter((l) => l.trim() !== ''))
    if (stderr.length > stderrLines) stderr.splice(0, stderr.length - stderrLines)
  })

  let started: { pid: number; port: number }
  try {
    started = await waitForListening(child, wrapped, startTimeoutMs, () => stderr)
  } catch (error) {
    killNow(child, undefined)
    throw error
  }
  // The banner (with keys) is read above and discarded; after startup, keep draining so anvil never blocks.
  child.stdout?.resume()

  const instance = track(child, started.pid)
  const rpcUrl = `http://${formatHost(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)}:${started.port}`
  try {
    // One round trip: silence per-request logging (speed) and confirm the node answers with the right chain.
    const [, actual] = await jsonRpc(rpcUrl, [
      { method: 'anvil_setLoggingEnabled', params: [false] },
      { method: 'eth_chainId' },
    ])
    if (Number(actual) !== chainId) {
      throw new DevnetError(`anvil reports chain id ${Number(actual)}, expected ${chainId}.`)
    }
  } catch (error) {
    await instance.stop()
    throw error
  }
  return { rpcUrl, host, port: started.port, chainId, pid: started.pid, stop: instance.stop }
}

/** Path of the anvil binary shipped by the `@foundry-rs/anvil` platform package for this machine. */
function resolveAnvilBinary(): string {
  const key = `${process.platform}-${process.arch}`
  const pkg = platformPackages[key]
  if (!pkg) {
    throw new DevnetError(`anvil has no npm build for ${key}.`, {
      metaMessages: ['Install Foundry (https://getfoundry.sh) and pass its anvil path as `binary`.'],
    })
  }
  const require = createRequire(import.meta.url)
  const candidates: (() => string)[] = [
    () => require.resolve(`${pkg}/package.json`),
    // npm may nest the platform package under @foundry-rs/anvil instead of hoisting it.
    () => createRequire(require.resolve('@foundry-rs/anvil/package.json')).resolve(`${pkg}/package.json`),
  ]
  for (const candidate of candidates) {
    try {
      const file = join(dirname(candidate()), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
      if (existsSync(file)) return file
    } catch {
      // try the next location
    }
  }
  throw new DevnetError(`The anvil binary is not installed (package ${pkg}).`, {
    metaMessages: [
      `Run \`npm install @foundry-rs/anvil\`; it brings ${pkg} as an optional dependency.`,
      'Do not install with --omit=optional / --no-optional.',
    ],
  })
}

async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', (error: NodeJS.ErrnoException) => {
      const taken = error.code === 'EADDRINUSE'
      reject(
        new DevnetError(
          taken
            ? `Port ${port} on ${host} is already in use.`
            : `Cannot listen on ${host}:${port} (${error.code}).`,
          {
            metaMessages: [
              taken
                ? `Stop what listens on ${port}, or choose another port with --port <n> (0 picks a free one).`
                : 'Choose another host or port with --host / --port.',
            ],
            cause: error,
          },
        ),
      )
    })
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()))
  })
}

function waitForListening(
  child: ChildProcess,
  wrapped: boolean,
  timeoutMs: number,
  stderr: () => string[],
): Promise<{ pid: number; port: number }> {
  return new Promise((resolve, reject) => {
    let pid = wrapped ? undefined : child.pid
    let port: number | undefined
    let stdout = ''
    const fail = (message: string, cause?: unknown) => {
      cleanup()
      const tail = stderr()
      reject(
        new DevnetError(message, {
          ...(tail.length ? { details: tail.join('\n') } : {}),
          metaMessages: ['Check the anvil flags; run `anvil --version` to test the binary.'],
          cause,
        }),
      )
    }
    const maybeDone = () => {
      if (pid === undefined || port === undefined) return
      cleanup()
      resolve({ pid, port })
    }
    const onStdout = (chunk: string) => {
      stdout += chunk
      const match = /Listening on \S+:(\d+)/.exec(stdout)
      if (match) {
        port = Number(match[1])
        stdout = ''
        maybeDone()
      } else if (stdout.length > 65_536) {
        stdout = stdout.slice(-1024) // the banner is a few KiB; keep only the tail
      }
    }
    const onPid = (chunk: string) => {
      const n = Number.parseInt(chunk, 10)
      if (Number.isInteger(n) && n > 0) pid = n
      maybeDone()
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      // Give the last stderr chunk a moment to arrive before reporting.
      setTimeout(() => fail(`anvil exited during startup (${signal ?? `exit code ${code}`}).`), 20)
    }
    const onError = (error: Error) => fail(`anvil could not be started: ${error.message}.`, error)
    const timer = setTimeout(() => fail(`anvil did not start listening within ${timeoutMs} ms.`), timeoutMs)
    const cleanup = () => {
      clearTimeout(timer)
      child.stdout?.off('data', onStdout)
      child.stdio[3]?.off('data', onPid)
      child.off('exit', onExit)
      child.off('error', onError)
    }
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', onStdout)
    const pidPipe = child.stdio[3]
    if (pidPipe && 'setEncoding' in pidPipe) (pidPipe as NodeJS.ReadableStream).setEncoding('utf8')
    pidPipe?.on('data', onPid)
    child.once('exit', onExit)
    child.once('error', onError)
  })
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

// Live anvils of this process, killed on exit and on SIGINT/SIGTERM.
const live = new Map<ChildProcess, number | undefined>()
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function killNow(
  child: ChildProcess,
  anvilPid: number | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): void {
  for (const pid of [anvilPid, child.pid]) {
    if (pid === undefined) continue
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
  child.stdin?.destroy()
}

function onProcessExit(): void {
  for (const [child, pid] of live) killNow(child, pid)
  live.clear()
}

function onSignal(signal: NodeJS.Signals): void {
  onProcessExit()
  uninstallHandlers()
  // We only listened so anvil dies first; if nobody else handles the signal, die of it as Node would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

function installHandlers(): void {
  if (live.size !== 1) return
  process.on('exit', onProcessExit)
  for (const s of signals) process.on(s, onSignal)
}

function uninstallHandlers(): void {
  process.off('exit', onProcessExit)
  for (const s of signals) process.off(s, onSignal)
}

function track(child: ChildProcess, anvilPid: number): { stop(): Promise<void> } {
  live.set(child, anvilPid)
  installHandlers()
  const forget = () => {
    live.delete(child)
    if (live.size === 0) uninstallHandlers()
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  }).then(forget)
  let stopping: Promise<void> | undefined
  return {
    stop() {
      stopping ??= (async () => {
        killNow(child, anvilPid)
        const timer = setTimeout(() => killNow(child, anvilPid, 'SIGKILL'), 3_000)
        await exited
        clearTimeout(timer)
      })()
      return stopping
    },
  }
}
