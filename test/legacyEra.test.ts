// The read and write tool suites again, through a 2025-era client (SDK v1, `initialize`, an in-memory connection):
// everything they prove on 2026-07-28 must hold on the previous revision too. `connectInMemory` reads the era.
import { legacyRevision } from './mcp.js'

process.env.AIRLOCK_TEST_ERA = legacyRevision
await import('./readTools.test.js')
await import('./writeTools.test.js')
