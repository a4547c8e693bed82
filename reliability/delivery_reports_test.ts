/**
 * The delivery-report route under attack and failure, and the ledger at rest:
 *
 * - everything it refuses (a made-up, altered or other token's capability, a
 *   message the owner did not send, a body that is no report, another
 *   method) is the same `404 Not Found` and changes nothing in the shared
 *   state (every KV entry's version compared; every command Redis received);
 *   an oversized body is 413; repeated and out-of-order reports keep the final
 *   status; no request, however spelled, puts its capability in a log line;
 * - only the allowed addresses deliver (`DLR_CALLBACK_ALLOWED_IPS`, by default
 *   `HLR_CALLBACK_ALLOWED_IPS`), and the per-address limit of unauthenticated
 *   requests never drops a report;
 * - the shared state down: a report is answered 503 (VertexSMS, like the
 *   fake, posts it again), status and usage are refused, never empty;
 * - neither a destination, a cost, a message id nor a capability sits in
 *   clear in Deno KV's file or in any command Redis received.
 */
import assert from "node:assert/strict";
import { Logger } from "../core/log.ts";
import { redisState } from "../state/mod.ts";
import {
  type Backend,
  CLIENTS,
  type Connected,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  type Pair,
  rpc,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

const TOKEN = DEMO_TOKENS.full;
const TEXT = { from: "Shop", message: "Your parcel is on its way" };
/** The fake never reports on this number (`recordings/sms.json`): its status stays `sent`. */
const NO_REPORT = "+37060000100";

// deno-lint-ignore no-explicit-any
type Result = any;

async function send(c: Connected, to: string): Promise<string> {
  const result = await c.client.callTool({ name: "send_sms", arguments: { to, ...TEXT } });
  assert.notEqual(result.isError, true, result.content?.[0]?.text);
  return result.structuredContent.message_id;
}

async function statusOf(c: Connected, id: string): Promise<Result> {
  const result = await c.client.callTool({
    name: "get_sms_status",
    arguments: { messageIds: [id] },
  });
  return result.structuredContent.results[0];
}

/** The capability the fake was given with the `n`th send (of `token`). */
function capabilityOf(h: Harness | Pair, n: number, token: string = TOKEN): string {
  const sends = h.fake.requests.filter((r) => r.path === "/sms" && r.token === token);
  return String((sends[n]!.body as { dlrUrl: string }).dlrUrl).split("/").pop()!;
}

async function post(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { method: "POST", ...init });
  return {
    status: res.status,
    body: await res.text(),
    cors: res.headers.get("access-control-allow-origin"),
  };
}

const report = (id: string, status: number | string = 1, error: number | string = 0) =>
  JSON.stringify({ id, status, error, mcc: "246", mnc: "001" });

/**
 * Run `act` and return what it changed in the shared state: the KV entries
 * whose version changed (read through a connection of their own), or the
 * write commands Redis received.
 */
