/** The Hono environment every middleware of this server shares. */
import type { RequestFacts } from "../../core/telemetry.ts";
import type { Principal } from "../../money/mod.ts";
import type { Session } from "../session.ts";
import type { Toolset } from "../toolsets.ts";

/** A parsed JSON-RPC body, peeked at for routing, auth challenges and logs. */
export interface RpcBody {
  /** The parsed JSON body. */
  body: unknown;
  /** JSON-RPC method of a single request (not of a batch). */
  method?: string;
  /** Tool name of a single `tools/call`. */
  tool?: string;
  /** The path of a `__proto__` key in a single `tools/call`'s arguments. */
  poisoned?: string;
}

/** Variables set by the middlewares, in the order they run. */
export interface AppVariables {
  /** From Hono's request-id middleware. */
  requestId: string;
  /** Filled in along the way; written as the request's log line. */
  record: RequestFacts;
  /** The bearer token, when the request carried a well-formed one. */
  token: string | undefined;
  /** The token's keyed hash, computed on first use. */
  principal: Principal;
  /** The verified `Mcp-Session-Id` of a 2025-era request. */
  session?: Session;
  /** What VertexSMS said of the token during the request (set by the MCP route). */
  tokenVerdict?: "accepted" | "rejected";
  /** Told VertexSMS's verdict on the token as soon as the MCP route hears it (set by the auth step). */
  onTokenVerdict?: (verdict: "accepted" | "rejected") => void;
  /** The parsed body of a POST to `/mcp`. */
  rpc: RpcBody;
  /** The tools the requested MCP URL (and its `X-MCP-Tools` header) serves. */
  toolset: Toolset;
  /** Names in `X-MCP-Tools` that are no tool: answered 400 once authenticated. */
  unknownTools: string[] | undefined;
}

/** Hono environment of this server: `Deno.serve`'s handler info as bindings. */
export interface AppEnv {
  Variables: AppVariables;
  Bindings: { remoteAddr?: Deno.NetAddr };
}
