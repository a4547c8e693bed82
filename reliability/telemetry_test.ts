/**
 * Observability: `main.ts` run as a real process with Deno's built-in
 * OpenTelemetry on (`OTEL_DENO=true`), exporting OTLP/HTTP JSON to a
 * receiver in this test. The request spans carry the JSON-RPC method, tool
 * and error code; each upstream call has its own span with route and status;
 * and nothing exported (traces, logs, metrics) holds a token, message text
 * or phone number.
 */
import assert from "node:assert/strict";
import { DEMO_TOKENS, modernCall } from "../testing/harness.ts";
import { startFake } from "../testing/fake/mod.ts";
import { spawnUntil } from "../testing/process.ts";

const ROOT = new URL("../", import.meta.url);

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: { key: string; value: AnyValue }[];
}
/** A span with its attributes as plain values. */
interface Span {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attrs: Record<string, string | number | boolean | undefined>;
}

function flatten(body: string): Span[] {
  const doc = JSON.parse(body) as {
    resourceSpans?: { scopeSpans: { spans: OtlpSpan[] }[] }[];
  };
  return (doc.resourceSpans ?? []).flatMap((r) =>
    r.scopeSpans.flatMap((s) =>
      s.spans.map((span) => ({
        name: span.name,
        kind: span.kind,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        attrs: Object.fromEntries(
          span.attributes.map(({ key, value }) => [
            key,
            value.stringValue ?? value.doubleValue ??
              (value.intValue !== undefined ? Number(value.intValue) : value.boolValue),
          ]),
        ),
      }))
    )
  );
}