async function changes(pair: Pair, act: () => Promise<void>): Promise<string[]> {
  if (pair.redis) {
    const monitor = await pair.redis.monitor();
    await act();
    const seen = await monitor.stop();
    return seen.split("\n").filter((l) => /"(EVALSHA|EVAL|SET|DEL|INCR|INCRBY)"/i.test(l));
  }
  const kv = await Deno.openKv(pair.path);
  const dump = async () => {
    const out = new Map<string, string>();
    for await (const e of kv.list({ prefix: [] })) out.set(JSON.stringify(e.key), e.versionstamp);
    return out;
  };
  try {
    const before = await dump();
    await act();
    const after = await dump();
    return [...new Set([...before.keys(), ...after.keys()])]
      .filter((k) => before.get(k) !== after.get(k));
  } finally {
    kv.close();
  }
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`refused reports are one 404 that changes nothing (${backend}); 413; final statuses stay`, async () => {
    const pair = await startPair({}, (b) => ({ PUBLIC_URL: b.server.url }), backend);
    const a = await CLIENTS[1].connect(pair.a.mcpUrl, TOKEN);
    const other = await CLIENTS[0].connect(pair.a.mcpUrl, DEMO_TOKENS["sms:send"]);
    try {
      const mine = await send(a, NO_REPORT);
      const theirs = await send(other, NO_REPORT);
      const capA = capabilityOf(pair, 0);
      const capB = capabilityOf(pair, 0, DEMO_TOKENS["sms:send"]);
      const base = `${pair.b.server.url}/callbacks/dlr/`;
      const altered = capA.slice(0, 40) + (capA[40] === "x" ? "y" : "x") + capA.slice(41);
      const refused: [string, () => ReturnType<typeof post>][] = [
        [
          "a made-up capability",
          () => post(base + "A".repeat(capA.length), { body: report(mine) }),
        ],
        ["an altered capability", () => post(base + altered, { body: report(mine) })],
        ["a short capability", () => post(base + "abc", { body: report(mine) })],
        ["a message never sent", () => post(base + capA, { body: report("999") })],
        ["another token's message", () => post(base + capA, { body: report(theirs) })],
        ["the other token's capability", () => post(base + capB, { body: report(mine) })],
        ["a body that is OK", () => post(base + capA, { body: "OK" })],
        ["broken JSON", () => post(base + capA, { body: "{" })],
        ["a JSON array", () => post(base + capA, { body: `[${report(mine)}]` })],
        ["no status", () => post(base + capA, { body: JSON.stringify({ id: mine }) })],
        ["a word for an id", () => post(base + capA, { body: report("abc") })],
        ["an empty form field", () => post(base + capA, { body: "id=&status=1" })],
        ["no body at all", () => post(base + capA)],
        ...["GET", "PUT", "DELETE", "PATCH", "OPTIONS"].map((method) =>
          [`${method}`, () => post(base + capA, { method })] as [
            string,
            () => ReturnType<typeof post>,
          ]
        ),
      ];
      const answers: string[] = [];
      const changed = await changes(pair, async () => {
        for (const [what, request] of refused) {
          const answer = await request();
          assert.equal(answer.status, 404, what);
          assert.equal(answer.cors, null, `${what}: not readable cross-origin`);
          answers.push(answer.body);
        }
        const big = JSON.stringify({ id: mine, status: 1, pad: "x".repeat(17 * 1024) });
        assert.equal((await post(base + capA, { body: big })).status, 413);
        assert.equal(
          (await post(base + "A".repeat(capA.length), { body: big })).status,
          404,
          "the capability is checked before the body is read",
        );
      });
      assert.deepEqual(new Set(answers), new Set(["Not Found"]), "nothing tells them apart");
      assert.deepEqual(changed, [], "a refused report changes nothing");
      assert.equal((await statusOf(a, mine)).status, "sent");
      assert.equal((await statusOf(other, theirs)).status, "sent");

      // Accepted: once, then repeated, intermediate and contradicting reports keep "delivered".
      for (const body of [report(mine), report(mine), report(mine, "8"), report(mine, 2, 1)]) {
        assert.deepEqual((await post(base + capA, { body })).status, 200);
      }
      const final = await statusOf(a, mine);
      assert.deepEqual([final.status, final.error_code], ["delivered", 0]);
      // The same capability works on the instance VertexSMS was not given, too.
      const onA = `${pair.a.server.url}/callbacks/dlr/${capB}?id=${theirs}&status=2&error=1`;
      assert.deepEqual(await post(onA), { status: 200, body: "OK", cors: null });
      assert.equal((await statusOf(other, theirs)).status, "undelivered");
      assert.equal(pair.fake.count("POST /sms"), 2, "reports cause no sends");
    } finally {
      await a.close();
      await other.close();
      await pair.close();
    }
  });
}

Deno.test("no spelling of a report URL puts its capability in a log line", async () => {
  const h = startHarness();
  const c = await CLIENTS[1].connect(h.mcpUrl, TOKEN);
  try {
    await send(c, NO_REPORT);
    const cap = capabilityOf(h, 0);
    const base = h.server.url;
    const spellings = [
      `/callbacks/dlr/${cap}`,
      `//callbacks/dlr/${cap}`,
      `/callbacks//dlr/${cap}`,
      `/callbacks/dlr/${cap}/`,
      `/callbacks/dlr/${cap}/more`,
      `/CALLBACKS/DLR/${cap}`,
      `/callbacks/%64lr/${cap}`,
      `/callbacks/%2564lr/${cap}`,
      `/callbacks/dlr/${cap}?id=1&status=1`,
    ];
    for (const path of spellings) {
      for (const method of ["POST", "GET", "HEAD", "OPTIONS", "PUT"]) {
        const res = await fetch(base + path, {
          method,
          body: method === "POST" ? "{}" : undefined,
        });
        await res.body?.cancel();
        assert.equal(res.status, 404, `${method} ${path}`);
      }
    }
    const lines = h.logs.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l));
    assert.ok(lines.length >= spellings.length * 5);
    assert.ok(!h.logs.some((l) => l.includes(cap.slice(0, 30))), "the capability was logged");
    assert.ok(lines.some((l) => l.path === "/callbacks/dlr/:capability"));
  } finally {
    await c.close();
    await h.close(); // scans every line for the capability (and the fake's other secrets)
  }
});

