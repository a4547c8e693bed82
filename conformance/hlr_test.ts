/**
 * lookup_hlr end to end: the fake posts the callback like VertexSMS does,
 * also to a second server instance sharing one Deno KV store or one Redis
 * server; the callback route's refusals; HLR_TIMEOUT and HLR_UNAVAILABLE.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  connectV2,
  DEMO_TOKENS,
  envelopeOf,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";
import { redisTest, startRedis } from "../testing/redis.ts";
import { SAMPLE_HLR_CALLBACK } from "../testing/samples.ts";
import { redisState } from "../state/mod.ts";

const RESULT = SAMPLE_HLR_CALLBACK;

for (const { era, connect } of CLIENTS) {
  for (const { backend, test } of SHARED_BACKENDS) {
    test(`${era}: a callback that lands on another instance completes the lookup (shared ${backend})`, async () => {
      // B is where the load balancer sends VertexSMS's callback: A's PUBLIC_URL points there.
      const { fake, a, b, close } = await startPair(
        {},
        (b) => ({ PUBLIC_URL: b.server.url }),
        backend,
      );
      const c = await connect(a.mcpUrl, DEMO_TOKENS["hlr:lookup"]);
      try {
        const result = await c.client.callTool({
          name: "lookup_hlr",
          arguments: { msisdn: "+37069912345", waitSeconds: 10 },
        });
        assert.notEqual(result.isError, true, result.content?.[0]?.text);
        assert.equal(result.structuredContent.lookup_id, "1203877133");
        assert.equal(fake.callbacks.length, 1);
        assert.ok(fake.callbacks[0]!.url.startsWith(`${b.server.url}/callbacks/hlr/`));
        assert.equal(fake.callbacks[0]!.status, 200);
        const delivered = b.logs.map((l) => JSON.parse(l)).filter((l) =>
          l.path?.startsWith("/callbacks/hlr/")
        );
        assert.equal(delivered.length, 1, "the callback reached instance B");
        assert.ok(!a.logs.some((l) => l.includes("/callbacks/hlr/")), "not instance A");
        assert.equal(fake.count("POST /hlr"), 1);
      } finally {
        await c.close();
        await close();
      }
    });
  }
}

Deno.test("the callback URL is one-time and unguessable; the route answers OK once", async () => {
  const h = startHarness({ fakeOptions: { callbackDelayMs: 20 } });
  const c = await connectV2(h.mcpUrl, DEMO_TOKENS.full);
  try {
    await c.client.callTool({ name: "lookup_hlr", arguments: { msisdn: "+37069912345" } });
    const hlr = h.fake.requests.find((r) => r.path === "/hlr")!;
    const url = (hlr.body as { callBackUrl: string }).callBackUrl;
    assert.match(url, new RegExp(`^${h.server.url}/callbacks/hlr/[A-Za-z0-9_-]{43}$`));
    const callback = await fetch(url, { method: "POST", body: JSON.stringify(RESULT) });
    assert.equal(callback.status, 404, "replayed");
    await callback.body?.cancel();
    await c.client.callTool({ name: "lookup_hlr", arguments: { msisdn: "+37069912345" } });
    const second = (h.fake.requests.filter((r) =>
      r.path === "/hlr"
    )[1]!.body as { callBackUrl: string })
      .callBackUrl;
    assert.notEqual(second, url);
  } finally {
    await c.close();
    await h.close();
  }
});

Deno.test("callback route: unknown → 404, oversized → 413, non-JSON → 400, wrong shape → 400", async () => {
  const h = startHarness();
  const base = `${h.server.url}/callbacks/hlr/`;
  try {
    const post = async (id: string, body: string) => {
      const res = await fetch(base + id, { method: "POST", body });
      await res.body?.cancel();
      return res.status;
    };
    assert.equal(await post("A".repeat(43), JSON.stringify(RESULT)), 404);
    assert.equal(await post("short", JSON.stringify(RESULT)), 404);
    assert.equal(
      await post("A".repeat(43), JSON.stringify({ ...RESULT, pad: "x".repeat(20_000) })),
      413,
    );
    assert.equal(await post("A".repeat(43), "OK"), 400);
    assert.equal(await post("A".repeat(43), JSON.stringify({ hello: "world" })), 400);
  } finally {
    await h.close();
  }
});

Deno.test("a forged callback cannot complete a lookup it does not hold the id of", async () => {
  const h = startHarness({ fakeOptions: { callbackDelayMs: 300 } });
  const c = await connectV2(h.mcpUrl, DEMO_TOKENS.full);
  try {
    const pending = c.client.callTool({
      name: "lookup_hlr",
      arguments: { msisdn: "+37069912345" },
    });
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) {
      const guess = crypto.randomUUID().replace(/-/g, "").padEnd(43, "A");
      const res = await fetch(`${h.server.url}/callbacks/hlr/${guess}`, {
        method: "POST",
        body: JSON.stringify({ ...RESULT, imsi: "forged" }),
      });
      assert.equal(res.status, 404);
      await res.body?.cancel();
    }
    const result = await pending;
    assert.equal(result.structuredContent.imsi, "2460210051600001");
  } finally {
    await c.close();
    await h.close();
  }
});

Deno.test("no callback in waitSeconds: HLR_TIMEOUT with lookup_id, not retryable", async () => {
  const h = startHarness();
  const c = await connectV2(h.mcpUrl, DEMO_TOKENS.full);
  try {
    const started = performance.now();
    const result = await c.client.callTool({
      name: "lookup_hlr",
      arguments: { msisdn: "+37069900000", waitSeconds: 1 },
    });
    assert.ok(performance.now() - started >= 950);
    assert.equal(result.isError, true);
    const error = envelopeOf(result);
    assert.equal(error.code, "HLR_TIMEOUT");
    assert.equal(error.retryable, false);
    assert.equal(error.lookup_id, "1203877135");
    assert.equal(h.fake.count("POST /hlr"), 1);
  } finally {
    await c.close();
    await h.close();
  }
});

Deno.test("a loopback PUBLIC_URL with a remote upstream: HLR_UNAVAILABLE before any call", async () => {
  const h = startHarness({ env: { VERTEXSMS_API_URL: "https://api.vertexsms.invalid" } });
  const c = await connectV2(h.mcpUrl, DEMO_TOKENS.full);
  try {
    const result = await c.client.callTool({
      name: "lookup_hlr",
      arguments: { msisdn: "+37069912345" },
    });
    const error = envelopeOf(result);
    assert.equal(error.code, "HLR_UNAVAILABLE");
    assert.equal(error.retryable, false);
    assert.match(String(error.message), /PUBLIC_URL/);
    assert.equal(h.server.app.hlr.waiting, 0);
  } finally {
    await c.close();
    await h.close();
  }
});

for (const where of ["in process", "shared KV", "shared Redis"] as const) {
  const test = where === "shared Redis"
    ? redisTest
    : (name: string, fn: () => Promise<void>) => Deno.test(name, fn);
  test(`an expired id answers 404 once the lookup gave up (${where})`, async () => {
    const path = where === "shared KV" ? await Deno.makeTempFile({ suffix: ".sqlite" }) : undefined;
    const kv = path ? await Deno.openKv(path) : null;
    const redis = where === "shared Redis" ? await startRedis() : undefined;
    const state = redis ? await redisState({ url: redis.url }) : undefined;
    const h = startHarness({ kv, state });
    const c = await connectV2(h.mcpUrl, DEMO_TOKENS.full);
    try {
      const result = await c.client.callTool({
        name: "lookup_hlr",
        arguments: { msisdn: "+37069900000", waitSeconds: 1 },
      });
      assert.equal(envelopeOf(result).code, "HLR_TIMEOUT");
      const hlr = h.fake.requests.find((r) => r.path === "/hlr")!;
      const late = await fetch((hlr.body as { callBackUrl: string }).callBackUrl, {
        method: "POST",
        body: JSON.stringify({ ...RESULT, id: "1203877135" }),
      });
      assert.equal(late.status, 404);
      await late.body?.cancel();
      assert.equal(h.server.app.hlr.waiting, 0);
    } finally {
      await c.close();
      await h.close();
      kv?.close();
      if (path) await Deno.remove(path).catch(() => {});
      await state?.close();
      await redis?.close();
    }
  });
}

Deno.test("a callback cannot complete another caller's lookup with its own result", async () => {
  const h = startHarness();
  h.fake.inject({ kind: "no-callback" });
  const a = await connectV2(h.mcpUrl, DEMO_TOKENS.full);
  const b = await connectV2(h.mcpUrl, DEMO_TOKENS["hlr:lookup"]);
  try {
    const lookupA = a.client.callTool({
      name: "lookup_hlr",
      arguments: { msisdn: "+37069912345", waitSeconds: 10 },
    });
    const lookupB = b.client.callTool({
      name: "lookup_hlr",
      arguments: { msisdn: "+37061860698", waitSeconds: 10 },
    });
    // Both lookups have reserved their ids and reached VertexSMS (the fake) before we post.
    while (h.server.app.hlr.waiting < 2 || h.fake.count("POST /hlr") < 2) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const urlOf = (token: string) =>
      (h.fake.requests.find((r) => r.path === "/hlr" && r.token === token)!.body as {
        callBackUrl: string;
      }).callBackUrl;
    const post = async (url: string, body: unknown) => {
      const res = await fetch(url, { method: "POST", body: JSON.stringify(body) });
      await res.body?.cancel();
      return res.status;
    };
    const resultB = {
      id: "1203877136",
      error: "0",
      imsi: "246010051600002",
      country: "LT",
      operatorId: 493,
      mcc: "246",
      mnc: "001",
    };
    // B's result, delivered to A's callback URL: A refuses it, B keeps waiting.
    assert.equal(await post(urlOf(DEMO_TOKENS.full), resultB), 200);
    const errorA = envelopeOf(await lookupA);
    assert.equal(errorA.code, "UPSTREAM_BAD_RESPONSE");
    assert.equal(h.server.app.hlr.waiting, 1, "B still waits");
    // B's own URL completes B; A's is spent.
    assert.equal(await post(urlOf(DEMO_TOKENS["hlr:lookup"]), resultB), 200);
    const okB = await lookupB;
    assert.equal(okB.structuredContent.lookup_id, "1203877136");
    assert.equal(okB.structuredContent.imsi, "246010051600002");
    assert.equal(await post(urlOf(DEMO_TOKENS.full), RESULT), 404);
  } finally {
    await a.close();
    await b.close();
    await h.close();
  }
});
