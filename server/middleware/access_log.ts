/** One structured log line per request, written after the response is ready. */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../log.ts";
import { annotateRequestSpan } from "../telemetry.ts";
import type { AppEnv } from "./types.ts";

/**
 * Log method, path, JSON-RPC method, tool, status, error code, upstream
 * status and duration. Never a header value, a body or a query string.
 * The same MCP facts go on the request's OpenTelemetry span, when tracing.
 */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const record = {};
    c.set("record", record);
    await next();
    const r = c.var.record;
    const status = c.res.status;
    annotateRequestSpan(r);
    logger.log(status >= 500 ? "error" : "info", "request", {
      request_id: c.var.requestId,
      method: c.req.method,
      path: c.req.path.slice(0, 200),
      rpc_method: r.rpcMethod,
      tool: r.tool,
      status,
      error_code: r.errorCode,
      upstream_status: r.upstreamStatus,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
    });
  };
}
