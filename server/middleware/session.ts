/**
 * 2025-era sessions at the HTTP layer: a request carrying `Mcp-Session-Id`
 * must carry one this server minted and that has not expired (else 404, so
 * the client re-initializes); a body made only of JSON-RPC responses (a
 * client answering `elicitation/create`) is handed to the call waiting for it,
 * on whichever instance, and answered 202; a `notifications/cancelled` for a
 * call ends that call's question. Requests without the header stay stateless.
 * Runs after authentication: a token-less request is a 401 first.
 */
import type { MiddlewareHandler } from "hono";
import type { Answers, ElicitReply } from "../answers.ts";
import type { SessionCodec } from "../session.ts";
import { rpcError } from "./rpc_body.ts";
import type { AppEnv } from "./types.ts";

/** A JSON-RPC response message (a result or an error for an id). */
function isResponse(m: unknown): m is { id: string | number } & ElicitReply {
  if (m === null || typeof m !== "object" || Array.isArray(m)) return false;
  const r = m as Record<string, unknown>;
  return r.method === undefined && (typeof r.id === "string" || typeof r.id === "number") &&
    ("result" in r || "error" in r);
}

/** The call a `notifications/cancelled` names, if `m` is one. */
function cancelledCall(m: unknown): string | undefined {
  const r = m as { method?: unknown; params?: { requestId?: unknown } } | null;
  if (r === null || typeof r !== "object" || r.method !== "notifications/cancelled") {
    return undefined;
  }
  const id = r.params?.requestId;
  return typeof id === "string" || typeof id === "number" ? String(id) : undefined;
}

/** Verify session ids, route answers and cancellations (see the module comment). */
export function sessions(codec: SessionCodec, answers: Answers): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = c.req.header("mcp-session-id");
    // 2026-07-28 has no sessions: its requests never carry one that means anything.
    if (id === undefined || c.req.header("mcp-protocol-version") === "2026-07-28") {
      return await next();
    }
    const session = await codec.verify(id);
    if (!session) return rpcError(c, 404, -32001, "Session not found");
    c.set("session", session);
    const body = c.get("rpc").body;
    const messages = Array.isArray(body) ? body : [body];
    const from = { session: session.id, principal: await c.get("principal")() };
    if (messages.length > 0 && messages.every(isResponse)) {
      for (const reply of messages) {
        const { id: answered, ...rest } = reply;
        await answers.deliver(from, String(answered), rest as ElicitReply);
      }
      return c.body(null, 202);
    }
    for (const m of messages) {
      const call = cancelledCall(m);
      if (call !== undefined) await answers.cancel(from, call);
    }
    await next();
  };
}
