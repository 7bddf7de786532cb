import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createAuditLog } from '../src/audit/auditLog.js'
import { openStore } from '../src/store/openStore.js'
import { useDevnet } from './devnet.js'
import { cli } from './gatewayDir.js'

// ADVERSARIAL 68 and 69, and the audit head kept elsewhere, with real processes: the built CLI as a gateway
// (`airlock stdio`, as an MCP client config starts it), a second gateway on the same data directory, and the
// operator commands.
const fixtures = useDevnet()
const run = promisify(execFile)
const dirs: string[] = []
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
})
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `airlock-${prefix}-`))
  dirs.push(dir)
  return dir
}

async function airlock(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** Spawns the CLI; `exited` resolves with its code and output, `until(re)` when a stream shows `re`. */
function spawnCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  children.push(child)
  let stdout = ''
  let stderr = ''
  let waiting: { re: RegExp; resolve: () => void }[] = []
  const check = () => {
    const seen = waiting.filter((w) => w.re.test(stdout) || w.re.test(stderr))
    waiting = waiting.filter((w) => !seen.includes(w))
    for (const w of seen) w.resolve()
  }
  child.stdout.on('data', (c: Buffer) => {
    stdout += c
    check()
  })
  child.stderr.on('data', (c: Buffer) => {
    stderr += c
    check()
  })
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  )
  return {
    child,
    exited,
    /** Resolves when stdout or stderr matches `re`; rejects if the process exits first. */
    until: (re: RegExp) =>
      Promise.race([
        new Promise<void>((resolve) => {
          waiting.push({ re, resolve: () => resolve() })
          check()
        }),
        exited.then((e) => {
          throw new Error(`exited (${e.code}) before ${re}: ${e.stderr}`)
        }),
      ]),
  }
}

/** Paths under `dir` (and `dir`) whose mode lets anyone but the owner in: dirs not 0700, files not 0600. */
async function loose(dir: string): Promise<string[]> {
  const found: string[] = []
  const walk = async (path: string) => {
    const info = await lstat(path)
    if (info.isSymbolicLink()) return
    const want = info.isDirectory() ? 0o700 : 0o600
    if ((info.mode & 0o777) !== want) found.push(`${path} ${(info.mode & 0o777).toString(8)}`)
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name))
  }
  await walk(dir)
  return found
}

