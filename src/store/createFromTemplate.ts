import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'

/** What {@link createFromTemplate} did: `created` the database, or found the place `taken` and left it alone. */
export type CreateFromTemplateReturnType = 'created' | 'taken'

/** Prefix of the directory a database is unpacked into before it is renamed into place. */
const stagingPrefix = '.creating-'
// Unpacked this many files at a time: enough to keep the disk busy, few enough to leave the thread pool to others.
const parallelWrites = 16

/**
 * Creates the embedded database `target` (a PGlite data directory, `<dataDir>/db`) from a template: a tarball of a
 * migrated database (PGlite `dumpDataDir`, gzip or plain tar). Unpacking takes a fraction of a second where
 * creating a database (initdb) takes seconds of CPU and leaves hundreds of MB of garbage behind.
 *
 * The database is unpacked into a directory of its own next to `target` and renamed into place, so a crash midway
 * never leaves half a database where one is looked for; what such a crash left is removed on the next call
 * (the caller holds the data directory's lock). Directories are created 0700, files 0600. Only an absent `target`
 * or an empty directory is replaced: anything else is `taken`, and left alone.
 *
 * @example
 * const state = await createFromTemplate(join(dataDir, 'db'), await openAsBlob('store-template.tar.gz'))
 * @throws {Error} the template is not a tarball this reads (plain files and directories), or the files cannot be
 *   written; nothing is left behind
 */
export async function createFromTemplate(
  target: string,
  template: Blob,
): Promise<CreateFromTemplateReturnType> {
  const parent = dirname(target)
  if (!(await isAbsentOrEmpty(target))) return 'taken'
  const leftovers = (await readdir(parent)).filter((name) => name.startsWith(stagingPrefix))
  await Promise.all(leftovers.map((name) => rm(join(parent, name), { recursive: true, force: true })))
  const staging = join(parent, `${stagingPrefix}${basename(target)}-${randomBytes(6).toString('hex')}`)
  try {
    await unpack(await untar(template), staging)
    if (!(await isAbsentOrEmpty(target))) {
      await rm(staging, { recursive: true, force: true })
      return 'taken'
    }
    await rmdir(target).catch(() => {}) // an empty directory (PGlite creates one before it looks inside)
    await rename(staging, target)
    return 'created'
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => {})
    throw error
  }
}

async function isAbsentOrEmpty(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw error
  }
}

/** The tar bytes of a template, gunzipped when it is gzip. */
async function untar(template: Blob): Promise<Buffer> {
  const bytes = Buffer.from(await template.arrayBuffer())
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes
  // The uncompressed size (mod 2^32) ends the gzip stream: one output buffer of that size, not many chunks
  // that would linger in the allocator after they are freed.
  const size = bytes.length >= 4 ? bytes.readUInt32LE(bytes.length - 4) : 0
  return promisify(gunzip)(bytes, { chunkSize: Math.max(64 * 1024, size) })
}

type Entry = { path: string; kind: 'file' | 'directory'; body: Buffer }

/** Writes the entries of a ustar archive under `root` (created here, 0700). Only files and directories. */
async function unpack(tar: Buffer, root: string): Promise<void> {
  const entries = parseTar(tar)
  await mkdir(root, { mode: 0o700 })
  const made = new Set<string>([root])
  const ensureDir = async (dir: string) => {
    if (made.has(dir)) return
    await mkdir(dir, { recursive: true, mode: 0o700 })
    made.add(dir)
  }
  for (const entry of entries) if (entry.kind === 'directory') await ensureDir(join(root, entry.path))
  const files = entries.filter((e) => e.kind === 'file')
  for (let i = 0; i < files.length; i += parallelWrites) {
    await Promise.all(
      files.slice(i, i + parallelWrites).map(async (file) => {
        const path = join(root, file.path)
        await ensureDir(dirname(path))
        await writeFile(path, file.body, { mode: 0o600, flag: 'wx' })
      }),
    )
  }
}

function parseTar(tar: Buffer): Entry[] {
  const entries: Entry[] = []
  const text = (from: number, to: number) => {
    const field = tar.subarray(from, to)
    const end = field.indexOf(0)
    return (end < 0 ? field : field.subarray(0, end)).toString('utf8')
  }
  let offset = 0
  // An archive ends with a zero block: one that stops before it was cut short, and is refused whole.
  for (;;) {
    if (offset + 512 > tar.length) throw new Error('Store template: the archive is cut short.')
    if (tar[offset] === 0) break
    const name = text(offset, offset + 100)
    const prefix =
      tar.subarray(offset + 257, offset + 262).toString('latin1') === 'ustar'
        ? text(offset + 345, offset + 500)
        : ''
    const sizeField = text(offset + 124, offset + 136).trim()
    const size = sizeField === '' ? 0 : Number.parseInt(sizeField, 8)
    const type = String.fromCharCode(tar[offset + 156] ?? 0)
    const body = offset + 512
    if (!Number.isSafeInteger(size) || size < 0 || body + size > tar.length)
      throw new Error(`Store template: bad size for ${name.slice(0, 100)}.`)
    const path = safePath(prefix ? `${prefix}/${name}` : name)
    if (type === '5') {
      if (path !== '') entries.push({ path, kind: 'directory', body: Buffer.alloc(0) })
    } else if (type === '0' || type === '\0') {
      // A lock of the process that made the template, not part of the database.
      if (path !== 'postmaster.pid')
        entries.push({ path, kind: 'file', body: tar.subarray(body, body + size) })
    } else throw new Error(`Store template: unsupported entry type "${type}" for ${path}.`)
    offset = body + Math.ceil(size / 512) * 512
  }
  return entries
}

/** The archive path as a relative path inside the root; anything that could reach outside it is refused. */
function safePath(name: string): string {
  const parts = name.split('/').filter((part) => part !== '' && part !== '.')
  if (parts.some((part) => part === '..' || part.includes('\\')))
    throw new Error(`Store template: unsafe path ${name.slice(0, 100)}.`)
  return parts.join('/')
}
