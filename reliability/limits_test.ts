/**
 * Abuse limits through the real server: the per-IP limit on unauthenticated
 * requests, the bounds of every cache and waiting map (filled past them),
 * the request body limit and the cap on upstream answers.
 */
import assert from "node:assert/strict";
import { DEMO_TOKENS, envelopeOf, modernCall, rpc, startHarness } from "../testing/harness.ts";
import { SAMPLE_HLR_CALLBACK } from "../testing/samples.ts";

const LIST = { jsonrpc: "2.0", id: 1, method: "tools/list" };

/** Run `tasks` with at most `width` in flight. */
async function pool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

/** Status of a response, its body drained. */
async function statusOf(res: Response | Promise<Response>): Promise<number> {
  const r = await res;
  await r.body?.cancel();
  return r.status;
}

Deno.test("unauthenticated requests over the per-IP limit: 429 RATE_LIMITED with Retry-After", async () => {
  const h = startHarness({ env: { UNAUTH_RATE_LIMIT_PER_MINUTE: "5", TRUST_PROXY: "true" } });
  const from = (ip: string, extra: Record<string, string> = {}) =>
    rpc(h.mcpUrl, LIST, { "X-Forwarded-For": ip, ...extra });
  try {
    const first = [];
    for (let i = 0; i < 5; i++) first.push(await statusOf(from("203.0.113.1")));
    assert.deepEqual(first, [401, 401, 401, 401, 401]);

    const limited = await from("203.0.113.1");
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${retryAfter}`);
    const { error } = await limited.json();
    assert.equal(error.code, "RATE_LIMITED");
    assert.equal(error.retryable, true);
    assert.equal(error.retry_after_seconds, retryAfter);
    assert.equal(error.request_id, limited.headers.get("x-request-id"));
    // A malformed Authorization header is no way around it.
    assert.equal(await statusOf(from("203.0.113.1", { Authorization: "Bearer a b" })), 429);
    // A bearer token from the same address, and another address, are not limited.
    const bearer = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
    assert.equal(await statusOf(from("203.0.113.1", bearer)), 200);
    assert.equal(await statusOf(from("203.0.113.2")), 401);
    assert.equal(h.fake.requests.length, 0, "nothing reached VertexSMS");
    console.log(
      `figure limits: unauthenticated 5/min per IP → the 6th answered 429 RATE_LIMITED, ` +
        `Retry-After ${retryAfter} s; bearer requests and other addresses unaffected`,
    );
  } finally {
    await h.close();
  }
});

Deno.test("without TRUST_PROXY a forged X-Forwarded-For does not escape the limit", async () => {
  const h = startHarness({ env: { UNAUTH_RATE_LIMIT_PER_MINUTE: "2" } });
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(await statusOf(rpc(h.mcpUrl, LIST, { "X-Forwarded-For": `198.51.100.${i}` })));
    }
    assert.deepEqual(statuses, [401, 401, 429, 429]);
  } finally {
    await h.close();
  }
});

Deno.test("every cache and waiting map holds its bound when filled past it", async () => {
  // Rates cache: one table per token, 256 at most.
  const rates = startHarness();
  let ratesHeld: number;
  try {
    const tokens = Array.from({ length: 300 }, (_, i) => `rates-bound-${i}-${crypto.randomUUID()}`);
    for (const token of tokens) rates.fake.addToken(token, ["sms:rates"]);
    const answers = await pool(
      tokens.map((token) => async () => {
        const res = await modernCall(rates.mcpUrl, "get_sms_rates", { country: "LT" }, {
          Authorization: `Bearer ${token}`,
        });
        return (await res.json()).result?.isError;
      }),
      20,
    );
    assert.ok(answers.every((isError) => isError === undefined));
    ratesHeld = rates.server.app.rates.size;
    assert.equal(ratesHeld, 256);
  } finally {
    await rates.close();
  }

  // Unauthenticated limiter: one window per address, 10,000 at most.
  const limiter = startHarness({ env: { TRUST_PROXY: "true" } });
  const addresses = 10_050;
  let limiterHeld: number;
  try {
    const statuses = await pool(
      Array.from({ length: addresses }, (_, i) => () =>
        statusOf(rpc(limiter.mcpUrl, LIST, {
          "X-Forwarded-For": `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        }))),
      20,
    );
    assert.ok(statuses.every((s) => s === 401));
    limiterHeld = limiter.server.app.unauthLimiter.size;
    assert.equal(limiterHeld, 10_000);
  } finally {
    await limiter.close();
  }

  // HLR: 1,000 lookups wait at most (100 per token); the next one is refused before anything is
  // billed.
  const hlr = startHarness();
  hlr.fake.inject({ kind: "no-callback" });
  const holders = Array.from({ length: 11 }, (_, i) => `hlr-bound-${i}-${crypto.randomUUID()}`);
  for (const token of holders) hlr.fake.addToken(token, ["hlr:lookup"]);
  const lookup = (token: string) =>
    modernCall(hlr.mcpUrl, "lookup_hlr", { msisdn: "+37069912345", waitSeconds: 30 }, {
      Authorization: `Bearer ${token}`,
    }).then((res) => res.json());
  let refused: Record<string, unknown>;
  let perToken: Record<string, unknown>;
  try {
    const waiting = holders.slice(0, 10).flatMap((token) =>
      Array.from({ length: 100 }, () => lookup(token))
    );
    while (hlr.fake.count("POST /hlr") < 1000) await new Promise((r) => setTimeout(r, 20));
    assert.equal(hlr.server.app.hlr.waiting, 1000);
    perToken = envelopeOf((await lookup(holders[0]!)).result);
    assert.equal(perToken.code, "RATE_LIMITED");
    assert.match(String(perToken.message), /already has 100 HLR lookups waiting/);
    refused = envelopeOf((await lookup(holders[10]!)).result);
    assert.equal(refused.code, "RATE_LIMITED");
    assert.equal(refused.retryable, true);
    assert.equal(
      hlr.fake.count("POST /hlr"),
      1000,
      "the refused lookups were not started (or billed)",
    );
    // Deliver every result: all 1,000 complete and the map is empty again.
    const urls = hlr.fake.requests.map((r) => (r.body as { callBackUrl: string }).callBackUrl);
    const delivered = await pool(
      urls.map((url) => () =>
        statusOf(fetch(url, {
          method: "POST",
          body: JSON.stringify(SAMPLE_HLR_CALLBACK),
        }))
      ),
      20,
    );
    assert.ok(delivered.every((s) => s === 200));
    const results = await Promise.all(waiting);
    assert.ok(
      results.every((r) => r.result.structuredContent?.lookup_id === SAMPLE_HLR_CALLBACK.id),
    );
    assert.equal(hlr.server.app.hlr.waiting, 0);
  } finally {
    await hlr.close();
  }
  console.log(
    `figure bounds: rates cache ${ratesHeld} tables for 300 tokens; unauthenticated limiter ` +
      `${limiterHeld} windows for ${addresses} addresses; HLR waiting map 1000 (100 per token), ` +
      `the 1001st lookup refused ${refused.code} (retry in ${refused.retry_after_seconds} s) ` +
      `before VertexSMS, and a 101st from one token ${perToken.code}`,
  );
});

