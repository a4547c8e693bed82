/** One structured log line per request, written after the response is ready. */
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Logger } from "../../core/log.ts";
import { annotateRequestSpan } from "../../core/telemetry.ts";
import type { AppEnv } from "./types.ts";

/**
 * The path to log: a route with parameters is logged as its pattern
 * (`/callbacks/hlr/:id`), because a parameter can be a credential (the HLR
 * callback's one-time id); a delivery-report path as its route whatever it
 * matched (another method, another spelling, nothing: its capability lives
 * for days); other paths as they came, truncated.
 */
export function loggedPath(c: Context<AppEnv>): string {
  const pattern = routePath(c, -1);
  if (pattern.includes(":")) return pattern;
  return reportPath(c.req.path) ? "/callbacks/dlr/:capability" : c.req.path.slice(0, 200);
}

/** Whether a path, however spelled (case, slashes, percent-encoding), is a delivery-report URL. */
function reportPath(path: string): boolean {
  let decoded = path;
  for (let i = 0; i < 3 && decoded.includes("%"); i++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      break; // not valid percent-encoding: judged as it is
    }
  }
  return /callbacks\/+dlr/i.test(decoded);
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
