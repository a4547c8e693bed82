/**
 * DNS-rebinding protection: a browser `Origin` must be on the allow-list, and
 * when bound to loopback the `Host` must be a loopback name. Requests without
 * an `Origin` (server-to-server clients) pass.
 */
import { validateHostHeader } from "@modelcontextprotocol/server";
import type { MiddlewareHandler } from "hono";
import { rpcError } from "./rpc_body.ts";
import type { AppEnv } from "./types.ts";

/** Allow-lists for {@link originCheck}. */
export interface OriginPolicy {
  /** Exact origins (`scheme://host[:port]`). */
  origins: ReadonlySet<string>;
  /** Host names (no port) the `Host` header may name; `undefined` skips the check. */
  hosts?: string[];
}

/** Refuse (403) requests from origins or hosts outside the policy. */
export function originCheck(policy: OriginPolicy): MiddlewareHandler<AppEnv> {
  // Host values already found valid (a handful in practice), to skip re-parsing them.
  const goodHosts = new Set<string>();
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined) {
      let normalized: string | undefined;
      try {
        normalized = new URL(origin).origin;
      } catch {
        normalized = undefined;
      }
      if (normalized === undefined || normalized === "null" || !policy.origins.has(normalized)) {
        return rpcError(c, 403, -32000, "Forbidden: Origin not allowed");
      }
    }
    const hostHeader = c.req.header("host");
    if (policy.hosts && !(hostHeader !== undefined && goodHosts.has(hostHeader))) {
      const host = validateHostHeader(hostHeader, policy.hosts);
      if (!host.ok) return rpcError(c, 403, -32000, `Forbidden: ${host.message}`);
      if (goodHosts.size < 64) goodHosts.add(hostHeader as string);
    }
    await next();
  };
}
