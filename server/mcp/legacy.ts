/**
 * The 2025-era leg: each POST gets a fresh stateless
 * `WebStandardStreamableHTTPServerTransport` with a JSON response. The SDK's
 * built-in fallback would answer with SSE, committing HTTP 200 before the
 * tool runs; with JSON, the response is only built once the tool is done, so
 * an upstream 401 can still become an HTTP 401.
 *
 * Asking the user in-band (`elicitation/create`) needs a stream to travel on,
 * the client's capabilities from `initialize`, and a way to route the
 * client's reply back to the waiting call. So a client that declares form
 * elicitation at `initialize` gets a self-contained session id
 * (`session.ts`); its later `send_sms` and `send_sms_batch` calls are
 * answered on an SSE stream carrying the question, and its reply, POSTed on
 * its own to any instance, reaches the waiting call through {@link Answers}.
 * Every other 2025-era client is never asked; `SMS_REQUIRE_CONFIRMATION`
 * covers them with dry-run confirmation tokens instead.
 */
import {
  type AuthInfo,
  type Server,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import type { ConfirmAnswer } from "../../money/mod.ts";
import type { Answers, ElicitReply } from "../answers.ts";
import { REVIEWED_TOOLS } from "../review_card.ts";
import { declaresForm, type Session, type SessionCodec } from "../session.ts";
import { CONFIRM_FORM, CONFIRM_TTL_SECONDS } from "./confirm_round.ts";
import { type Exchange, exchangeOf } from "./exchange.ts";
import { firstEventDecides } from "./first_event.ts";

/** What the 2025-era leg needs besides the per-request server. */
export interface LegacyOptions {
  /** The per-request `Server`, with the handlers the request's messages name. */
  factory: (context: { authInfo?: AuthInfo }) => Promise<Server>;
  /** Self-contained session ids for 2025-era clients that can be asked. */
  sessions: SessionCodec;
  /** Hand-over of 2025-era answers between instances. */
  answers: Answers;
  maxBodyBytes: number;
}

/** Serve one 2025-era POST. */
export type LegacyLeg = (request: Request, body: unknown, authInfo: AuthInfo) => Promise<Response>;

/** The 2025-era leg of the endpoint. */
export function legacyLeg(options: LegacyOptions): LegacyLeg {
  return async (request, body, authInfo) => {
    const exchange = exchangeOf(authInfo);
    const server = await options.factory({ authInfo });
    // A client that declares form elicitation gets a self-contained session id at initialize:
    // only then can a later call ask it something.
    const init = initializeParams(body);
    const minted = init && declaresForm(init.capabilities?.elicitation)
      ? await options.sessions.mint(init)
      : undefined;
    const session = exchange.session;
    const streamed = session !== undefined && declaresForm(session.claims.el) &&
      isToolCall(body, REVIEWED_TOOLS);
    const transport = new WebStandardStreamableHTTPServerTransport({
      // Only on initialize: the transport puts `Mcp-Session-Id` on its answer. On later requests
      // there is no generator, so it ignores the header (verified at the HTTP layer).
      sessionIdGenerator: minted === undefined ? undefined : () => minted,
      enableJsonResponse: !streamed,
      maxRequestBodySize: options.maxBodyBytes,
    });
    const hangUp = new AbortController();
    if (streamed) exchange.ask = inBandAsk(exchange, session, transport, options.answers, hangUp);
    await server.connect(transport);
    // No close(): with JSON responses the exchange is over once the response exists, and
    // nothing of this pair outlives it. Closing would only build a "Connection closed"
    // error (with its stack trace) per request for handlers that are already done.
    const response = await transport.handleRequest(request, { authInfo, parsedBody: body });
    return streamed ? await firstEventDecides(response, hangUp) : response;
  };
}

/**
 * `exchange.ask` of a streamed call: send `elicitation/create` on the call's
 * stream and wait for the reply another POST hands over (until the user's
 * time is up, or the client hangs up).
 */
function inBandAsk(
  exchange: Exchange,
  session: Session,
  transport: WebStandardStreamableHTTPServerTransport,
  answers: Answers,
  hangUp: AbortController,
): NonNullable<Exchange["ask"]> {
  return async (question, callId) => {
    const asked = await answers.open({
      session: session.id,
      principal: await exchange.principal(),
      call: String(callId),
    });
    try {
      // Our own id (unique across instances), on this call's stream (relatedRequestId).
      await transport.send({
        jsonrpc: "2.0",
        id: asked.id,
        method: "elicitation/create",
        params: { mode: "form", message: question.message, requestedSchema: CONFIRM_FORM },
      }, { relatedRequestId: callId });
      const reply = await asked.wait(CONFIRM_TTL_SECONDS * 1000, hangUp.signal);
      // The question's id is the answer's receipt: an answer counts for one send.
      return { action: actionOf(reply), receipt: asked.id };
    } finally {
      await asked.close();
    }
  };
}

/** `initialize` params of a single 2025-era initialize request. */
function initializeParams(body: unknown) {
  const b = body as { method?: unknown; params?: Record<string, unknown> } | null;
  if (b === null || typeof b !== "object" || Array.isArray(b) || b.method !== "initialize") {
    return undefined;
  }
  const params = b.params ?? {};
  return {
    protocolVersion: params.protocolVersion,
    clientInfo: params.clientInfo,
    capabilities: params.capabilities as { elicitation?: unknown } | undefined,
  };
}

/** Whether the body is a single `tools/call` of one of `names`. */
function isToolCall(body: unknown, names: ReadonlySet<string>): boolean {
  const b = body as { method?: unknown; params?: { name?: unknown } } | null;
  return b !== null && typeof b === "object" && !Array.isArray(b) && b.method === "tools/call" &&
    names.has(String(b.params?.name));
}

/** The user's action in an `elicitation/create` reply; anything else counts as cancel. */
function actionOf(reply: ElicitReply | null): ConfirmAnswer {
  if (!reply || !("result" in reply)) return "cancel";
  const action = reply.result?.action;
  return action === "accept" || action === "decline" ? action : "cancel";
}
