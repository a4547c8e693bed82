/**
 * What the HTTP layer hands the MCP endpoint for one `/mcp` POST (the
 * {@link Exchange}), and how it travels through the SDK to the handlers: as
 * the request's `AuthInfo.extra`, next to the methods the body names.
 */
import type { AuthInfo } from "@modelcontextprotocol/server";
import type { ServiceError } from "../../core/errors.ts";
import type { Scope } from "../../core/scopes.ts";
import type { RequestFacts } from "../../core/telemetry.ts";
import type { ConfirmRequest, ConfirmResult } from "../../money/mod.ts";
import type { Session } from "../session.ts";

/** What the HTTP layer records about one request for its log line (and its span). */
export type RequestRecord = RequestFacts;

/** One `/mcp` exchange, as the HTTP layer hands it over. */
export interface Exchange {
  token: string;
  /** The token's keyed hash (computed once per request, on first use). */
  principal: () => Promise<string>;
  requestId: string;
  record: RequestRecord;
  /** The `Idempotency-Key` request header, as sent. */
  idempotencyKey?: string;
  /** Set by a tool call whose failure must be answered at HTTP level. */
  httpFailure?: { error: ServiceError; scope: Scope };
  /** What VertexSMS said of the token: it answered a call (accepted) or 401 (rejected). */
  tokenVerdict?: "accepted" | "rejected";
  /** Told each change of `tokenVerdict` as it happens (the per-address admission gives back its place). */
  onTokenVerdict?: (verdict: "accepted" | "rejected") => void;
  /** The tool calls of this request, in order (a JSON-RPC batch runs one at a time). */
  queue?: Promise<unknown>;
  /**
   * The path of a `__proto__` key the call's arguments carried, found in the
   * raw body (the SDK's message parsing drops such keys before a handler
   * sees them, and a dropped field must not change what a call does).
   */
  poisoned?: string;
  /**
   * The tools this request may list and call (its URL's toolset); all when
   * absent. Any other name is refused as an unknown tool, before any upstream call.
   */
  toolset?: { names: ReadonlySet<string>; narrowed: boolean };
  /** The verified `Mcp-Session-Id` of a 2025-era request (see `session.ts`). */
  session?: Session;
  /**
   * Set on a 2025-era call that streams: ask the client in-band
   * (`elicitation/create` on this call's SSE stream) and wait for its answer.
   */
  ask?: (request: ConfirmRequest, callId: string | number) => Promise<ConfirmResult>;
}

/** The `AuthInfo` of one exchange: the bearer token, the exchange and the methods its body names. */
export function authInfoOf(exchange: Exchange, body: unknown): AuthInfo {
  return {
    token: exchange.token,
    clientId: "bearer-pass-through",
    scopes: [],
    extra: { exchange, methods: methodsOf(body) },
  };
}

/** The exchange a request's `AuthInfo` carries (see {@link authInfoOf}). */
export function exchangeOf(authInfo: AuthInfo | undefined): Exchange {
  const exchange = authInfo?.extra?.exchange as Exchange | undefined;
  if (!exchange) throw new Error("MCP request without an exchange");
  return exchange;
}

/**
 * Whether a request's server needs the handler of `method`: only the methods
 * its messages name get one (the instance serves this request alone).
 */
export function namesMethod(authInfo: AuthInfo | undefined, method: string): boolean {
  const methods = authInfo?.extra?.methods as ReadonlySet<string> | undefined;
  return methods === undefined || methods.has(method);
}

/** The request methods a body names (one message, or each of a batch). */
function methodsOf(body: unknown): ReadonlySet<string> {
  const methods = new Set<string>();
  for (const message of Array.isArray(body) ? body : [body]) {
    const method = (message as { method?: unknown } | null)?.method;
    if (typeof method === "string") methods.add(method);
  }
  return methods;
}
