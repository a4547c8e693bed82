/** One structured log line per request, written after the response is ready. */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "../../core/log.ts";
import { annotateRequestSpan } from "../../core/telemetry.ts";
import { capabilityOf, loggablePath, rawPathOf } from "../capabilities.ts";
import type { AppEnv } from "./types.ts";

/**
 * The path to log: a capability route's name (`/callbacks/hlr/:id`) for any
 * path under it, however spelled and whether or not it matched a route (see
 * `capabilities.ts`); another route with parameters as its pattern; any
 * other path as it came, truncated, with capability-long runs cut.
 */
export function loggedPath(c: Context<AppEnv>): string {
  const path = rawPathOf(c.req.url);
  const capability = capabilityOf(path);
  if (capability) return capability.route;
  const pattern = routePath(c, -1);
  return pattern.includes(":") ? pattern : loggablePath(path);
}

/**
 * Log method, path, JSON-RPC method, tool, status, error code, upstream
 * status (or why VertexSMS gave no answer: `upstream_error`) and duration. Never a header value, a body, a query string or a
 * path parameter.
 * The same MCP facts go on the request's OpenTelemetry span, when tracing.
 */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const record = {};
    c.set("record", record);
    await next();
    const r = c.get("record");
    const status = c.res.status;
    annotateRequestSpan(r);
    logger.log(status >= 500 ? "error" : "info", "request", {
      request_id: c.get("requestId"),
      method: c.req.method,
      path: loggedPath(c),
      rpc_method: r.rpcMethod,
      tool: r.tool,
      status,
      error_code: r.errorCode,
      upstream_status: r.upstreamStatus,
      upstream_error: r.upstreamError,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
