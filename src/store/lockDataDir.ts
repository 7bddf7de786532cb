import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreUnavailableError } from '../errors/index.js'
import { makePrivate } from './makePrivate.js'

/** The lock file in a data directory: `{ pid, role, since, … }` of the process that holds the directory. */
export const lockFileName = 'airlock.lock'

/** Who takes the lock: it shapes the advice of a refusal, nothing else. */
export type DataDirRole = 'gateway' | 'operator' | 'store'

/** Options of {@link lockDataDir}. */
export type LockDataDirParameters = {
  /** Who asks (default `store`): a gateway, an operator command opening the store itself, or any other caller. */
  role?: DataDirRole | undefined
  /** Create the directory (mode 0700) when it does not exist. Default true. */
  create?: boolean | undefined
}

/** The process that holds a data directory, as its lock file says. */
export type DataDirHolder = { pid: number; role: string; since: string }

/** A held data directory. */
export type DataDirLock = {
  dir: string
  /** `<dir>/airlock.lock` */
  path: string
  /** Removes the lock file if it is still this holder's. Safe to call more than once. */
  release(): Promise<void>
}

type LockContent = DataDirHolder & { token: string; boot?: string; start?: string }

/**
 * Takes a data directory for this process (DESIGN §5: PGlite is one process's database, and `admin.json` is
 * written by the one gateway that holds the directory). The lock is `<dir>/airlock.lock`, created atomically with
 * its content (a hard link that fails if the name exists) and holding the pid. A lock whose process no longer
 * runs is taken over, under a second lock so that two processes starting at once cannot both take it. Once held,
 * the directory and everything in it are made private ({@link makePrivate}); a refusal touches nothing but the
 * directory's existence.
 *
 * @example
 * const lock = await lockDataDir('/var/lib/airlock', { role: 'gateway' })
 * try { … } finally { await lock.release() }
 * @throws {DataDirInUseError} another live process holds the directory
 * @throws {StoreUnavailableError} the directory cannot be created, written or made private
 */
export async function lockDataDir(dir: string, parameters: LockDataDirParameters = {}): Promise<DataDirLock> {
  const role = parameters.role ?? 'store'
  const path = join(dir, lockFileName)
  try {
    if (parameters.create === false) {
      if (!(await stat(dir)).isDirectory())
        throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' })
    } else await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw unusable(dir, error, [`Check that ${dir} can be created and written, or set AIRLOCK_DATA_DIR.`])
  }
  const content: LockContent = {
    pid: process.pid,
    role,
    since: new Date().toISOString(),
    token: randomBytes(16).toString('hex'),
    ...identityOf(process.pid),
  }
  const text = JSON.stringify(content)
  // Written under a name of its own first, so the lock never exists half-written.
  const staged = join(dir, `.${lockFileName}.${process.pid}.${content.token}`)
  try {
    await writeFile(staged, text, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    throw unusable(dir, error, [
      `Check that ${dir} is a directory this user can write, or set AIRLOCK_DATA_DIR.`,
    ])
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(staged, path)
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(dir, error)
      }
      const found = await readFile(path, 'utf8').catch(() => undefined)
      if (found === undefined) continue // released meanwhile: try again
      const holder = parseLock(found)
      if (holder && isAlive(holder)) throw new DataDirInUseError({ dir, holder, role })
      await takeOverStale(dir, path, found, staged)
      if (attempt === 4) throw unusable(dir, new Error('the lock kept changing hands'))
    }
  } finally {
    await unlink(staged).catch(() => {})
  }
  let released: Promise<void> | undefined
  const lock: DataDirLock = {
    dir,
    path,
    release: () => {
      released ??= readFile(path, 'utf8').then(
        (found) => (found === text ? unlink(path) : undefined),
        () => undefined,
      )
      return released.catch(() => {})
    },
  }
  try {
    await makePrivate(dir)
  } catch (error) {
    await lock.release()
    throw error
  }
  return lock
}

/**
 * The live process holding `dir`, if any (a lock left by a process that no longer runs is not a holder).
 *
 * @example const holder = dataDirHolder(dir) // { pid: 4242, role: 'gateway', since: '…' } | undefined
 */
export function dataDirHolder(dir: string): DataDirHolder | undefined {
  let found: string
  try {
    found = readFileSync(join(dir, lockFileName), 'utf8')
  } catch {
    return undefined
  }
  const holder = parseLock(found)
  return holder && isAlive(holder) ? { pid: holder.pid, role: holder.role, since: holder.since } : undefined
}

/** A data directory another live Airlock process holds. `holder` names it. */
export class DataDirInUseError extends StoreUnavailableError {
  override name = 'DataDirInUseError'
  readonly holder: DataDirHolder

