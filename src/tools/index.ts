import { approve } from './approve.js'
import { cancelIntent } from './cancelIntent.js'
import type { ToolDefinition } from './defineTool.js'
import { estimateFees } from './estimateFees.js'
import { getAllowance } from './getAllowance.js'
import { getBalance } from './getBalance.js'
import { getBlock } from './getBlock.js'
import { getIntent } from './getIntent.js'
import { getLimits } from './getLimits.js'
import { getNft } from './getNft.js'
import { getPortfolio } from './getPortfolio.js'
import { getPrice } from './getPrice.js'
import { getTokenBalances } from './getTokenBalances.js'
import { getTokenInfo } from './getTokenInfo.js'
import { getTransaction } from './getTransaction.js'
import { listChains } from './listChains.js'
import { listIntents } from './listIntents.js'
import { lookupEns } from './lookupEns.js'
import { multicall } from './multicall.js'
import { quoteSwap } from './quoteSwap.js'
import { readContract } from './readContract.js'
import { resolveEns } from './resolveEns.js'
import type { WriteToolDefinition } from './shared/write.js'
import { signTypedData } from './signTypedData.js'
import { simulate } from './simulate.js'
import { speedUpIntent } from './speedUpIntent.js'
import { swap } from './swap.js'
import { transfer } from './transfer.js'
import { writeContract } from './writeContract.js'

/** Every read tool, in the order `tools/list` shows them. */
export const readTools = [
  listChains,
  getBalance,
  getTokenBalances,
  getPortfolio,
  getTokenInfo,
  getAllowance,
  readContract,
  multicall,
  getNft,
  resolveEns,
  lookupEns,
  getTransaction,
  getBlock,
  estimateFees,
  quoteSwap,
  getPrice,
] as unknown as readonly ToolDefinition[]

/** Write tools (they build intents; the pipeline signs) and the intent tools. */
export const writeTools = [
  transfer,
  approve,
  writeContract,
  swap,
  signTypedData,
  simulate,
  getLimits,
  getIntent,
  listIntents,
  cancelIntent,
  speedUpIntent,
] as unknown as readonly (ToolDefinition | WriteToolDefinition)[]

/** Every tool, in `tools/list` order. */
export const allTools: readonly (ToolDefinition | WriteToolDefinition)[] = [...readTools, ...writeTools]
