// vitest globalSetup: one devnet per test worker, so chain tests never share a node with a concurrent file.
// Test files get their worker's fixtures through `useDevnet()` (test/devnet.ts).
import { availableParallelism } from 'node:os'
import type { TestProject } from 'vitest/node'
import { type Devnet, startDevnet } from '../src/devnet/startDevnet.js'

/** How many workers vitest will run for this project; mirrors vitest 4's own resolution. */
function workerCount(project: TestProject): number {
  const configured = project.config.maxWorkers || project.vitest.config.maxWorkers
  if (configured && configured > 0) return configured
  const cpus = availableParallelism()
  return project.vitest.config.watch ? Math.max(Math.floor(cpus / 2), 1) : Math.max(cpus - 1, 1)
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const count = workerCount(project)
  const devnets: Devnet[] = []
  try {
    // Started one after another: each takes ~0.1 s, and parallel starts only contend for the same cores.
    for (let i = 0; i < count; i++) devnets.push(await startDevnet())
  } catch (error) {
    await Promise.all(devnets.map((d) => d.stop()))
    throw error
  }
  // ProvidedContext['devnets'] is declared in test/devnet.ts.
  project.provide(
    'devnets',
    devnets.map((d) => d.fixtures),
  )
  return async () => {
    await Promise.all(devnets.map((d) => d.stop()))
  }
}