describe('one gateway per PGlite data directory, kept private', () => {
  it('refuses a second gateway before it touches anything; the first keeps serving, its admin.json and the CLI through it intact; the directory is private; a kept audit head catches removed entries', async () => {
    // A data directory that already exists, open to everyone, with a file anyone could rewrite (ADVERSARIAL 69).
    const dir = tempDir('lock')
    writeFileSync(join(dir, 'fixtures.json'), JSON.stringify(fixtures))
    const config = join(dir, 'airlock.json')
    writeFileSync(config, JSON.stringify({ devnet: { fixtures: join(dir, 'fixtures.json') }, dataDir: dir }))
    mkdirSync(join(dir, 'keystore'))
    writeFileSync(join(dir, 'keystore', 'notes.txt'), 'x')
    chmodSync(dir, 0o777)
    chmodSync(join(dir, 'keystore'), 0o777)
    for (const f of ['fixtures.json', 'airlock.json', 'keystore/notes.txt']) chmodSync(join(dir, f), 0o666)
    const env = { PATH: process.env.PATH ?? '', HOME: dir }

    // The first gateway: `airlock stdio` with its stdin open, as an MCP client keeps it.
    const first = spawnCli(['stdio', '--config', config], env)
    await first.until(/admin API: \S+ \(token in /)
    const announced = readFileSync(join(dir, 'admin.json'), 'utf8')
    const pid = first.child.pid
    expect(JSON.parse(announced).pid).toBe(pid)
    // Through it (the admin API answers once the store is open).
    const before = await airlock(['approvals', '--config', config], env)
    expect(before.code, before.stderr).toBe(0)
    expect(before.stderr).toMatch(new RegExp(`running gateway \\(pid ${pid}\\)`))

    // ADVERSARIAL 69: the directory and every file in it are the owner's alone, PGlite's files included.
    expect(await loose(dir)).toEqual([])

    // ADVERSARIAL 68: a second gateway, over HTTP (`npm start` next to the client) and over stdio, is refused.
    for (const args of [
      ['start', '--config', config, '--port', '0'],
      ['stdio', '--config', config],
    ]) {
      const second = spawnCli(args, env)
      const outcome = await Promise.race([
        second.exited,
        second.until(/Airlock is running/).then(() => ({ code: 'running' as const, stderr: '' })),
      ])
      expect(outcome.code, outcome.stderr).toBe(1)
      expect(outcome.stderr).toMatch(new RegExp(`in use by a running Airlock gateway \\(pid ${pid},`))
      expect(outcome.stderr).toMatch(/Use the running gateway/)
      expect(outcome.stderr).toMatch(/DATABASE_URL/)
      // It touched nothing: the announcement is the first gateway's, byte for byte.
      expect(readFileSync(join(dir, 'admin.json'), 'utf8')).toBe(announced)
    }

    // The operator CLI still reaches the first gateway, and acts on its state.
    const killed = await airlock(['kill', '--reason', 'lock test', '--config', config], env)
    expect(killed.code, killed.stderr).toBe(0)
    expect(killed.stderr).toMatch(new RegExp(`running gateway \\(pid ${pid}\\)`))
    expect((await airlock(['unkill', '--config', config], env)).code).toBe(0)
    const listed = await airlock(['approvals', '--config', config], env)
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(/No pending approvals/)

    // The audit head: `audit export` prints it; verify checks a head through the admin API too.
    const exported = await airlock(
      ['audit', 'export', '--out', join(dir, 'audit.jsonl'), '--config', config],
      env,
    )
    expect(exported.code, exported.stderr).toBe(0)
    const [, seqText, hash] = /audit head (\d+):([0-9a-f]{64})/.exec(exported.stderr) ?? []
    const seq = Number(seqText)
    expect(seq).toBeGreaterThanOrEqual(2)
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n')
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ seq, hash })
    const ahead = await airlock(['audit', 'verify', '--head', `${seq + 5}:${hash}`, '--config', config], env)
    expect(ahead.code).toBe(1)
    expect(ahead.stdout).toMatch(new RegExp(`BROKEN .*head you kept is entry ${seq + 5}`))

    // Stopping the gateway gives the directory back: no announcement, no lock, and still private.
    first.child.stdin!.end()
    expect((await first.exited).code).toBe(0)
    expect(existsSync(join(dir, 'admin.json'))).toBe(false)
    expect(existsSync(join(dir, 'airlock.lock'))).toBe(false)
    expect(await loose(dir)).toEqual([])

    // Someone with the store removes the newest entries and moves the stored head back: the chain alone still
    // verifies, but not against the head kept elsewhere.
    const store = await openStore({ dataDir: dir })
    try {
      const audit = createAuditLog(store)
      const [kept] = await audit.read({ afterSeq: seq - 2, limit: 1 })
      await sql`alter table audit_log disable trigger audit_log_append_only`.execute(store.db)
      await sql`delete from audit_log where seq > ${seq - 1}`.execute(store.db)
      await store.db
        .updateTable('audit_head')
        .set({ seq: seq - 1, hash: kept!.hash })
        .execute()
      expect(await audit.verify()).toMatchObject({ ok: true, entries: seq - 1 })
    } finally {
      await store.close()
    }
    const caught = await airlock(['audit', 'verify', '--head', `${seq}:${hash}`, '--config', config], env)
    expect(caught.code, caught.stderr).toBe(1)
    expect(caught.stderr).toMatch(/acting on its store directly/)
    expect(caught.stdout).toMatch(new RegExp(`BROKEN at entry ${seq}: .*entry ${seq} was removed`))
  }, 120_000)

  it('the operator CLI with no gateway and no store says where it looked and creates nothing', async () => {
    const home = tempDir('nostore')
    const missing = join(home, 'data')
    const env = { PATH: process.env.PATH ?? '', HOME: home, AIRLOCK_DATA_DIR: missing }
    for (const args of [['approvals'], ['kill'], ['audit', 'verify'], ['address-book', 'list']]) {
      const result = await airlock(args, env)
      expect(result.code, result.stdout).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain(`No Airlock gateway is running on ${missing}`)
      expect(result.stderr).toMatch(/airlock start --config FILE.*\n.*AIRLOCK_DATA_DIR[\s\S]*DATABASE_URL/)
      expect(existsSync(missing)).toBe(false)
    }
    // An existing directory without a store stays as it was.
    mkdirSync(missing)
    const empty = await airlock(['approvals'], env)
    expect(empty.code).toBe(1)
    expect(await readdir(missing)).toEqual([])
  })
})
