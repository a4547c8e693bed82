/**
 * OpenTelemetry through Deno's built-in integration (`OTEL_DENO=true`).
 *
 * Deno itself makes a span for every incoming request (`Deno.serve`) and
 * every outgoing `fetch`, and exports them over OTLP. This module adds only
 * what the server alone knows, as attributes:
 *
 * - on the request span: `mcp.method.name`, `gen_ai.tool.name`, `error.type`
 *   (the catalog code) and `vertexsms.upstream.status_code`;
 * - a client span per VertexSMS call (`VertexSMS GET /rates`, parent of
 *   Deno's `fetch` span): `vertexsms.route`, `http.response.status_code`,
 *   `vertexsms.attempts` and `error.type`.
 *
 * Never a token, a header value, message text or a phone number. With
 * OpenTelemetry off there is no active span: each function returns at once.
 */
import { type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { ServiceError } from "./errors.ts";
import type { RequestRecord } from "./mcp.ts";
import type { Credentials } from "./vertex.ts";
import { SERVER_NAME, VERSION } from "./version.ts";

const tracer = trace.getTracer(SERVER_NAME, VERSION);

/** Put what the request's log line says about MCP on the request's span. */
export function annotateRequestSpan(record: RequestRecord): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  if (record.rpcMethod !== undefined) span.setAttribute("mcp.method.name", record.rpcMethod);
  if (record.tool !== undefined) span.setAttribute("gen_ai.tool.name", record.tool);
  if (record.errorCode !== undefined) span.setAttribute("error.type", record.errorCode);
  if (record.upstreamStatus !== undefined) {
    span.setAttribute("vertexsms.upstream.status_code", record.upstreamStatus);
  }
}

/**
 * Run one upstream call (all its attempts) inside a client span named after
 * its route, when a trace is active; otherwise just run it.
 */
export function traceUpstream<T>(
  route: string,
  creds: Credentials,
  call: (creds: Credentials) => Promise<T>,
): Promise<T> {
  if (!trace.getActiveSpan()) return call(creds);
  return tracer.startActiveSpan(
    `VertexSMS ${route}`,
    { kind: SpanKind.CLIENT, attributes: { "vertexsms.route": route } },
    async (span: Span) => {
      const observed: Credentials = {
        ...creds,
        observe: (event) => {
          if (event.status !== null) span.setAttribute("http.response.status_code", event.status);
          span.setAttribute("vertexsms.attempts", event.attempt);
          creds.observe?.(event);
        },
      };
      try {
        return await call(observed);
      } catch (error) {
        span.setAttribute("error.type", error instanceof ServiceError ? error.code : "unknown");
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
