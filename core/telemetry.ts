/**
 * OpenTelemetry through Deno's built-in integration (`OTEL_DENO=true`).
 *
 * Deno itself makes a span for every incoming request (`Deno.serve`) and
 * every outgoing `fetch`, and exports them over OTLP. The server adds only
 * what it alone knows, as attributes:
 *
 * - on the request span: `mcp.method.name`, `gen_ai.tool.name`, `error.type`
 *   (the catalog code), `vertexsms.upstream.status_code` and, when VertexSMS
 *   gave no answer, `vertexsms.upstream.error` (its cause: `dns`, `tls`, …);
 * - a client span per VertexSMS call (`VertexSMS GET /rates`, parent of
 *   Deno's `fetch` span): `vertexsms.route`, `http.response.status_code`,
 *   `vertexsms.attempts` and `error.type`.
 *
 * Never a token, a header value, message text or a phone number. With
 * OpenTelemetry off there is no active span: each function returns at once.
 */
import { type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { ServiceError } from "./errors.ts";
import { SERVER_NAME, VERSION } from "./version.ts";

const tracer = trace.getTracer(SERVER_NAME, VERSION);

/** What a request's log line says about MCP (the edge fills it in as the request runs). */
export interface RequestFacts {
  rpcMethod?: string;
  tool?: string;
  errorCode?: string;
  upstreamStatus?: number;
  /** Why VertexSMS gave no answer, when it gave none (`connection_refused`, `dns`, …). */
  upstreamError?: string;
}

/** Put what the request's log line says about MCP on the request's span. */
export function annotateRequestSpan(facts: RequestFacts): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  if (facts.rpcMethod !== undefined) span.setAttribute("mcp.method.name", facts.rpcMethod);
  if (facts.tool !== undefined) span.setAttribute("gen_ai.tool.name", facts.tool);
  if (facts.errorCode !== undefined) span.setAttribute("error.type", facts.errorCode);
  if (facts.upstreamStatus !== undefined) {
    span.setAttribute("vertexsms.upstream.status_code", facts.upstreamStatus);
  }
  if (facts.upstreamError !== undefined) {
    span.setAttribute("vertexsms.upstream.error", facts.upstreamError);
  }
}

/**
 * Name the request span after its route (`POST /callbacks/hlr/:id`), for a
 * path that carries a credential. (Deno also records the full URL on the span
 * it makes for every incoming request, and attributes it set cannot be
 * replaced from JavaScript: such a route must spend its credential on use.)
 */
export function nameRequestSpan(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute("http.route", route);
  span.updateName(`${method} ${route}`);
}

/** One attempt of an upstream call, as a span records it. */
export interface AttemptFacts {
  status: number | null;
  attempt: number;
}

/**
 * Run one upstream call (all its attempts) inside a client span named after
 * its route, when a trace is active; otherwise just run it. `call` gets the
 * observer to report each attempt to (the caller's own, plus the span's).
 */
export function traceUpstream<T, E extends AttemptFacts>(
  route: string,
  observe: ((event: E) => void) | undefined,
  call: (observe: ((event: E) => void) | undefined) => Promise<T>,
): Promise<T> {
  if (!trace.getActiveSpan()) return call(observe);
  return tracer.startActiveSpan(
    `VertexSMS ${route}`,
    { kind: SpanKind.CLIENT, attributes: { "vertexsms.route": route } },
    async (span: Span) => {
      const observed = (event: E) => {
        if (event.status !== null) span.setAttribute("http.response.status_code", event.status);
        span.setAttribute("vertexsms.attempts", event.attempt);
        observe?.(event);
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
