import { z } from 'zod'
import { defineTool } from './defineTool.js'
import { GuardModeOutput } from './getLimits.js'

export const ListChainsInput = z
  .object({
    testnets: z.boolean().optional().describe('Default true'),
    configuredOnly: z.boolean().optional().describe('Only configured chains'),
  })
  .strict()

export const ListChainsOutput = z.object({
  chains: z.array(
    z.object({
      chain: z.string(),
      caip2: z.string(),
      chainId: z.number(),
      family: z.enum(['evm', 'solana']),
      displayName: z.string(),
      nativeSymbol: z.string(),
      nativeAssetId: z.string().describe('CAIP-19'),
      testnet: z.boolean(),
      endpointSource: z.enum(['config', 'env', 'devnet', 'public-default', 'none']),
      endpoints: z.number().describe('Configured endpoints'),
      guard: GuardModeOutput.optional().describe(
        'Configured EVM chains, with a wallet: whether writes run through the on-chain guard',
      ),
    }),
  ),
})

/**
 * Lists the chains this gateway serves, with where their endpoints come from.
 * @example await client.callTool({ name: 'list_chains', arguments: { testnets: false } })
 */
export const listChains = defineTool({
  name: 'list_chains',
  title: 'List chains',
  description: "Chains served; a name, id or CAIP-2 is any tool's `chain`.",
  annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true },
  input: ListChainsInput,
  output: ListChainsOutput,
  async run({ testnets = true, configuredOnly = false }, { chains, budgets }) {
    const listed = chains
      .listAll()
      .filter(
        (c) =>
          (testnets || !c.testnet) && (!configuredOnly || ['config', 'env', 'devnet'].includes(c.source)),
      )
    // The guard's mode is read from the chain: only for chains the operator configured, never the public defaults.
    const modes = await Promise.all(
      listed.map((c) =>
        budgets && c.family === 'evm' && ['config', 'env', 'devnet'].includes(c.source)
          ? budgets.guardMode(c.name).catch(() => undefined)
          : undefined,
      ),
    )
    return {
      chains: listed.map((c, i) => ({
        chain: c.name,
        caip2: c.caip2,
        chainId: c.id,
        family: c.family,
        displayName: c.family === 'evm' ? c.chain.name : solanaDisplayName(c.name),
        nativeSymbol: c.native.symbol,
        nativeAssetId: c.native.assetId,
        testnet: c.testnet,
        endpointSource: c.source,
        endpoints: c.endpoints().length,
        ...(modes[i] ? { guard: modes[i] } : {}),
      })),
    }
  },
})

/** How a Solana cluster is called in words. */
function solanaDisplayName(name: string): string {
  return (
    {
      solana: 'Solana',
      'solana-devnet': 'Solana Devnet',
      'solana-testnet': 'Solana Testnet',
      'solana-local': 'Solana (embedded devnet)',
    }[name] ?? name
  )
}
