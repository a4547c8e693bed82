/**
 * The upstream client against a real loopback HTTP server whose answers each
 * test scripts: status mapping, retries, timeouts, size cap, redirects.
 */
import assert from "node:assert/strict";
import { ServiceError } from "../core/errors.ts";
import { redactToken } from "./failures.ts";
import { parseDeliveryReport, parseHlrCallback, VertexClient } from "./mod.ts";
import { brokenBody } from "../testing/fake/mod.ts";

type Handler = (req: Request) => Response | Promise<Response>;

/** What the upstream saw of one request. */
interface Hit {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
}

async function withUpstream(
  handler: Handler,
  run: (client: VertexClient, hits: Hit[]) => Promise<void>,
  options: { timeoutMs?: number; maxResponseBytes?: number } = {},
) {
  const hits: Hit[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = req.method === "GET" ? "" : await req.clone().text();
    hits.push({ method: req.method, url: new URL(req.url), headers: req.headers, body });
    return handler(req);
  });
  const client = new VertexClient({
    baseUrl: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`,
    timeoutMs: options.timeoutMs ?? 2000,
    userAgent: "test/1",
    maxResponseBytes: options.maxResponseBytes,
  });
  try {
    await run(client, hits);
  } finally {
    await server.shutdown();
  }
}

const creds = { token: "tok-123", requestId: "req-1" };

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ServiceError, String(error));
    return error;
  }
  throw new Error("expected a failure");
}

Deno.test("requests carry the token header, JSON, user agent and request id; never a query token", async () => {
  await withUpstream(
    () => Response.json(["42"], { headers: { "X-VertexSMS-Amount-Sent": "3" } }),
    async (client, hits) => {
      const sent = await client.as(creds).sendSms({
        to: "37069912345",
        from: "Shop",
        message: "hi",
      });
      assert.deepEqual(sent, { messageIds: ["42"], amountSent: 3 });
      const req = hits[0] as Hit;
      assert.equal(req.method, "POST");
      assert.equal(req.url.pathname, "/sms");
      assert.equal(req.url.search, "");
      assert.equal(req.headers.get("x-vertexsms-token"), "tok-123");
      assert.equal(req.headers.get("content-type"), "application/json");
      assert.equal(req.headers.get("accept"), "application/json");
      assert.equal(req.headers.get("user-agent"), "test/1");
      assert.equal(req.headers.get("x-request-id"), "req-1");
      assert.deepEqual(JSON.parse(req.body), { to: "37069912345", from: "Shop", message: "hi" });
    },
  );
});

Deno.test("status codes map to the catalog in one place", async () => {
  const cases: [number, string, Record<string, unknown>][] = [
    [401, "AUTH_INVALID", { requiredScope: undefined }],
    [403, "AUTH_INVALID", { requiredScope: "sms:send" }],
    [404, "NOT_FOUND", {}],
    [400, "VERTEX_SEND_FAILED", { vertexErrorCode: 21 }],
    [409, "VERTEX_SEND_FAILED", {}],
    [429, "RATE_LIMITED", { retryAfterSeconds: 7 }],
    [500, "UPSTREAM_UNAVAILABLE", {}],
    [503, "UPSTREAM_UNAVAILABLE", {}],
  ];
  for (const [status, code, facts] of cases) {
    await withUpstream(
      () =>
        Response.json({ message: "nope", code: 21 }, { status, headers: { "Retry-After": "7" } }),
      async (client) => {
        const error = await failure(client.as(creds).sendSms({ to: "1", from: "a", message: "b" }));
        assert.equal(error.code, code, `HTTP ${status}`);
        assert.equal(error.facts.upstreamStatus, status);
        for (const [key, value] of Object.entries(facts)) {
          assert.equal(error.facts[key as keyof typeof error.facts], value, `${status} ${key}`);
        }
      },
    );
  }
});

Deno.test("400 on a non-send endpoint is VERTEX_REQUEST_REJECTED quoting the upstream", async () => {
  await withUpstream(
    () => Response.json({ message: "Invalid code" }, { status: 400 }),
    async (client) => {
      const error = await failure(client.as(creds).confirmMsisdnSender(1, "12345"));
      assert.equal(error.code, "VERTEX_REQUEST_REJECTED");
      assert.match(error.message, /Invalid code/);
    },
  );
});

Deno.test("a token the upstream echoes is not quoted back in the error message", async () => {
  await withUpstream(
    (req) =>
      Response.json({
        message: `Token ${req.headers.get("x-vertexsms-token")} may not use this route`,
      }, { status: 403 }),
    async (client) => {
      const error = await failure(client.as(creds).getRates());
      assert.equal(error.code, "AUTH_INVALID");
      assert.ok(!error.message.includes(creds.token), error.message);
      assert.match(error.message, /Token \[redacted\] may not use this route/);
    },
  );
});

Deno.test("a token echoed in another form is redacted too: encoded, re-cased, cut short", async () => {
  await withUpstream(
    (req) => {
      const token = req.headers.get("x-vertexsms-token") ?? "";
      return Response.json({
        message: `Invalid sender. Token=${encodeURIComponent(token)} ` +
          `(${token.toUpperCase()}), prefix ${token.slice(0, 10)}…, see docs`,
      }, { status: 400 });
    },
    async (client) => {
      const long = { token: "Tk9mQ2xV8bL3wN7rZ5pY1sHd", requestId: "req-2" };
      const error = await failure(client.as(long).sendSms({ to: "370", from: "X", message: "m" }));
      assert.equal(error.code, "VERTEX_SEND_FAILED");
      const said = error.message.toLowerCase();
      for (let i = 0; i + 8 <= long.token.length; i++) {
        assert.ok(!said.includes(long.token.slice(i, i + 8).toLowerCase()), error.message);
      }
      assert.match(
        error.message,
        /Invalid sender\. \[redacted\] \(\[redacted\]\), prefix \[redacted\]…, see docs/,
      );
    },
  );
});

Deno.test("redactToken leaves ordinary words alone", () => {
  const token = "Zq8xK2mVb7Lw3nR5";
  assert.equal(
    redactToken("Invalid value for field 'from'. Sender ID must be 11 characters", token),
    "Invalid value for field 'from'. Sender ID must be 11 characters",
  );
  assert.equal(redactToken(`a ${token.slice(3, 12)} b`, token), "a [redacted] b");
});

Deno.test("redirects are not followed (the token header must not leave)", async () => {
  let followed = 0;
  await withUpstream((req) => {
    if (new URL(req.url).pathname === "/elsewhere") followed++;
    return new Response(null, { status: 302, headers: { Location: "/elsewhere" } });
  }, async (client) => {
    const error = await failure(client.as(creds).getRates());
    assert.equal(error.code, "UPSTREAM_BAD_RESPONSE");
    assert.equal(followed, 0);
  });
});

Deno.test("read-only calls retry once on a connection error; sends never", async () => {
  let n = 0;
  await withUpstream(() => {
    n++;
    return brokenBody("[");
  }, async (client, hits) => {
    const error = await failure(client.as(creds).getOperator(1));
    assert.equal(error.code, "UPSTREAM_UNAVAILABLE");
    assert.equal(error.retryable, true);
    assert.equal(hits.length, 2);
    hits.length = 0;
    const send = await failure(client.as(creds).sendSms({ to: "1", from: "a", message: "b" }));
    assert.equal(send.code, "UPSTREAM_UNAVAILABLE");
    assert.equal(send.retryable, false);
    assert.equal(send.facts.outcomeUnknown, true);
    assert.equal(hits.length, 1);
  });
  assert.equal(n, 3);
});

Deno.test("a connection refused is retryable even for a send (nothing was sent)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const client = new VertexClient({
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 1000,
    userAgent: "t",
  });
  const error = await failure(client.as(creds).sendSms({ to: "1", from: "a", message: "b" }));
  assert.equal(error.code, "UPSTREAM_UNAVAILABLE");
  assert.equal(error.retryable, true);
  assert.equal(error.facts.outcomeUnknown, undefined);
});

Deno.test("timeouts: retryable for reads, outcome unknown for billable calls", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  await withUpstream(async () => {
    await gate;
    return Response.json([]);
  }, async (client, hits) => {
    const read = await failure(client.as(creds).getPrefixes("LT"));
    assert.equal(read.code, "UPSTREAM_TIMEOUT");
    assert.equal(read.retryable, true);
    const hlr = await failure(client.as(creds).startHlrLookup("370", "https://x/cb"));
    assert.equal(hlr.code, "UPSTREAM_TIMEOUT");
    assert.equal(hlr.retryable, false);
    assert.equal(hlr.facts.outcomeUnknown, true);
    assert.equal(hits.length, 2, "timeouts are not retried");
    release();
  }, { timeoutMs: 150 });
});

Deno.test("bodies over the cap are refused, not buffered", async () => {
  await withUpstream(() => new Response(JSON.stringify(["x".repeat(5000)])), async (client) => {
    const error = await failure(client.as(creds).getRates());
    assert.equal(error.code, "UPSTREAM_BAD_RESPONSE");
    assert.match(error.message, /more than 1024 bytes/);
  }, { maxResponseBytes: 1024 });
});

Deno.test("2xx with a body that breaks the contract is UPSTREAM_BAD_RESPONSE", async () => {
  for (const body of ["<html>", '{"rates": 1}', "[]"]) {
    await withUpstream(() => new Response(body), async (client) => {
      const error = await failure(client.as(creds).sendSms({ to: "1", from: "a", message: "b" }));
      assert.equal(error.code, "UPSTREAM_BAD_RESPONSE", body);
    });
  }
});

Deno.test("both documented spellings and types are accepted", async () => {
  await withUpstream((req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/rates")) {
      return Response.json([
        {
          CountryName: "Lithuania",
          CountryCode: "lt",
          Operator: "BITE",
          Network: "Bite",
          MCC: "246",
          MNC: "020",
          Rate: "0.045",
        },
        {
          CountryName: "Lithuania",
          CountryCode: "LT",
          Operator: "All",
          Network: "All",
          mcc: 246,
          mnc: null,
          Rate: 0.05,
        },
      ]);
    }
    if (path.startsWith("/operators")) {
      return Response.json({ name: "T", country: "LT", mcc: 246, mnc: "001" });
    }
    if (path === "/senderId") {
      return new Response("123\n", { headers: { "Content-Type": "plain/text" } });
    }
    if (path === "/hlr") return Response.json([1203877133]);
    return Response.json([{ country: "LT", MCC: 246, MNC: "020", operatorId: "493" }]);
  }, async (client) => {
    const api = client.as(creds);
    const rates = await api.getRates();
    assert.deepEqual(rates.map((r) => [r.country, r.mcc, r.mnc, r.rate_eur]), [
      ["LT", "246", "020", "0.045"],
      ["LT", "246", null, "0.05"],
    ]);
    assert.deepEqual(await api.getOperator(2), {
      name: "T",
      country: "LT",
      mcc: "246",
      mnc: ["001"],
    });
    assert.equal(await api.registerMsisdnSender("37069555555"), 123);
    assert.equal(await api.startHlrLookup("370", "https://x"), "1203877133");
    assert.deepEqual(await api.getNetworks("LT", 1), [{
      mcc: "246",
      mnc: "020",
      operator_id: 493,
    }]);
  });
});

Deno.test("HLR callbacks: error codes as strings or numbers, ported or not", () => {
  const ok = parseHlrCallback({
    id: "1",
    error: "0",
    imsi: "246",
    country: "LT",
    operatorId: 493,
    mcc: 246,
    mnc: "021",
  });
  assert.equal(ok?.status, "ok");
  assert.equal(ok?.error_meaning, "no error");
  assert.equal(ok?.mcc, "246");
  assert.equal(ok?.ported, null);
  const absent = parseHlrCallback({
    id: 2,
    error: 43,
    ported: { operatorId: "2", operator: "Telia", country: "LT" },
  });
  assert.equal(absent?.status, "error");
  assert.equal(absent?.lookup_id, "2");
  assert.match(absent?.error_meaning ?? "", /absent/);
  assert.deepEqual(absent?.ported, { operator_id: 2, operator: "Telia", country: "LT" });
  assert.equal(parseHlrCallback({ nope: true }), null);
  assert.equal(parseHlrCallback("OK"), null);
});

Deno.test("a send with delivery reports carries dlrUrl in its body", async () => {
  await withUpstream(() => Response.json(["42"]), async (client, hits) => {
    const dlrUrl = "https://mcp.example.com/callbacks/dlr/abc";
    await client.as(creds).sendSms({ to: "37069912345", from: "Shop", message: "hi", dlrUrl });
    assert.equal(JSON.parse(hits[0]!.body).dlrUrl, dlrUrl);
  });
});

Deno.test("delivery reports (assumed shape): ids and codes as strings or numbers, extra fields ignored", () => {
  assert.deepEqual(
    parseDeliveryReport({ id: "1281532560", status: 1, error: 0, mcc: "246", mnc: "001" }),
    { messageId: "1281532560", status: "delivered", errorCode: 0 },
  );
  // Form-encoded or query parameters arrive as strings.
  assert.deepEqual(parseDeliveryReport({ id: "7", status: "2", error: "1", extra: "x" }), {
    messageId: "7",
    status: "undelivered",
    errorCode: 1,
  });
  assert.deepEqual(parseDeliveryReport({ id: 8, status: "16", error: "" }), {
    messageId: "8",
    status: "expired",
    errorCode: null,
  });
  assert.equal(parseDeliveryReport({ id: "9", status: 3 })?.status, "delivered", "seen (Viber)");
  assert.equal(parseDeliveryReport({ id: "9", status: 8 })?.status, null, "not final yet");
  for (const bad of [{ status: 1 }, { id: "x1", status: 1 }, { id: "1" }, "OK", null, [1]]) {
    assert.equal(parseDeliveryReport(bad), null, JSON.stringify(bad));
  }
});

Deno.test("a client cancelling a billable call leaves its outcome unknown; a read stays retryable", async () => {
  await withUpstream(async () => {
    await new Promise((r) => setTimeout(r, 200));
    return Response.json(["1"]);
  }, async (client) => {
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 30);
    const send = await failure(
      client.as({ ...creds, signal: cancel.signal }).sendSms({ to: "1", from: "a", message: "b" }),
    );
    assert.equal(send.retryable, false);
    assert.equal(send.facts.outcomeUnknown, true);
    const readCancel = new AbortController();
    setTimeout(() => readCancel.abort(), 30);
    const read = await failure(
      client.as({ ...creds, signal: readCancel.signal }).getPrefixes("LT"),
    );
    assert.equal(read.retryable, true);
    assert.equal(read.facts.outcomeUnknown, undefined);
  });
});
