/**
 * JSON-RPC batches: the 2025-06-18 revision removed them, so a batch sent
 * under that revision or a later one (its `MCP-Protocol-Version` header) is
 * refused; under 2025-03-26 and older, which allow them, a batch is bounded.
 * (Its calls then run one at a time, and stop reaching VertexSMS at the first
 * rejected token: see `server/mcp/dispatch.ts`.)
 */
import type { MiddlewareHandler } from "hono";
import { rpcError } from "./rpc_body.ts";
import type { AppEnv } from "./types.ts";

/** The first protocol revision without JSON-RPC batching. */
const NO_BATCHES_SINCE = "2025-06-18";

/** Refuse (400) batches where the protocol forbids them, and batches over `maxBatch`. */
export function batchPolicy(maxBatch: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const body = c.get("rpc").body;
    if (Array.isArray(body)) {
      // Revisions are dates: a plain string comparison orders them.
      const version = c.req.header("mcp-protocol-version")?.trim();
      if (version !== undefined && version >= NO_BATCHES_SINCE) {
        return rpcError(
          c,
          400,
          -32600,
          `Invalid Request: JSON-RPC batches are not part of MCP ${
            version.slice(0, 16)
          }; send one message per request.`,
        );
      }
      if (body.length > maxBatch) {
        return rpcError(
          c,
          400,
          -32600,
          `Invalid Request: a batch may carry at most ${maxBatch} messages (got ${body.length}).`,
        );
      }
    }
    await next();
  };
}