  constructor({ dir, holder, role }: { dir: string; holder: DataDirHolder; role: DataDirRole }) {
    const who =
      holder.role === 'gateway'
        ? `a running Airlock gateway (pid ${holder.pid}, since ${holder.since})`
        : `another Airlock process (pid ${holder.pid}, ${holder.role === 'operator' ? 'an operator command' : 'a store user'})`
    super({
      target: dir,
      reason: `it is in use by ${who}`,
      metaMessages:
        role === 'operator'
          ? [
              holder.role === 'gateway'
                ? 'That gateway has not announced its admin API here (still starting, or admin.enabled is false):'
                : 'Wait for it to finish, then run the command again;',
              'retry once it is up, or reach it with --url and --token (AIRLOCK_ADMIN_URL / AIRLOCK_ADMIN_TOKEN).',
            ]
          : [
              'One data directory serves one gateway. Use the running gateway (its MCP endpoint), give this one its',
              'own data directory (config `dataDir` or AIRLOCK_DATA_DIR), or set DATABASE_URL so several gateways',
              `share one PostgreSQL. If no Airlock process runs as pid ${holder.pid}, delete ${join(dir, lockFileName)}.`,
            ],
    })
    this.holder = holder
  }
}

/** Removes a stale lock, holding `<lock>.takeover` meanwhile so that only one process removes it. */
async function takeOverStale(dir: string, path: string, stale: string, staged: string): Promise<void> {
  const guard = `${path}.takeover`
  try {
    await link(staged, guard)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(dir, error)
    const other = parseLock(await readFile(guard, 'utf8').catch(() => ''))
    if (other && isAlive(other)) throw new DataDirInUseError({ dir, holder: other, role: 'store' })
    // A process died in the instant it held the guard: clear it; the caller tries again.
    await unlink(guard).catch(() => {})
    return
  }
  try {
    // Still the stale lock we judged (not one a live process took meanwhile): remove it.
    if ((await readFile(path, 'utf8').catch(() => undefined)) === stale) await unlink(path).catch(() => {})
  } finally {
    await unlink(guard).catch(() => {})
  }
}

function parseLock(text: string): LockContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockContent>
    if (typeof value.pid === 'number' && Number.isSafeInteger(value.pid) && value.pid > 0)
      return {
        pid: value.pid,
        role: typeof value.role === 'string' ? value.role.slice(0, 20) : 'unknown',
        since: typeof value.since === 'string' ? value.since.slice(0, 40) : 'unknown',
        token: String(value.token ?? ''),
        ...(typeof value.boot === 'string' ? { boot: value.boot } : {}),
        ...(typeof value.start === 'string' ? { start: value.start } : {}),
      }
  } catch {}
  // A bare pid (the format of earlier versions).
  const pid = Number.parseInt(text, 10)
  return Number.isSafeInteger(pid) && pid > 0 && /^\s*\d+\s*$/.test(text)
    ? { pid, role: 'unknown', since: 'unknown', token: '' }
    : undefined
}

/**
 * Whether the lock's process still runs. Where the system says (Linux `/proc`), the boot and the process start
 * time must match too, so a pid reused after a reboot or a crash is not mistaken for the holder, and a process
 * that has exited but not been reaped yet (a zombie) no longer holds anything.
 */
function isAlive(holder: LockContent): boolean {
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    // EPERM: the process exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const now = processIdentity(holder.pid)
  if (now.state === 'Z' || now.state === 'X') return false
  if (holder.boot && now.boot && holder.boot !== now.boot) return false
  if (holder.start && now.start && holder.start !== now.start) return false
  return true
}

function identityOf(pid: number): { boot?: string; start?: string } {
  const { boot, start } = processIdentity(pid)
  return { ...(boot ? { boot } : {}), ...(start ? { start } : {}) }
}

/** Boot id, state and start time (clock ticks since boot) of a process, where `/proc` has them. */
function processIdentity(pid: number): { boot?: string; start?: string; state?: string } {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const state = fields[0]
    const start = fields[19]
    return { boot, ...(start ? { start } : {}), ...(state ? { state } : {}) }
  } catch {
    return {}
  }
}

function unusable(dir: string, error: unknown, metaMessages?: readonly string[]): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error
  const e = error as NodeJS.ErrnoException
  return new StoreUnavailableError({
    target: dir,
    reason: `the data directory cannot be used (${e.code ?? (e.message ?? String(error)).slice(0, 120)})`,
    metaMessages: metaMessages ?? [
      `Check that ${dir} is a directory this user owns and can write, or set AIRLOCK_DATA_DIR.`,
    ],
    cause: error,
  })
}