/** A body sent as a stream (chunked, no Content-Length). */
function streamed(bytes: number, prefix = ""): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("x".repeat(512));
  let left = bytes;
  let first = true;
  return new ReadableStream({
    pull(c) {
      if (first) {
        first = false;
        return c.enqueue(new TextEncoder().encode(prefix));
      }
      if (left <= 0) return c.close();
      left -= chunk.byteLength;
      c.enqueue(chunk);
    },
  });
}

Deno.test("request bodies over the limit are refused with 413, with or without Content-Length", async () => {
  const h = startHarness({ env: { MAX_BODY_BYTES: "2048" } });
  const auth = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
  try {
    const padded = (pad: string) => JSON.stringify({ ...LIST, params: { _meta: { pad } } });
    const exactly = padded("x".repeat(2048 - padded("").length));
    assert.equal(new TextEncoder().encode(exactly).byteLength, 2048);
    assert.equal(await statusOf(rpc(h.mcpUrl, exactly, auth)), 200);
    assert.equal(await statusOf(rpc(h.mcpUrl, `${exactly} `, auth)), 413);
    const chunked = await fetch(h.mcpUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        ...auth,
      },
      body: streamed(64 * 1024, '{"jsonrpc":"2.0","id":1,"method":"tools/list","pad":"'),
    });
    assert.equal(await statusOf(chunked), 413);
    // The HLR callback route has its own, smaller limit (16 KiB).
    const callback = await fetch(`${h.server.url}/callbacks/hlr/${"A".repeat(43)}`, {
      method: "POST",
      body: streamed(64 * 1024, '{"id":"'),
    });
    assert.equal(await statusOf(callback), 413);
    console.log(
      "figure body limit: MAX_BODY_BYTES=2048 → 2048 bytes accepted, 2049 → 413, a 64 KiB chunked " +
        "body → 413; HLR callbacks over 16 KiB → 413",
    );
  } finally {
    await h.close();
  }
});

Deno.test("upstream answers over the cap are refused: streamed ones cut short, declared ones unread", async () => {
  const h = startHarness();
  const auth = { Authorization: `Bearer ${DEMO_TOKENS.full}` };
  const MiB = 1024 * 1024;
  try {
    h.fake.inject({ kind: "huge", bytes: 256 * MiB, times: 1 });
    const stream = await modernCall(h.mcpUrl, "get_operator", { operatorId: 493 }, auth);
    const cut = envelopeOf((await stream.json()).result);
    assert.equal(cut.code, "UPSTREAM_BAD_RESPONSE");
    assert.match(String(cut.message), /more than 8388608 bytes/);
    const sent = h.fake.hugeBytesSent();
    // What was produced is what was read plus socket and stream buffers: far from all of it.
    assert.ok(sent < 64 * MiB, `the fake produced ${sent} bytes of 256 MiB`);

    h.fake.inject({
      kind: "status",
      status: 200,
      body: ["x".repeat(9 * MiB)],
      times: 1,
    });
    const declared = await modernCall(h.mcpUrl, "get_mobile_prefixes", { country: "LT" }, auth);
    const refused = envelopeOf((await declared.json()).result);
    assert.equal(refused.code, "UPSTREAM_BAD_RESPONSE");
    assert.equal(h.fake.count("GET /prefixes"), 1, "not retried");
    console.log(
      `figure upstream cap: 8 MiB — a 256 MiB stream was cut after ${
        (sent / MiB).toFixed(1)
      } MiB ` +
        `had been produced; a declared 9 MiB answer refused from its Content-Length`,
    );
  } finally {
    await h.close();
  }
});
