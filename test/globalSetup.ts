// vitest globalSetup: one devnet per test worker, so chain tests never share a node with a concurrent file.
// Test files get their worker's fixtures through `useDevnet()` (test/devnet.ts).
// And one migrated embedded store, which test stores and gateway data directories start from (see
// openMemoryStore in src/store/useTestStore.ts): creating a PGlite database takes seconds of CPU, copying one not.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { TestProject } from 'vitest/node'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'
import { makePrivate } from '../src/store/makePrivate.js'
import { openStore } from '../src/store/openStore.js'

/** How many workers vitest will run for this project; mirrors vitest 4's own resolution. */
function workerCount(project: TestProject): number {
  const configured = project.config.maxWorkers || project.vitest.config.maxWorkers
  if (configured && configured > 0) return configured
  const cpus = availableParallelism()
  return project.vitest.config.watch ? Math.max(Math.floor(cpus / 2), 1) : Math.max(cpus - 1, 1)
}

/** A migrated store on disk (`<dataDir>/db`) and its PGlite dump (`dump`), in a directory of its own. */
async function makeStoreTemplate(): Promise<{ dataDir: string; dump: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'airlock-store-template-'))
  try {
    await (await openStore({ dataDir })).close()
    const pglite = await PGlite.create({ dataDir: join(dataDir, 'db') })
    const blob = await pglite.dumpDataDir('gzip')
    await pglite.close()
    await makePrivate(dataDir) // as a gateway leaves it: copies of it must look like the real thing
    const dump = join(dataDir, 'memory.tar.gz')
    await writeFile(dump, Buffer.from(await blob.arrayBuffer()), { mode: 0o600 })
    return { dataDir, dump }
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true })
    throw error
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const count = workerCount(project)
  const devnets: Devnet[] = []
  let template: Awaited<ReturnType<typeof makeStoreTemplate>> | undefined
  try {
    // Started one after another: each takes ~0.1 s, and parallel starts only contend for the same cores.
    for (let i = 0; i < count; i++) devnets.push(await startDevnet())
    template = await makeStoreTemplate()
  } catch (error) {
    await Promise.all(devnets.map((d) => d.stop()))
    throw error
  }
  project.provide('storeTemplate', template)
  // ProvidedContext['devnets'] is declared in test/devnet.ts.
  project.provide(
    'devnets',
    devnets.map((d) => d.fixtures),
  )
  return async () => {
    await Promise.all(devnets.map((d) => d.stop()))
    await rm(template.dataDir, { recursive: true, force: true })
  }
}