Deno.test("only allowed addresses deliver: DLR_CALLBACK_ALLOWED_IPS, else HLR_CALLBACK_ALLOWED_IPS", async () => {
  const cases: { env: Record<string, string>; status: string; answered: number }[] = [
    { env: { DLR_CALLBACK_ALLOWED_IPS: "10.0.0.0/8" }, status: "sent", answered: 404 },
    { env: { HLR_CALLBACK_ALLOWED_IPS: "10.0.0.0/8" }, status: "sent", answered: 404 },
    {
      env: { HLR_CALLBACK_ALLOWED_IPS: "10.0.0.0/8", DLR_CALLBACK_ALLOWED_IPS: "127.0.0.1" },
      status: "delivered",
      answered: 200,
    },
  ];
  for (const { env, status, answered } of cases) {
    const h = startHarness({ env, fakeOptions: { reportDelayMs: 10 } });
    const c = await CLIENTS[1].connect(h.mcpUrl, TOKEN);
    try {
      const id = await send(c, "+37069912345");
      while (h.fake.reports.length === 0) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(h.fake.reports.map((r) => r.status), [answered], JSON.stringify(env));
      assert.equal((await statusOf(c, id)).status, status, JSON.stringify(env));
    } finally {
      await c.close();
      await h.close();
    }
  }
  // Behind a trusted proxy, the forwarded address is the one judged.
  const h = startHarness({
    env: { TRUST_PROXY: "true", DLR_CALLBACK_ALLOWED_IPS: "178.33.133.192/28,178.32.167.92" },
  });
  const c = await CLIENTS[1].connect(h.mcpUrl, TOKEN);
  try {
    const id = await send(c, NO_REPORT);
    const url = `${h.server.url}/callbacks/dlr/${capabilityOf(h, 0)}`;
    const from = (ip: string) =>
      post(url, { body: report(id), headers: { "X-Forwarded-For": ip } });
    assert.equal((await from("203.0.113.9")).status, 404);
    assert.equal((await from("178.33.133.200")).status, 200);
    assert.equal((await statusOf(c, id)).status, "delivered");
  } finally {
    await c.close();
    await h.close();
  }
});

Deno.test("reports are not subject to the per-address limit of unauthenticated requests", async () => {
  const h = startHarness({ env: { UNAUTH_RATE_LIMIT_PER_MINUTE: "2" } });
  const c = await CLIENTS[1].connect(h.mcpUrl, TOKEN);
  try {
    const id = await send(c, NO_REPORT);
    const url = `${h.server.url}/callbacks/dlr/${capabilityOf(h, 0)}`;
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => post(url, { body: report(id) }).then((a) => a.status)),
    );
    assert.deepEqual(new Set(answers), new Set([200]));
    const noToken = [];
    for (let i = 0; i < 3; i++) {
      const res = await rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" });
      await res.body?.cancel();
      noToken.push(res.status);
    }
    assert.deepEqual(noToken, [401, 401, 429], "the limit itself holds where it applies");
  } finally {
    await c.close();
    await h.close();
  }
});

redisTest(
  "Redis down: a report is answered 503 (and posted again); status and usage are refused",
  async () => {
    const redis = await startRedis();
    const state = await redisState({
      url: redis.url,
      pollMs: 100,
      logger: new Logger("error", () => {}),
    });
    const h = startHarness({ state, fakeOptions: { reportDelayMs: 300 } });
    const c = await CLIENTS[0].connect(h.mcpUrl, TOKEN);
    try {
      const waiting = await send(c, NO_REPORT);
      const reported = await send(c, "+37069912345");
      await redis.stop();
      const url = `${h.server.url}/callbacks/dlr/${capabilityOf(h, 0)}`;
      const res = await fetch(url, { method: "POST", body: report(waiting) });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      await res.body?.cancel();
      for (
        const [name, args] of [["get_sms_status", { messageIds: [reported] }], [
          "get_sms_usage",
          {},
        ]] as const
      ) {
        const error = envelopeOf(await c.client.callTool({ name, arguments: args }));
        assert.equal(error.code, "UPSTREAM_UNAVAILABLE", name);
        assert.equal(error.retryable, true);
        assert.match(String(error.message), /shared state \(Redis\) cannot be reached/);
        assert.doesNotMatch(
          String(error.message),
          /nothing was sent/i,
          "a read sent nothing anyway",
        );
      }
      // The fake, like VertexSMS, posts a report again while it is answered 5xx.
      while (h.fake.reports.length < 3) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(h.fake.reports.map((r) => r.status), [503, 503, 503]);
      assert.equal(h.fake.count("POST /sms"), 2);
    } finally {
      await c.close();
      await h.close();
      await state.close();
      await redis.close();
    }
  },
);

