import { z } from 'zod'
import { InvalidInputError } from '../errors/index.js'
import { ChainRef } from '../schemas/chainRef.js'
import { jsonSizeProblem } from '../schemas/jsonSize.js'
import { eip712DomainType, sameFields, type TypedDataToSign } from '../signer/signer.js'
import { defineTool } from './defineTool.js'
import { requireCapability } from './shared/requireCapability.js'
import { WriteOptions, WriteResult } from './shared/write.js'

const TypedData = z
  .object({
    domain: z
      .object({
        name: z.string().max(256).optional(),
        version: z.string().max(64).optional(),
        chainId: z.union([z.number().int().positive(), z.string().regex(/^\d{1,20}$/)]),
        verifyingContract: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed address'),
        salt: z
          .string()
          .regex(/^0x[0-9a-fA-F]{64}$/)
          .optional(),
      })
      .strict(),
    types: z
      .record(
        z.string().max(128),
        z.array(z.object({ name: z.string().max(128), type: z.string().max(256) }).strict()).max(64),
      )
      .refine((types) => Object.keys(types).length <= 64, 'at most 64 types'),
    primaryType: z.string().min(1).max(128),
    message: z.record(z.string(), z.unknown()).superRefine((message, ctx) => {
      const problem = jsonSizeProblem(message, { maxValues: 20_000, maxChars: 256 * 1024, maxDepth: 16 })
      if (problem) ctx.addIssue({ code: 'custom', message: `the message is too large: ${problem}` })
    }),
  })
  .strict()

export const SignTypedDataInput = z
  .object({ chain: ChainRef, typedData: TypedData, idempotencyKey: WriteOptions.idempotencyKey })
  .strict()

/**
 * Signs EIP-712 typed data with the gateway wallet. The domain must name this chain and a verifying contract;
 * raw hashes and personal messages are never signed.
 * @example await client.callTool({ name: 'sign_typed_data', arguments: { chain: 'devnet', typedData } })
 */
export const signTypedData = defineTool({
  name: 'sign_typed_data',
  title: 'Sign typed data',
  description:
    "Signs EIP-712 typed data. The domain needs this chain's id and a verifyingContract; omit EIP712Domain. Permits only over the wallet's own funds.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  input: SignTypedDataInput,
  output: WriteResult.extend({ signature: z.string().optional() }),
  async run({ chain, typedData, idempotencyKey }, ctx, request) {
    const domain = { ...typedData.domain, chainId: Number(typedData.domain.chainId) }
    // The domain type is the gateway's, built from the domain it checks (ADVERSARIAL 53): one brought along is
    // dropped when it is that same list, and refused otherwise (it could leave the chain or the contract out of
    // what is signed).
    const { EIP712Domain: brought, ...types } = typedData.types
    if (brought !== undefined) {
      const expected = eip712DomainType(domain as TypedDataToSign['domain'])
      if (!sameFields(brought, expected))
        throw new InvalidInputError(
          `typedData.types.EIP712Domain differs from the domain given (it must list ${expected.map((f) => f.name).join(', ')}, in that order): the signature would not be bound to the domain the gateway checks.`,
          {
            field: 'typedData.types.EIP712Domain',
            metaMessages: [
              'Leave EIP712Domain out of types: the gateway builds it from typedData.domain. Nothing was signed.',
            ],
          },
        )
    }
    return requireCapability(ctx.typedData).sign(
      chain,
      { ...typedData, domain, types } as TypedDataToSign,
      { idempotencyKey },
      request,
    )
  },
})
