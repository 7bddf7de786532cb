import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DevnetError } from '../errors/index.js'
import { startAnvil } from './anvil.js'
import { jsonRpc } from './jsonRpc.js'

/** True while `pid` is a live process (a zombie counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; Z = exited, waiting to be reaped.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc (macOS): trust kill(0)
  }
}

// Another process's exit has no event to wait on: look, until it is gone. The deadline is only there to fail with
// a clear assertion before the test's own 20 s limit; it is not what a passing run waits for.
async function waitUntilGone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return !isAlive(pid)
}

describe('startAnvil', () => {
  it('starts on a free port with the requested chain id and stops for good', async () => {
    const anvil = await startAnvil({ chainId: 4242 })
    expect(anvil.port).toBeGreaterThan(0)
    expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`)
    const [chainId, accounts] = (await jsonRpc(anvil.rpcUrl, [
      { method: 'eth_chainId' },
      { method: 'eth_accounts' },
    ])) as [string, string[]]
    expect(Number(chainId)).toBe(4242)
    expect(accounts).toHaveLength(10)
    expect(accounts[0]?.toLowerCase()).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
    expect(isAlive(anvil.pid)).toBe(true)

    await anvil.stop()
    await anvil.stop() // idempotent
    expect(await waitUntilGone(anvil.pid)).toBe(true)
    await expect(jsonRpc(anvil.rpcUrl, [{ method: 'eth_chainId' }], { timeoutMs: 1_000 })).rejects.toThrow(
      DevnetError,
    )
  })

  it('fails fast when the requested port is taken, naming the port', async () => {
    const server: Server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    try {
      const started = Date.now()
      const error = await startAnvil({ port }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DevnetError)
      expect((error as DevnetError).code).toBe('DEVNET_FAILED')
      expect((error as DevnetError).shortMessage).toContain(`Port ${port}`)
      expect((error as DevnetError).message).toContain('--port')
      expect(Date.now() - started).toBeLessThan(2_000)
    } finally {
      server.close()
    }
  })

  it('reports anvil exiting during startup with its stderr, without hanging', async () => {
    const started = Date.now()
    const error = await startAnvil({ args: ['--hardfork', 'no-such-fork'] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DevnetError)
    expect((error as DevnetError).shortMessage).toMatch(/exited during startup/)
    expect((error as DevnetError).details).toMatch(/no-such-fork/)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('reports a binary that cannot run', async () => {
    const error = await startAnvil({ binary: '/nonexistent/anvil' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DevnetError)
    expect(`${(error as DevnetError).shortMessage} ${(error as DevnetError).details}`).toMatch(
      /not found|No such file|ENOENT|could not be started/,
    )
  })

  it.skipIf(process.platform === 'win32')(
    'dies with its parent even when the parent is SIGKILLed',
    async () => {
      // A separate Node process starts anvil (loading the TypeScript through Vite) and prints anvil's pid.
      const anvilModule = fileURLToPath(new URL('./anvil.ts', import.meta.url))
      const script = `
      import { runnerImport } from 'vite'
      const { module } = await runnerImport(${JSON.stringify(anvilModule)}, { configFile: false, logLevel: 'silent' })
      const anvil = await module.startAnvil()
      console.log('pid=' + anvil.pid)
      setInterval(() => {}, 1000)
    `
      const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const pid = await new Promise<number>((resolve, reject) => {
        let out = ''
        parent.stdout.setEncoding('utf8')
        parent.stdout.on('data', (chunk: string) => {
          out += chunk
          const match = /pid=(\d+)/.exec(out)
          if (match) resolve(Number(match[1]))
        })
        parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)))
      })
      expect(isAlive(pid)).toBe(true)
      parent.kill('SIGKILL')
      expect(await waitUntilGone(pid)).toBe(true)
    },
  )
})
