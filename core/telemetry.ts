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
 * Never a token, a header value, message text or a phone number; and never
 * a capability (an approval id, a callback id): {@link scrubSpanUrls}
 * rewrites the URL attributes Deno records itself. With OpenTelemetry off
 * there is no active span: each function returns at once.
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
 * path that carries a credential.
 */
export function nameRequestSpan(method: string, route: string): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute("http.route", route);
  span.updateName(`${method} ${route}`);
}

/** Rewrites the value of a URL attribute (`url.full`, `url.path`, `url.query`) before it is recorded. */
export type UrlScrubber = (key: string, value: string) => string;

/** The URL attributes Deno records on its request and `fetch` spans. */
const URL_KEYS = new Set(["url.full", "url.path", "url.query"]);

/** Spans whose URL attributes went through the scrubber (to notice a runtime that bypasses it). */
const scrubbed = new WeakSet<object>();
let installed: UrlScrubber | undefined;

/**
 * Rewrite the URL attributes of every span this process records, Deno's own
 * included, before they are recorded.
 *
 * Deno's built-in instrumentation records `url.full`, `url.path` and
 * `url.query` on the span it starts for every `Deno.serve` request, before
 * the handler runs, and a recorded attribute cannot be replaced or removed
 * (a second `setAttribute` adds a duplicate). It records them by calling the
 * span's own `setAttribute` method, from the one `Span` class every tracer
 * of the runtime shares, so wrapping that method once catches them as they
 * are set. The class is reached through a probe span that is never ended,
 * hence never exported. Returns whether tracing is on (nothing to do when
 * it is off); installs once per process.
 */
export function scrubSpanUrls(scrub: UrlScrubber): boolean {
  if (installed) return true;
  let probe: object;
  try {
    probe = Deno.telemetry.tracerProvider.getTracer(SERVER_NAME).startSpan("probe");
  } catch {
    return false; // "otel not initialized": no span is ever recorded
  }
  const proto = Object.getPrototypeOf(probe) as {
    setAttribute(this: object, key: string, value: unknown): unknown;
  };
  const setAttribute = proto.setAttribute;
  proto.setAttribute = function (key, value) {
    if (typeof value === "string" && URL_KEYS.has(key)) {
      scrubbed.add(this);
      value = scrub(key, value);
    }
    return setAttribute.call(this, key, value);
  };
  installed = scrub;
  return true;
}

/**
 * Whether the active span is recording and its URL attributes did not go
 * through {@link scrubSpanUrls}: a runtime that no longer records them
 * through the span's method (the capability route must then warn).
 */
export function activeSpanUnscrubbed(): boolean {
  const span = trace.getActiveSpan();
  return installed !== undefined && span !== undefined && span.isRecording() &&
    !scrubbed.has(span);
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
