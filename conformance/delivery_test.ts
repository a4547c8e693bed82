/**
 * The life of a message end to end, through both client SDKs: `send_sms`
 * carries a `dlrUrl`, the fake VertexSMS posts delivery reports to it (JSON,
 * form-encoded, query parameters; delivered, undelivered, expired, none), and
 * `get_sms_status` / `get_sms_usage` show what happened — in one process, and
 * on two instances sharing one Deno KV file or one Redis server, with every
 * report landing on the other instance. Upstream `POST /sms` counts stay
 * exact: a report never causes a send. Then the usage figures under a spend
 * cap, test mode's simulated outcomes, and the ledger switched off.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  type Connected,
  DEMO_TOKENS,
  type Harness,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";

const TOKEN = DEMO_TOKENS.full;
const TEXT = { from: "Shop", message: "Your parcel is on its way" };

/** The fake's magic numbers (`testing/fake/recordings/sms.json`) and what each reports. */
const OUTCOMES = [
  { to: "+37069912345", status: "delivered", code: 0, how: "JSON" },
  { to: "+37060000102", status: "undelivered", code: 1, how: "JSON" },
  { to: "+37060000116", status: "expired", code: 2, how: "JSON" },
  { to: "+37060000101", status: "delivered", code: 0, how: "form-encoded" },
  { to: "+37060000103", status: "delivered", code: 0, how: "query parameters" },
  { to: "+37060000100", status: "sent", code: null, how: "no report" },
] as const;

// deno-lint-ignore no-explicit-any
type Result = any;

async function call(c: Connected, name: string, args: Record<string, unknown>): Promise<Result> {
  const result = await c.client.callTool({ name, arguments: args });
  assert.notEqual(result.isError, true, `${name}: ${result.content?.[0]?.text}`);
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
  return result.structuredContent;
}

