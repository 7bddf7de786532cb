import { approve } from './approve.js'
import { cancelIntent } from './cancelIntent.js'
import { cancelStandingOrder } from './cancelStandingOrder.js'
import { createStandingOrder } from './createStandingOrder.js'
import type { ToolDefinition } from './defineTool.js'
import { estimateFees } from './estimateFees.js'
import { fetchWithPayment } from './fetchWithPayment.js'
import { getAllowance } from './getAllowance.js'
import { getBalance } from './getBalance.js'
import { getBlock } from './getBlock.js'
import { getIntent } from './getIntent.js'
import { getLimits } from './getLimits.js'
import { getNft } from './getNft.js'
import { getPortfolio } from './getPortfolio.js'
import { getPrice } from './getPrice.js'
import { getStandingOrder } from './getStandingOrder.js'
import { getTokenBalances } from './getTokenBalances.js'
import { getTokenInfo } from './getTokenInfo.js'
import { getTransaction } from './getTransaction.js'
import { listChains } from './listChains.js'
import { listIntents } from './listIntents.js'
import { listStandingOrders } from './listStandingOrders.js'
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
import { selectTools } from './toolsets.js'
import { transfer } from './transfer.js'
import { whoami } from './whoami.js'
import { writeContract } from './writeContract.js'

/** Every tool, in `tools/list` order; `toolsets.ts` says which toolset serves each. */
export const allTools = [
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
  fetchWithPayment,
  createStandingOrder,
  listStandingOrders,
  getStandingOrder,
  cancelStandingOrder,
  whoami,
] as unknown as readonly (ToolDefinition | WriteToolDefinition)[]

/** The `read` toolset: chain reads, no wallet needed. */
export const readTools = selectTools(allTools, ['read'])

/** The `write` toolset: write tools (they build intents; the pipeline signs), intent tools, simulate, get_limits. */
export const writeTools = selectTools(allTools, ['write'])
