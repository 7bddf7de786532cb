import type { ToolDefinition } from './defineTool.js'
import { estimateFees } from './estimateFees.js'
import { getAllowance } from './getAllowance.js'
import { getBalance } from './getBalance.js'
import { getBlock } from './getBlock.js'
import { getNft } from './getNft.js'
import { getPortfolio } from './getPortfolio.js'
import { getPrice } from './getPrice.js'
import { getTokenBalances } from './getTokenBalances.js'
import { getTokenInfo } from './getTokenInfo.js'
import { getTransaction } from './getTransaction.js'
import { listChains } from './listChains.js'
import { lookupEns } from './lookupEns.js'
import { multicall } from './multicall.js'
import { quoteSwap } from './quoteSwap.js'
import { readContract } from './readContract.js'
import { resolveEns } from './resolveEns.js'

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