/** `get_sms_status` until every id has left `sent`, but for `keep` of them (at most 10 s). */
async function settled(c: Connected, ids: string[], keep = 0): Promise<Result[]> {
  const until = Date.now() + 10_000;
  for (;;) {
    const { results } = await call(c, "get_sms_status", { messageIds: ids });
    const open = results.filter((r: { status: string }) => r.status === "sent").length;
    if (open <= keep || Date.now() > until) return results;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The `dlrUrl` of every `POST /sms` the fake received. */
const dlrUrls = (h: Harness) =>
  h.fake.requests.filter((r) => r.path === "/sms").map((r) =>
    (r.body as { dlrUrl?: string }).dlrUrl
  );

/** Send every outcome on `sender`, watch it on `watcher`; reports go to `reportsTo`. */
async function lifeOfMessages(sender: Connected, watcher: Connected, reportsTo: Harness) {
  const ids: string[] = [];
  for (const { to } of OUTCOMES) {
    const sent = await call(sender, "send_sms", { to, ...TEXT });
    assert.equal(sent.status, "sent");
    ids.push(sent.message_id);
  }
  const results = await settled(watcher, ids, 1);
  for (const [i, outcome] of OUTCOMES.entries()) {
    const r = results[i];
    const label = `${outcome.to} (${outcome.how})`;
    assert.equal(r.message_id, ids[i], label);
    assert.equal(r.status, outcome.status, label);
    assert.equal(r.error_code, outcome.code, label);
    assert.equal(r.destination, outcome.to, label);
    assert.equal(r.parts, 1);
    assert.equal(r.batch_id, null);
    assert.match(r.sent_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  assert.equal(results[1].error_meaning, "illegal subscriber (MSC error)");
  assert.equal(results[2].error_meaning, "not delivered: validity period expired");
  assert.equal(results[5].error_meaning, null, "no report yet");

  const usage = await call(watcher, "get_sms_usage", { recent: 3 });
  assert.deepEqual(usage.delivery, { delivered: 3, undelivered: 1, expired: 1, pending: 1 });
  assert.equal(usage.today.sends, OUTCOMES.length);
  assert.equal(usage.today.parts, OUTCOMES.length);
  assert.deepEqual(usage.recent.map((r: { message_id: string }) => r.message_id), [
    ids[5],
    ids[4],
    ids[3],
  ]);
  assert.equal(usage.delivery_reports, "enabled");

  // Every report reached the instance VertexSMS was given, once, and was answered 200 OK.
  assert.equal(reportsTo.fake.reports.length, 5);
  for (const report of reportsTo.fake.reports) {
    assert.ok(report.url.startsWith(`${reportsTo.server.url}/callbacks/dlr/`), report.url);
    assert.equal(report.status, 200);
  }
  const delivered = reportsTo.logs.map((l) => JSON.parse(l)).filter((l) =>
    l.path === "/callbacks/dlr/:capability"
  );
  assert.deepEqual(delivered.map((l) => l.status), [200, 200, 200, 200, 200]);
  return ids;
}

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: statuses arrive by delivery report, in one process`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, TOKEN);
    try {
      await lifeOfMessages(c, c, h);
      assert.equal(h.fake.count("POST /sms"), OUTCOMES.length, "reports cause no sends");
      const urls = dlrUrls(h);
      assert.equal(urls.length, OUTCOMES.length);
      for (const url of urls) assert.match(url!, /\/callbacks\/dlr\/[\w-]{90,120}$/);
    } finally {
      await c.close();
      await h.close();
    }
  });

  for (const { backend, test } of SHARED_BACKENDS) {
    test(`${era}: statuses arrive on two instances sharing ${backend}; each report lands on the other one`, async () => {
      // VertexSMS is given B's URL (A's PUBLIC_URL points there); the client talks to A.
      const { fake, a, b, close } = await startPair(
        {},
        (b) => ({ PUBLIC_URL: b.server.url }),
        backend,
      );
      const onA = await connect(a.mcpUrl, TOKEN);
      const onB = await connect(b.mcpUrl, TOKEN);
      try {
        await lifeOfMessages(onA, onA, b);
        assert.ok(!a.logs.some((l) => l.includes("/callbacks/dlr/")), "no report reached A");
        // B reads what A recorded and B's reports updated.
        const usage = await call(onB, "get_sms_usage", { recent: 0 });
        assert.deepEqual(usage.delivery, { delivered: 3, undelivered: 1, expired: 1, pending: 1 });
        assert.equal(fake.count("POST /sms"), OUTCOMES.length, "reports cause no sends");
      } finally {
        await onA.close();
        await onB.close();
        await close();
      }
    });
  }

  Deno.test(`${era}: get_sms_usage without a spend cap: the estimates the sends were priced at`, async () => {
    const h = startHarness();
    const c = await connect(h.mcpUrl, TOKEN);
    try {
      const one = await call(c, "send_sms", { to: "+37069912345", ...TEXT });
      const batch = await call(c, "send_sms_batch", {
        to: ["+37069912346", "+37069912347"],
        ...TEXT,
      });
      const usage = await call(c, "get_sms_usage", {});
      // €0.050 per part at the highest LT rate: a batch of two, one part each, is priced (for its
      // result); a single send without a cap is not (no rates read for it).
      assert.equal(batch.estimated_cost_eur, "0.10");
      assert.deepEqual(
        [usage.today.sends, usage.today.spent_eur, usage.today.cap_eur, usage.today.remaining_eur],
        [3, "0.10", null, null],
      );
      assert.deepEqual(usage.recent.map((r: Result) => r.cost_eur), ["0.05", "0.05", null]);
      assert.equal(usage.recent[2].message_id, one.message_id);
      assert.equal(h.fake.count("POST /sms"), 3);
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: get_sms_usage under a spend cap: the cap's own count, its window, the limits`, async () => {
    const h = startHarness({ env: { SMS_DAILY_SPEND_CAP_EUR: "1", SMS_SENDS_PER_MINUTE: "5" } });
    const c = await connect(h.mcpUrl, TOKEN);
    try {
      const empty = await call(c, "get_sms_usage", {});
      assert.deepEqual(empty.today, {
        date: new Date().toISOString().slice(0, 10),
        sends: 0,
        parts: 0,
        spent_eur: "0.00",
        cap_eur: "1.00",
        remaining_eur: "1.00",
      });
      assert.deepEqual(empty.recent, []);
      const one = await call(c, "send_sms", { to: "+37069912345", ...TEXT });
      // Two parts (X-VertexSMS-Amount-Sent: 2) at the highest LT rate, €0.050.
      const two = await call(c, "send_sms", { to: "+37069555555", ...TEXT });
      const usage = await call(c, "get_sms_usage", {});
      assert.equal(usage.test_mode, false);
      assert.deepEqual(usage.today, {
        date: new Date().toISOString().slice(0, 10),
        sends: 2,
        parts: 3,
        spent_eur: "0.15",
        cap_eur: "1.00",
        remaining_eur: "0.85",
      });
      assert.deepEqual(
        usage.recent.map((r: Result) => [r.message_id, r.destination, r.parts, r.cost_eur]),
        [[two.message_id, "+37069555555", 2, "0.10"], [one.message_id, "+37069912345", 1, "0.05"]],
      );
      const limits = Object.fromEntries(usage.limits.map((l: Result) => [l.name, l]));
      assert.deepEqual(Object.keys(limits).sort(), [
        "PIN_TEXTS_PER_HOUR",
        "SMS_DAILY_SPEND_CAP_EUR",
        "SMS_RECIPIENTS_PER_HOUR",
        "SMS_SENDS_PER_MINUTE",
      ]);
      assert.deepEqual(
        [limits.SMS_SENDS_PER_MINUTE.limit, limits.SMS_SENDS_PER_MINUTE.used],
        [5, 2],
      );
      assert.ok(limits.SMS_SENDS_PER_MINUTE.resets_in_seconds > 0);
      assert.ok(limits.SMS_SENDS_PER_MINUTE.resets_in_seconds <= 60);
      assert.deepEqual(
        [limits.SMS_DAILY_SPEND_CAP_EUR.limit, limits.SMS_DAILY_SPEND_CAP_EUR.used],
        [1, 0.15],
      );
      assert.deepEqual(
        [limits.PIN_TEXTS_PER_HOUR.used, limits.PIN_TEXTS_PER_HOUR.resets_in_seconds],
        [0, 0],
        "no window open",
      );
      assert.equal(h.fake.count("POST /sms"), 2, "reading usage sends nothing");
    } finally {
      await c.close();
      await h.close();
    }
  });
}

for (
  const [mode, wire, status] of [
    ["delivered", "1", "delivered"],
    ["failed", "2", "undelivered"],
  ] as const
) {
  Deno.test(`SMS_TEST_MODE=${mode}: testMode "${wire}" is reported ${status}, whatever the number`, async () => {
    const h = startHarness({ env: { SMS_TEST_MODE: mode } });
    const c = await CLIENTS[1].connect(h.mcpUrl, TOKEN);
    try {
      // +37060000102 is reported undelivered when sent for real.
      const ids = [];
      for (const to of ["+37069912345", "+37060000102"]) {
        ids.push((await call(c, "send_sms", { to, ...TEXT })).message_id);
      }
      const results = await settled(c, ids);
      assert.deepEqual(results.map((r) => r.status), [status, status]);
      const sends = h.fake.requests.filter((r) => r.path === "/sms");
      assert.deepEqual(sends.map((r) => r.testMode), [wire, wire]);
      assert.equal((await call(c, "get_sms_usage", {})).test_mode, true);
    } finally {
      await c.close();
      await h.close();
    }
  });
}

Deno.test("SMS_LEDGER_DAYS=0: no dlrUrl, no ledger, reports unavailable; sends as before", async () => {
  const h = startHarness({ env: { SMS_LEDGER_DAYS: "0" } });
  const c = await CLIENTS[0].connect(h.mcpUrl, TOKEN);
  try {
    const sent = await call(c, "send_sms", { to: "+37069912345", ...TEXT });
    assert.deepEqual(dlrUrls(h), [undefined]);
    const status = await call(c, "get_sms_status", { messageIds: [sent.message_id] });
    assert.equal(status.delivery_reports, "unavailable");
    assert.equal(status.results[0].status, "unknown");
    const usage = await call(c, "get_sms_usage", {});
    assert.equal(usage.delivery_reports, "unavailable");
    assert.deepEqual(usage.recent, []);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.fake.reports.length, 0, "no report was asked for");
    assert.equal(h.fake.count("POST /sms"), 1);
  } finally {
    await c.close();
    await h.close();
  }
});