Deno.test("OpenTelemetry: request and upstream spans carry tool, status and error code, never secrets", async () => {
  const exports: { path: string; body: string }[] = [];
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      exports.push({ path: new URL(req.url).pathname, body: await req.text() });
      return Response.json({});
    },
  );
  const fake = startFake();
  const server = await spawnUntil(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
    cwd: ROOT,
    env: {
      PORT: "0",
      BIND_HOST: "127.0.0.1",
      VERTEXSMS_API_URL: fake.url,
      KV_PATH: "off",
      OTEL_DENO: "true",
      OTEL_SERVICE_NAME: "vertexsms-mcp-test",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.addr.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    },
    ready: /"msg":"listening","address":"(127\.0\.0\.1:\d+)"/,
  });
  const message = "Telemetry canary text 7fq2";
  const phone = "+37069555555";
  let stopped = false;
  try {
    const mcp = `http://${server.ready[1]}/mcp`;
    const auth = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
    const calls = [
      await modernCall(mcp, "get_sms_rates", { country: "LT" }, auth),
      await modernCall(mcp, "get_operator", { operatorId: 999_999 }, auth),
      await modernCall(mcp, "send_sms", { to: phone, from: "VertexSMS", message }, auth),
      await modernCall(mcp, "lookup_hlr", { msisdn: "+37069912345", waitSeconds: 10 }, auth),
    ];
    for (const res of calls) {
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    // The send's delivery report reaches the server before it stops.
    while (fake.reports.length === 0) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.reports[0]!.status, 200);
    // Deno flushes the exporters when the process exits.
    stopped = true;
    assert.equal((await server.stop()).code, 0);
  } finally {
    if (!stopped) await server.stop();
    await receiver.shutdown();
    await fake.shutdown();
  }

  const traces = exports.filter((e) => e.path === "/v1/traces");
  assert.ok(traces.length > 0, "no trace export received");
  const spans = traces.flatMap((e) => flatten(e.body));
  /** The spans, and attributes, this server makes or adds to. */
  const ours = () =>
    spans.filter((s) =>
      s.attrs["mcp.method.name"] || s.attrs["vertexsms.route"] || s.attrs["http.route"]
    ).map((s) => ({
      name: s.name,
      attrs: Object.fromEntries(Object.entries(s.attrs).filter(([k]) => !k.startsWith("url."))),
    }));
  const requestSpan = (tool: string) => {
    const found = spans.filter((s) => s.attrs["gen_ai.tool.name"] === tool);
    assert.equal(found.length, 1, `one request span for ${tool}`);
    return found[0] as Span;
  };

  const rates = requestSpan("get_sms_rates");
  assert.equal(rates.attrs["mcp.method.name"], "tools/call");
  assert.equal(rates.attrs["vertexsms.upstream.status_code"], 200);
  assert.equal(rates.attrs["error.type"], undefined);
  assert.equal(rates.kind, 2, "SERVER span (Deno.serve)");

  const operator = requestSpan("get_operator");
  assert.equal(operator.attrs["error.type"], "NOT_FOUND");
  assert.equal(operator.attrs["vertexsms.upstream.status_code"], 404);

  assert.equal(requestSpan("send_sms").attrs["vertexsms.upstream.status_code"], 200);

  // One client span per upstream call, a child of its request's span, parent of Deno's fetch span.
  const upstream = (route: string) => spans.filter((s) => s.attrs["vertexsms.route"] === route);
  const [ratesCall] = upstream("GET /rates");
  assert.ok(ratesCall, "a span for GET /rates");
  assert.equal(ratesCall.name, "VertexSMS GET /rates");
  assert.equal(ratesCall.kind, 3, "CLIENT span");
  assert.equal(ratesCall.attrs["http.response.status_code"], 200);
  assert.equal(ratesCall.attrs["vertexsms.attempts"], 1);
  assert.equal(ratesCall.traceId, rates.traceId);
  assert.equal(ratesCall.parentSpanId, rates.spanId);
  assert.ok(
    spans.some((s) => s.parentSpanId === ratesCall.spanId),
    "Deno's fetch span sits under the upstream span",
  );
  const [operatorCall] = upstream("GET /operators/{id}");
  assert.equal(operatorCall?.attrs["http.response.status_code"], 404);
  assert.equal(operatorCall?.attrs["error.type"], "NOT_FOUND");
  assert.equal(upstream("POST /sms").length, 1);

  // The HLR callback's request span names its route, never the one-time id in its URL.
  const callbackUrl = (fake.requests.find((r) => r.path === "/hlr")?.body as {
    callBackUrl?: string;
  })?.callBackUrl;
  assert.ok(callbackUrl, "the lookup gave VertexSMS a callback URL");
  assert.equal(fake.callbacks.length, 1, "and the fake delivered to it");
  const callbackId = callbackUrl.split("/").pop()!;
  const callback = spans.find((s) => s.name === "POST /callbacks/hlr/:id");
  assert.ok(callback, "the callback's request span is named after its route");
  assert.equal(callback.attrs["http.route"], "/callbacks/hlr/:id");
  // Deno's own attributes hold the full URL, and JavaScript cannot replace them: the id they
  // carry is spent (a second delivery to it is refused, whatever it carries).

  // So does a delivery report's, never its capability. (Deno's own `url.full` holds it, and a
  // capability lives for days: docs/life-of-a-message.md says so, until Deno lets us redact it.)
  const dlrUrl = (fake.requests.find((r) => r.path === "/sms")?.body as { dlrUrl?: string })
    ?.dlrUrl;
  const capability = dlrUrl?.split("/").pop();
  assert.ok(capability, "the send gave VertexSMS a delivery-report URL");
  const report = spans.find((s) => s.name === "POST /callbacks/dlr/:capability");
  assert.ok(report, "the report's request span is named after its route");
  assert.equal(report.attrs["http.route"], "/callbacks/dlr/:capability");
  assert.ok(!JSON.stringify(ours()).includes(capability), "no span attribute of ours holds it");

  // Nothing exported — spans, console logs, metrics — holds a secret.
  assert.ok(exports.some((e) => e.path === "/v1/logs"), "the log lines are exported too");
  const everything = exports.map((e) => e.body).join("\n");
  assert.ok(!JSON.stringify(ours()).includes(callbackId), "no span attribute of ours holds the id");
  for (const secret of [DEMO_TOKENS.full, message, phone.slice(1), "Bearer"]) {
    assert.ok(!everything.includes(secret), `exported telemetry contains ${secret}`);
  }
});
