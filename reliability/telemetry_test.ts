/**
 * Observability: `main.ts` run as a real process with Deno's built-in
 * OpenTelemetry on (`OTEL_DENO=true`), exporting OTLP/HTTP JSON to a
 * receiver in this test. The request spans carry the JSON-RPC method, tool
 * and error code; each upstream call has its own span with route and status;
 * and nothing exported (traces, logs, metrics) holds a token, message text,
 * phone number, approval id or callback id: Deno's own request span
 * included, whose URL attributes are rewritten before they are recorded
 * (`core/telemetry.ts`).
 */
import assert from "node:assert/strict";
import { scrubSpanUrl } from "../server/capabilities.ts";
import { DEMO_TOKENS, modernCall, resultOf } from "../testing/harness.ts";
import { type FakeVertex, startFake } from "../testing/fake/mod.ts";
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

/** What one run of the server exported, and the fake it called. */
interface Exported {
  exports: { path: string; body: string }[];
  spans: Span[];
  fake: FakeVertex;
}

/**
 * Run `main.ts` with OpenTelemetry exporting to a receiver here, let `drive`
 * use it (with the base URL), stop it (Deno flushes the exporters on exit)
 * and return everything exported.
 */
async function exportedRun(
  env: Record<string, string>,
  drive: (base: string, fake: FakeVertex) => Promise<void>,
): Promise<Exported> {
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
      ...env,
    },
    ready: /"msg":"listening","address":"(127\.0\.0\.1:\d+)"/,
  });
  let stopped = false;
  try {
    await drive(`http://${server.ready[1]}`, fake);
    stopped = true;
    assert.equal((await server.stop()).code, 0);
  } finally {
    if (!stopped) await server.stop();
    await receiver.shutdown();
    await fake.shutdown();
  }
  const traces = exports.filter((e) => e.path === "/v1/traces");
  assert.ok(traces.length > 0, "no trace export received");
  return { exports, spans: traces.flatMap((e) => flatten(e.body)), fake };
}

Deno.test("OpenTelemetry: request and upstream spans carry tool, status and error code, never secrets", async () => {
  const message = "Telemetry canary text 7fq2";
  const phone = "+37069555555";
  const { exports, spans, fake } = await exportedRun({}, async (base, vertex) => {
    const mcp = `${base}/mcp`;
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
    while (vertex.reports.length === 0) await new Promise((r) => setTimeout(r, 20));
    assert.equal(vertex.reports[0]!.status, 200);
  });

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
  assert.equal(callback.attrs["url.path"], "/callbacks/hlr/:id", "Deno's own attribute, rewritten");

  // So does a delivery report's, never its capability (Deno's own `url.full` included).
  const dlrUrl = (fake.requests.find((r) => r.path === "/sms")?.body as { dlrUrl?: string })
    ?.dlrUrl;
  const capability = dlrUrl?.split("/").pop();
  assert.ok(capability, "the send gave VertexSMS a delivery-report URL");
  const report = spans.find((s) => s.name === "POST /callbacks/dlr/:capability");
  assert.ok(report, "the report's request span is named after its route");
  assert.equal(report.attrs["http.route"], "/callbacks/dlr/:capability");
  assert.equal(report.attrs["url.path"], "/callbacks/dlr/:capability");

  // Nothing exported — spans, console logs, metrics — holds a secret.
  assert.ok(exports.some((e) => e.path === "/v1/logs"), "the log lines are exported too");
  const everything = exports.map((e) => e.body).join("\n");
  for (
    const secret of [DEMO_TOKENS.full, message, phone.slice(1), "Bearer", callbackId, capability]
  ) {
    assert.ok(!everything.includes(secret), `exported telemetry contains ${secret}`);
  }
});

