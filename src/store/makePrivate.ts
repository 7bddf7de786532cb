import { chmod, lstat, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreUnavailableError } from '../errors/index.js'

/**
 * Makes a data directory private to this OS user: the directory and every directory below it mode 0700, every
 * file 0600 (limits, approvals, the kill switch and the audit live there, and the admin token). PGlite creates
 * its files mode 0666 and an existing directory keeps its mode, so this runs when a process takes the directory
 * and again when the store opens and closes; in between, the 0700 directory keeps other users away from any file
 * created meanwhile. Symbolic links inside are left alone (never followed). On Windows, where modes do not apply,
 * it does nothing.
 *
 * @example await makePrivate('/var/lib/airlock')
 * @throws {StoreUnavailableError} the directory or something in it belongs to another user, or cannot be changed
 */
export async function makePrivate(dir: string): Promise<void> {
  const uid = process.getuid?.()
  if (uid === undefined || process.platform === 'win32') return
  let root: Awaited<ReturnType<typeof stat>>
  try {
    root = await stat(dir) // the directory itself may be a link to where the data lives
  } catch (error) {
    throw refused(dir, dir, error)
  }
  if (!root.isDirectory()) throw refused(dir, dir, new Error('not a directory'))
  await tighten(dir, dir, root, uid)
}

type Stats = Awaited<ReturnType<typeof lstat>>

async function tighten(top: string, path: string, info: Stats, uid: number): Promise<void> {
  const directory = info.isDirectory()
  if (!directory && !info.isFile()) return
  if (info.uid !== uid)
    throw refused(
      top,
      path,
      undefined,
      `${path} belongs to another user (uid ${info.uid}, this process runs as uid ${uid}): that user could open it again`,
    )
  const mode = directory ? 0o700 : 0o600
  if ((Number(info.mode) & 0o777) !== mode) {
    try {
      await chmod(path, mode)
    } catch (error) {
      throw refused(top, path, error)
    }
  }
  if (!directory) return
  let names: string[]
  try {
    names = await readdir(path)
  } catch (error) {
    throw refused(top, path, error)
  }
  await Promise.all(
    names.map(async (name) => {
      const child = join(path, name)
      let childInfo: Stats
      try {
        childInfo = await lstat(child)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return // removed meanwhile (a temporary file)
        throw refused(top, child, error)
      }
      await tighten(top, child, childInfo, uid)
    }),
  )
}

function refused(top: string, path: string, error: unknown, reason?: string): StoreUnavailableError {
  const e = error as NodeJS.ErrnoException | undefined
  return new StoreUnavailableError({
    target: top,
    reason:
      reason ??
      `${path} cannot be made private to this user (${e?.code ?? e?.message?.slice(0, 120) ?? 'unknown error'})`,
    metaMessages: [
      'Airlock keeps its data directory readable and writable by its own user only (directories 0700, files',
      `0600). Run it as the owner of ${top} and of everything in it (chown -R), or point AIRLOCK_DATA_DIR or`,
      'the config `dataDir` at a directory of this user.',
    ],
    ...(error === undefined ? {} : { cause: error }),
  })
}