/** Everything the shared state holds (KV) or was told (Redis), and the ledger's part of it. */
async function stateText(pair: Pair, act: () => Promise<void>) {
  if (pair.redis) {
    const monitor = await pair.redis.monitor();
    await act();
    const all = await monitor.stop();
    return { all, ledger: all.split("\n").filter((l) => l.includes("ledger")).join("\n") };
  }
  await act();
  const kv = await Deno.openKv(pair.path);
  const parts: string[] = [];
  const fields = new Set<string>();
  try {
    for await (const e of kv.list<Record<string, unknown>>({ prefix: ["ledger"] })) {
      parts.push(JSON.stringify(e.key), JSON.stringify(e.value));
      for (const f of Object.keys(e.value)) fields.add(f);
    }
  } finally {
    kv.close();
  }
  assert.deepEqual([...fields].sort(), ["box", "exp", "m", "n", "seq"], "nothing else in clear");
  let all = "";
  for (const suffix of ["", "-wal", "-shm"]) {
    all += await Deno.readFile(pair.path + suffix).then(
      (b) => new TextDecoder("latin1").decode(b),
      () => "",
    );
  }
  return { all, ledger: parts.join("\n") };
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`no destination, cost, message id or capability in clear in the shared state (${backend})`, async () => {
    const pair = await startPair(
      { SMS_DAILY_SPEND_CAP_EUR: "5" },
      (b) => ({ PUBLIC_URL: b.server.url }),
      backend as Backend,
    );
    // An odd price, so a cost in clear would show: €0.0731 per part.
    pair.fake.setRates(TOKEN, [{ CountryName: "Lithuania", CountryCode: "LT", Rate: "0.0731" }]);
    const c = await CLIENTS[1].connect(pair.a.mcpUrl, TOKEN);
    const ids: string[] = [];
    try {
      const { all, ledger } = await stateText(pair, async () => {
        for (const to of ["+37069912345", "+37060000102"]) ids.push(await send(c, to));
        for (const id of ids) {
          while ((await statusOf(c, id)).status === "sent") {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      });
      assert.ok(ledger.length > 0, "the ledger was written");
      const usage = await c.client.callTool({ name: "get_sms_usage", arguments: {} });
      assert.equal(usage.structuredContent.recent[0].cost_eur, "0.0731");
      const capabilities = [0, 1].map((n) => capabilityOf(pair, n));
      for (const secret of ["37069912345", "37060000102", ...capabilities]) {
        assert.ok(!all.includes(secret), `${secret.slice(0, 12)}… in clear in ${backend}`);
      }
      for (const secret of ["73100", "0.0731", ...ids]) {
        assert.ok(!ledger.includes(secret), `${secret} in clear in the ledger (${backend})`);
      }
    } finally {
      await c.close();
      await pair.close();
    }
  });
}

Deno.test("a report soon after the send finds its message: a batch records each as it is accepted", async () => {
  // The fake reports 25 ms after accepting each message, well before a batch of 40 (8 waves of 5)
  // is done: each message must be in the ledger by then, not only once the batch ends.
  const h = startHarness({
    env: { SMS_SENDS_PER_MINUTE: "0", SMS_RECIPIENTS_PER_HOUR: "0" },
    fakeOptions: { reportDelayMs: 25 },
  });
  const c = await CLIENTS[1].connect(h.mcpUrl, TOKEN);
  try {
    const to = Array.from({ length: 40 }, (_, i) => `+370699123${String(i).padStart(2, "0")}`);
    const batch = await c.client.callTool({ name: "send_sms_batch", arguments: { to, ...TEXT } });
    assert.notEqual(batch.isError, true, batch.content?.[0]?.text);
    while (h.fake.reports.length < 40) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(h.fake.reports.map((r) => r.status), Array(40).fill(200), "no report refused");
    const ids = batch.structuredContent.results.map((r: Result) => r.message_id);
    const statuses = await c.client.callTool({
      name: "get_sms_status",
      arguments: { messageIds: ids },
    });
    assert.deepEqual(
      statuses.structuredContent.results.map((r: Result) => r.status),
      Array(40).fill("delivered"),
    );
    assert.equal(h.fake.count("POST /sms"), 40);
  } finally {
    await c.close();
    await h.close();
  }
});