Deno.test("OpenTelemetry: no exported span, log or metric holds an approval or callback id", async () => {
  let approvalId = "";
  let requests = 0;
  const { exports, spans, fake } = await exportedRun(
    { SMS_CONFIRMATION: "require" },
    async (base) => {
      const auth = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
      const call = async (args: Record<string, unknown>) =>
        (await resultOf(modernCall(`${base}/mcp`, "send_sms", args, auth))).structuredContent;
      const sms = { to: "+37069912345", from: "VertexSMS", message: "Approve me" };
      const asked = await call(sms);
      approvalId = asked.approval_id;
      const origin = new URL(asked.approval_url).origin;
      const hit = async (path: string, init: RequestInit = {}) => {
        requests++;
        const res = await fetch(base + path, { redirect: "manual", ...init });
        const text = await res.text();
        return { status: res.status, text };
      };
      const page = await hit(`/approvals/${approvalId}`);
      const token = /name="form_token" value="([^"]+)"/.exec(page.text)![1]!;
      for (
        const path of [
          `/approvals/${approvalId}/`,
          `//approvals/${approvalId}`,
          `/APPROVALS/${approvalId}`,
          `/approvals%2F${approvalId}`,
          `/callbacks/dlr/${approvalId}`,
        ]
      ) {
        for (const method of ["GET", "DELETE", "OPTIONS"]) await hit(path, { method });
      }
      const decided = await hit(`/approvals/${approvalId}`, {
        method: "POST",
        headers: { Origin: origin },
        body: new URLSearchParams({ action: "approve", form_token: token }),
      });
      assert.equal(decided.status, 303);
      assert.equal((await call({ ...sms, approvalId })).status, "sent");
      const lookup = await modernCall(`${base}/mcp`, "lookup_hlr", {
        msisdn: "+37069912345",
        waitSeconds: 10,
      }, auth);
      assert.equal(lookup.status, 200);
      await lookup.body?.cancel();
    },
  );
  const callbackId = (fake.requests.find((r) => r.path === "/hlr")?.body as {
    callBackUrl: string;
  }).callBackUrl.split("/").pop()!;
  assert.equal(fake.callbacks.length, 1, "the callback was delivered");
  const named = spans.filter((s) =>
    /^(GET|POST|DELETE|OPTIONS) \/(approvals\/:id|callbacks\/(hlr\/:id|dlr\/:capability))$/.test(
      s.name,
    )
  );
  assert.equal(named.length, requests + 1, "every capability request's span names its route");
  for (const span of named) {
    assert.match(String(span.attrs["url.path"]), /\/:(id|capability)$/, span.name);
    assert.match(
      String(span.attrs["url.full"]),
      /^http:\/\/(127\.0\.0\.1|localhost):\d+\/[a-z/]+\/:(id|capability)$/,
    );
  }
  const everything = exports.map((e) => e.body).join("\n");
  for (const [what, id] of [["approval id", approvalId], ["callback id", callbackId]]) {
    assert.ok(!everything.includes(id!), `exported telemetry holds the ${what}`);
  }
  assert.equal(fake.count("POST /sms"), 1);
  console.log(
    `figure telemetry: ${requests + 1} requests to capability routes (approval page, decision, ` +
      `5 spellings × 3 methods, HLR callback) exported with OTEL_DENO=true → ${named.length} ` +
      `spans named by route, 0 of ${everything.length} exported bytes hold an approval or ` +
      "callback id",
  );
});

Deno.test("the span URL scrubber costs a few microseconds a request", () => {
  // What Deno records per request: url.full, url.path, url.query.
  const requests = [
    "http://localhost:8000/mcp",
    `http://localhost:8000/approvals/${"A".repeat(43)}`,
    "http://localhost:8000/mcp/x/sms:send,sms:rates?x=1",
  ].map((url) => {
    const parsed = new URL(url);
    return [url, parsed.pathname, parsed.search.slice(1)] as const;
  });
  const rounds = 20_000;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    for (const [full, path, query] of requests) {
      scrubSpanUrl("url.full", full);
      scrubSpanUrl("url.path", path);
      scrubSpanUrl("url.query", query);
    }
  }
  const perRequest = (performance.now() - started) * 1000 / (rounds * requests.length);
  assert.ok(perRequest < 50, `${perRequest} µs`);
  console.log(
    `figure telemetry: the span URL scrubber costs ${
      perRequest.toFixed(1)
    } µs per request (url.full, url.path and url.query of /mcp and capability URLs)`,
  );
});
