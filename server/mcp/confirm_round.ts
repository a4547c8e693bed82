/**
 * The 2026-07-28 confirmation round: how `send_sms`'s `ctx.confirm` (see
 * `money.ts`) reaches the user from a stateless server.
 *
 * The tool's first call ends with an `input_required` result carrying an
 * elicitation and an HMAC-signed, expiring `requestState` bound to the caller
 * and the exact arguments; the client asks the user and retries the call with
 * the answer, on any instance (the signing key is shared, see
 * `principal.ts`). Offered only when the request's envelope declares form
 * elicitation.
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  createRequestStateCodec,
  type ElicitRequestFormParams,
  inputRequired,
  type InputRequiredResult,
  inputResponse,
  type RequestStateCodec,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { deriveKey, memo, randomId, type SecretSource } from "../../core/keys.ts";
import { canonicalSignedState, type ConfirmRequest, type ConfirmResult } from "../../money/mod.ts";

/** The confirmation form (both eras): no fields, the user's action (accept, decline, cancel) is the answer. */
export const CONFIRM_FORM: ElicitRequestFormParams["requestedSchema"] = {
  type: "object",
  properties: {},
};
/** How long the user has to answer a confirmation (both eras; the round's `requestState` lifetime). */
export const CONFIRM_TTL_SECONDS = 600;
/** Key of the confirmation in `inputRequests` / `inputResponses`. */
const CONFIRM_KEY = "confirm";

/** A tool round that ends to ask the client for input (2026-07-28 multi-round-trip). */
export class InputNeeded {
  constructor(readonly result: InputRequiredResult) {}
}

/** The `requestState` payload of a confirmation round. */
interface ConfirmState {
  /** The binding: caller and exact arguments. */
  d: string;
  /** The question's nonce: the receipt an "accept" to it is spent under, once. */
  n: string;
}

/** The round's two ends: the SDK's `requestState` check, and the tool's `ctx.confirm`. */
export interface ConfirmRound {
  /** The `requestState.verify` hook of the server's options. */
  verify(state: string, ctx: ServerContext): Promise<unknown>;
  /** `ctx.confirm` on a request whose client can be asked, or undefined when it cannot. */
  confirmFor(ctx: ServerContext): ((ask: ConfirmRequest) => Promise<ConfirmResult>) | undefined;
}

/** The confirmation round, signing its `requestState` under a key derived from `secret`. */
export function confirmRound(secret: SecretSource): ConfirmRound {
  const stateKey = deriveKey(secret, "request-state");
  const codec = memo(async () =>
    createRequestStateCodec<ConfirmState>({
      key: await stateKey(),
      ttlSeconds: CONFIRM_TTL_SECONDS,
    })
  );
  return {
    // Without `bind` (the binding is the payload's digest), `verify` never reads its context.
    // Only the spelling this server writes is taken (see `canonicalSignedState`).
    verify: async (state, ctx) => {
      if (!canonicalSignedState(state)) throw new Error("requestState is not canonical");
      return await (await codec()).verify(state, ctx);
    },
    confirmFor: (ctx) =>
      declaresFormElicitation(ctx)
        ? async (ask) => answerOf(ctx, ask) ?? await question(ask, await codec())
        : undefined,
  };
}

/** The user's answer a retried call carries, when it answers this very question. */
function answerOf(ctx: ServerContext, ask: ConfirmRequest): ConfirmResult | undefined {
  // Verified by the SDK's requestState hook before the handler ran.
  const state = ctx.mcpReq.requestState<ConfirmState>();
  if (ask.fresh || state?.d !== ask.binding || typeof state.n !== "string") return undefined;
  const answer = inputResponse(ctx.mcpReq.inputResponses, CONFIRM_KEY);
  return answer.kind === "elicit" ? { action: answer.action, receipt: state.n } : undefined;
}

/** End the round with the question: `input_required`, bound to the caller and the arguments. */
async function question(
  ask: ConfirmRequest,
  codec: RequestStateCodec<ConfirmState>,
): Promise<never> {
  throw new InputNeeded(inputRequired({
    inputRequests: {
      [CONFIRM_KEY]: inputRequired.elicit({ message: ask.message, requestedSchema: CONFIRM_FORM }),
    },
    requestState: await codec.mint({ d: ask.binding, n: randomId() }),
  }));
}

/** Whether the request's envelope declares form-mode elicitation (2026-07-28 only). */
function declaresFormElicitation(ctx: ServerContext): boolean {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const caps = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  const elicitation = caps?.elicitation as { form?: unknown; url?: unknown } | undefined;
  // `{}` means form mode (the spec's backward-compatible default); `{ url }` alone does not.
  return elicitation !== undefined &&
    (elicitation.form !== undefined || elicitation.url === undefined);
}
