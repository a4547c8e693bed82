/**
 * `send_sms_batch` end to end, through both client SDKs: every rule of one
 * decision for many recipients is proven by counting the `POST /sms` requests
 * the fake VertexSMS received — bad recipients and an unpriceable destination
 * under a spend cap (nothing sent), per-recipient results in input order, a
 * refused or ambiguous recipient among sent ones, replays under one key,
 * the spend cap and the throttles counting every recipient (refused whole),
 * at most 5 sends in flight, an upstream 401 stopping the batch (HTTP 401,
 * a retry sending only the rest), one in-band question in both eras, test
 * mode, and concurrent duplicates on two instances sharing Deno KV or Redis.
 * The approval link and the review card are in `approval_test.ts`.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  type Connected,
  connectV1,
  connectV2,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  httpStatusOf,
  SHARED_BACKENDS,
  startHarness,
  startPair,
} from "../testing/harness.ts";

const TOKEN = DEMO_TOKENS.full;
const TEXT = { from: "VertexSMS", message: "The office is closed today." };
const sends = (h: { fake: Harness["fake"] }) => h.fake.count("POST /sms");

/** `n` different Lithuanian mobile numbers (none of them a magic number of the fake). */
export function numbers(n: number, base = 0): string[] {
  return Array.from({ length: n }, (_, i) => `+370695${String(base + i).padStart(5, "0")}`);
}

/** The `to` of each `POST /sms` the fake answered with `status` (any status when omitted). */
function sentTo(h: { fake: Harness["fake"] }, status?: number): string[] {
  return h.fake.requests
    .filter((r) => r.method === "POST" && r.path === "/sms")
    .filter((r) => status === undefined || r.status === status)
    .map((r) => `+${(r.body as { to: string }).to}`);
}

// deno-lint-ignore no-explicit-any
type Result = any;

/** A connected client's `send_sms_batch`. */
const batch = (c: Connected, args: Record<string, unknown>): Promise<Result> =>
  c.client.callTool({ name: "send_sms_batch", arguments: { ...TEXT, ...args } });

/** Run `body` with a harness and a client of one era, closing both. */
async function withClient(
  connect: (typeof CLIENTS)[number]["connect"],
  env: Record<string, string>,
  body: (h: Harness, c: Connected) => Promise<void>,
) {
  const h = startHarness({ env });
  const c = await connect(h.mcpUrl, TOKEN);
  try {
    await body(h, c);
  } finally {
    await c.close();
    await h.close();
  }
}

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: duplicates, more than 100, bad numbers: INVALID_INPUT naming to.<index>, nothing sent`, async () => {
    await withClient(connect, {}, async (h, c) => {
      const [a, b] = numbers(2);
      const cases: [unknown, { path: string; message: RegExp }[]][] = [
        [[a, b, a], [{ path: "to.2", message: /repeats to\.0/ }]],
        [numbers(101), [{ path: "to", message: /at most 100/ }]],
        [[], [{ path: "to", message: /at least one/ }]],
        [[a, "37069912345", b, "+0123456789"], [
          { path: "to.1", message: /E\.164/ },
          { path: "to.3", message: /E\.164/ },
        ]],
      ];
      for (const [to, expected] of cases) {
        const error = envelopeOf(await batch(c, { to }));
        assert.equal(error.code, "INVALID_INPUT");
        const details = error.details as { path: string; message: string }[];
        assert.deepEqual(details.map((d) => d.path), expected.map((e) => e.path));
        expected.forEach((e, i) => assert.match(details[i]!.message, e.message));
      }
      assert.equal(sends(h), 0);
    });
  });

  Deno.test(`${era}: a batch sends once per recipient, results in input order; a refused recipient does not stop the others`, async () => {
    await withClient(connect, {}, async (h, c) => {
      const to = [...numbers(3), "+37060000021", "+37069555555", ...numbers(2, 3)];
      const result = await batch(c, { to });
      assert.notEqual(result.isError, true, result.content?.[0]?.text);
      const out = result.structuredContent;
      assert.deepEqual(JSON.parse(result.content[0].text), out);
      assert.equal(sends(h), to.length, "one POST /sms per recipient");
      assert.deepEqual(sentTo(h).toSorted(), to.toSorted());
      assert.deepEqual(out.results.map((r: Result) => r.to), to, "input order");
      assert.deepEqual(
        out.results.map((r: Result) => r.status),
        ["sent", "sent", "sent", "failed", "sent", "sent", "sent"],
      );
      const refused = out.results[3];
      assert.equal(refused.message_id, null);
      assert.equal(refused.error.code, "VERTEX_SEND_FAILED");
      assert.equal(refused.error.outcome_unknown, false);
      assert.match(refused.error.message, /blacklisted/);
      assert.equal(out.results[4].parts, 2, "the parts VertexSMS reported billing");
      const ids = out.results.filter((r: Result) => r.message_id).map((r: Result) => r.message_id);
      assert.equal(new Set(ids).size, 6);
      assert.equal(out.status, "partial");
      assert.deepEqual([out.count, out.sent, out.failed, out.parts_total], [7, 6, 1, 7]);
      assert.equal(out.estimated_cost_eur, "0.35", "7 parts sent at the LT rate of €0.050");
      assert.match(out.batch_id, /^[A-Za-z0-9_-]{16}$/);
      const dlrUrls = new Set<string>();
      for (const r of h.fake.requests.filter((r) => r.path === "/sms")) {
        const body = r.body as { dlrUrl: string };
        assert.deepEqual(Object.keys(body).toSorted(), ["dlrUrl", "from", "message", "to"]);
        dlrUrls.add(body.dlrUrl);
      }
      assert.equal(dlrUrls.size, 1, "every send carries the token's delivery-report URL");
      assert.ok([...dlrUrls][0]!.startsWith(`${h.server.url}/callbacks/dlr/`));
    });
  });

  Deno.test(`${era}: the same key replays the recorded results: N sends in all, never a recipient twice`, async () => {
    await withClient(connect, {}, async (h, c) => {
      const to = [...numbers(4), "+37060000021"];
      const args = { to, idempotencyKey: `closed-${era}` };
      const first = await batch(c, args);
      const again = await batch(c, args);
      assert.deepEqual(again.structuredContent, first.structuredContent);
      assert.equal(sends(h), 5);
      const reordered = envelopeOf(await batch(c, { ...args, to: to.toReversed() }));
      assert.equal(reordered.code, "INVALID_INPUT", "another order is another batch");
      assert.match(String(reordered.message), /already used .* different call/);
      // Only the refused recipient goes again, with a new key.
      const retry = await batch(c, { to: ["+37060000021"], idempotencyKey: `retry-${era}` });
      assert.equal(retry.structuredContent.failed, 1);
      assert.equal(sends(h), 6);
    });
  });

  Deno.test(`${era}: an ambiguous failure is that recipient's unknown outcome; a retry under the key sends nothing`, async () => {
    await withClient(connect, { UPSTREAM_TIMEOUT_MS: "200" }, async (h, c) => {
      const to = numbers(3);
      h.fake.inject({ route: "POST /sms", kind: "status", status: 502, after: 1, times: 1 });
      const args = { to, idempotencyKey: `ambiguous-${era}` };
      const first = (await batch(c, args)).structuredContent;
      assert.equal(first.status, "partial");
      const unknown = first.results.filter((r: Result) => r.status === "failed");
      assert.equal(unknown.length, 1);
      assert.equal(unknown[0].error.code, "UPSTREAM_UNAVAILABLE");
      assert.equal(unknown[0].error.outcome_unknown, true);
      assert.equal(sends(h), 3);
      assert.deepEqual((await batch(c, args)).structuredContent, first);
      assert.equal(sends(h), 3, "the unknown one is not sent again");
    });
  });

  Deno.test(`${era}: a dry run quotes per country and in all, sends nothing; its token covers exactly this batch once`, async () => {
    await withClient(connect, {}, async (h, c) => {
      const to = [...numbers(2), "+4915112345678", "+37069555555"];
      const quote = (await batch(c, { to, message: "ą".repeat(71), dryRun: true }))
        .structuredContent;
      assert.deepEqual(
        { ...quote, confirmation_token: "…" },
        {
          dry_run: true,
          count: 4,
          parts_per_message: 2,
          encoding: "UCS-2",
          countries: [
            { country: "LT", recipients: 3, rate_eur: "0.050", cost_eur: "0.30" },
            { country: "DE", recipients: 1, rate_eur: "0.1894", cost_eur: "0.3788" },
          ],
          estimated_cost_eur: "0.6788",
          confirmation_token: "…",
          confirmation_expires_in_seconds: 600,
        },
      );
      assert.equal(sends(h), 0);
      const token = quote.confirmation_token;
      const args = { to, message: "ą".repeat(71), confirmationToken: token };
      const other = envelopeOf(await batch(c, { ...args, to: to.slice(1) }));
      assert.match(String(other.message), /other arguments/);
      const single = await c.client.callTool({
        name: "send_sms",
        arguments: { ...TEXT, to: to[0], message: "ą".repeat(71), confirmationToken: token },
      });
      assert.match(String(envelopeOf(single).message), /other arguments/, "not for send_sms");
      assert.equal(sends(h), 0);
      assert.equal((await batch(c, args)).structuredContent.sent, 4);
      assert.match(String(envelopeOf(await batch(c, args)).message), /already used/);
      assert.equal(sends(h), 4);
    });
  });

  Deno.test(`${era}: the spend cap is reserved for the whole batch: one that does not fit sends nothing`, async () => {
    await withClient(connect, { SMS_DAILY_SPEND_CAP_EUR: "0.20" }, async (h, c) => {
      const over = envelopeOf(await batch(c, { to: numbers(5) }));
      assert.equal(over.code, "RATE_LIMITED");
      assert.equal(over.retryable, false, "€0.25 can never fit a €0.20 cap");
      assert.match(String(over.message), /This batch of 5 SMS alone is estimated at €0.25/);
      assert.equal(sends(h), 0);
      assert.equal((await batch(c, { to: numbers(3) })).structuredContent.sent, 3);
      const rest = envelopeOf(await batch(c, { to: numbers(2, 10) }));
      assert.equal(rest.code, "RATE_LIMITED");
      assert.match(String(rest.message), /€0.25, over the cap of €0.20/);
      assert.ok(Number(rest.retry_after_seconds) > 86_000);
      assert.equal(sends(h), 3);
      // A refused recipient gives its share back: one more fits.
      const refused = await batch(c, { to: ["+37060000021"] });
      assert.equal(refused.structuredContent.status, "not_sent");
      assert.equal((await batch(c, { to: numbers(1, 20) })).structuredContent.sent, 1);
      assert.equal(sends(h), 5);
    });
  });

  Deno.test(`${era}: an unpriceable destination under a spend cap: INVALID_INPUT naming to.<index>, nothing sent`, async () => {
    const h = startHarness({ env: { SMS_DAILY_SPEND_CAP_EUR: "5" } });
    const token = `lt-only-${era}-${crypto.randomUUID()}`;
    h.fake.addToken(token, ["sms:send", "sms:rates"]);
    h.fake.setRates(token, [{ CountryCode: "LT", CountryName: "Lithuania", Rate: "0.05" }]);
    const c = await connect(h.mcpUrl, token);
    try {
      const to = [numbers(1)[0], "+4915112345678", numbers(1, 1)[0], "+12025550123"];
      const error = envelopeOf(await batch(c, { to }));
      assert.equal(error.code, "INVALID_INPUT");
      assert.deepEqual(error.details, [
        { path: "to.1", message: "no rate for this destination in the price list" },
        { path: "to.3", message: "no rate for this destination in the price list" },
      ]);
      assert.equal(sends(h), 0);
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: the throttles count every recipient; a batch over them is refused whole`, async () => {
    await withClient(
      connect,
      { SMS_SENDS_PER_MINUTE: "4", SMS_RECIPIENTS_PER_HOUR: "6" },
      async (h, c) => {
        const alone = envelopeOf(await batch(c, { to: numbers(5) }));
        assert.equal(alone.code, "RATE_LIMITED");
        assert.equal(alone.retryable, false);
        assert.match(String(alone.message), /split it into smaller batches/);
        assert.equal(sends(h), 0);
        assert.equal((await batch(c, { to: numbers(3) })).structuredContent.sent, 3);
        const minute = envelopeOf(await batch(c, { to: numbers(2, 3) }));
        assert.match(String(minute.message), /already sent 3 SMS .* would add 2, over the limit/);
        assert.equal(minute.retryable, true);
        assert.equal(sends(h), 3);
        // One more recipient fits the minute; the hour's distinct recipients count the same
        // numbers once: 3 known + 1 new.
        assert.equal((await batch(c, { to: numbers(1, 3) })).structuredContent.sent, 1);
        assert.equal(sends(h), 4);
      },
    );
  });

  Deno.test(`${era}: at most 5 sends in flight`, async () => {
    await withClient(connect, {}, async (h, c) => {
      h.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 60 });
      const out = (await batch(c, { to: numbers(17) })).structuredContent;
      assert.equal(out.sent, 17);
      assert.equal(sends(h), 17);
      assert.equal(h.fake.peakConcurrency("POST /sms"), 5, "5 at once, never more");
    });
  });

  Deno.test(`${era}: an upstream 401 stops the batch and becomes HTTP 401; a retry with the key sends only the rest`, async () => {
    const h = startHarness();
    const token = `stops-${era}-${crypto.randomUUID()}`;
    h.fake.addToken(token, ["sms:send", "sms:rates"]);
    const c = await connect(h.mcpUrl, token);
    try {
      const to = numbers(12);
      const args = { to, idempotencyKey: `stop-${era}` };
      // VertexSMS rejects the token from its 4th send on (revoked mid-batch), while the first 3
      // are still on their way: the 401 is known before any slot frees up.
      h.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 200, times: 3 });
      h.fake.inject({
        route: "POST /sms",
        kind: "status",
        status: 401,
        body: { message: "Authentication failed: invalid or missing token." },
      });
      await assert.rejects(() => batch(c, args), (e) => httpStatusOf(e) === 401);
      const first = sentTo(h, 200);
      assert.equal(first.length, 3, "the 3 sends before the rejection went out");
      assert.equal(sends(h), 5, "then no new send: only the 2 already in flight");

      h.fake.clearFaults(); // the user re-authenticated: the same token works again
      const out = (await batch(c, args)).structuredContent;
      assert.equal(out.sent, 12);
      assert.deepEqual(out.results.map((r: Result) => r.to), to);
      assert.equal(sentTo(h, 200).length, 12, "12 SMS in all, one per recipient");
      assert.deepEqual(sentTo(h, 200).toSorted(), to.toSorted());
      assert.equal(sends(h), 5 + 9, "the retry sent the 9 others");
      assert.deepEqual((await batch(c, args)).structuredContent, out, "then replays");
      assert.equal(sends(h), 14);
    } finally {
      await c.close();
      await h.close();
    }
  });

  Deno.test(`${era}: test mode: every send carries testMode and the result says simulated`, async () => {
    await withClient(connect, { SMS_TEST_MODE: "delivered" }, async (h, c) => {
      const out = (await batch(c, { to: numbers(3) })).structuredContent;
      assert.equal(out.simulated, true);
      assert.equal(out.sent, 3);
      assert.deepEqual(h.fake.requests.filter((r) => r.path === "/sms").map((r) => r.testMode), [
        "1",
        "1",
        "1",
      ]);
    });
  });
}

Deno.test("a scheduled batch is scheduled, per recipient too", async () => {
  await withClient(connectV2, {}, async (h, c) => {
    const scheduled = "2026-12-01T09:00:00+02:00";
    const out = (await batch(c, { to: numbers(2), scheduled })).structuredContent;
    assert.equal(out.status, "scheduled");
    assert.deepEqual(out.results.map((r: Result) => r.status), ["scheduled", "scheduled"]);
    const bodies = h.fake.requests.filter((r) => r.path === "/sms").map((r) => r.body);
    assert.deepEqual(bodies.map((b) => (b as { scheduled?: string }).scheduled), [
      scheduled,
      scheduled,
    ]);
  });
});

/** A client of `connect` answering every question with `action`, recording them. */
async function asking(
  h: Harness,
  connect: (typeof CLIENTS)[number]["connect"],
  action: "accept" | "decline" | "cancel",
) {
  const asked: string[] = [];
  const c = await connect(h.mcpUrl, TOKEN, {
    elicitation: ({ message }) => (asked.push(message), { action }),
  });
  return { c, asked };
}

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: one in-band question for the whole batch: accept sends N, decline and cancel none`, async () => {
    const h = startHarness({ env: { SMS_CONFIRMATION: "require" } });
    try {
      const to = [...numbers(3), "+4915112345678"];
      const outcomes = [];
      for (const action of ["decline", "cancel", "accept"] as const) {
        const { c, asked } = await asking(h, connect, action);
        try {
          const out = (await batch(c, { to, idempotencyKey: `ask-${era}-${action}` }))
            .structuredContent;
          assert.equal(asked.length, 1, `${action}: asked once for ${to.length} recipients`);
          for (
            const shown of [
              "to 4 recipients",
              "Countries: LT 3 (about €0.15), DE 1 (about €0.1894)",
              to.join(", "),
              `Text: "${TEXT.message}"`,
              "Parts: 1 per message (GSM-7), 4 in all",
              "Estimated cost: about €0.3394 in all",
            ]
          ) {
            assert.ok(asked[0]!.includes(shown), `the question shows ${shown}: ${asked[0]}`);
          }
          outcomes.push(out.status === "not_sent" ? `not_sent:${out.reason}` : `${out.sent}`);
        } finally {
          await c.close();
        }
      }
      assert.deepEqual(outcomes, ["not_sent:declined", "not_sent:cancelled", "4"]);
      assert.equal(sends(h), 4);
    } finally {
      await h.close();
    }
  });
}

for (const { backend, test } of SHARED_BACKENDS) {
  test(`concurrent duplicates of a batch on two instances sharing ${backend}: one SMS per recipient`, async () => {
    const pair = await startPair({}, undefined, backend);
    const ca = await connectV2(pair.a.mcpUrl, TOKEN);
    const cb = await connectV1(pair.b.mcpUrl, TOKEN);
    try {
      pair.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 100 });
      const to = numbers(8);
      const args = { to, idempotencyKey: "two-instances-batch" };
      const [ra, rb] = await Promise.all([batch(ca, args), batch(cb, args)]);
      assert.equal(ra.structuredContent?.sent, 8, ra.content?.[0]?.text);
      assert.deepEqual(rb.structuredContent, ra.structuredContent);
      assert.equal(sends(pair), 8);
      assert.deepEqual(sentTo(pair).toSorted(), to.toSorted());
      // Each message is in the shared ledger once, with the batch's id, read from either instance.
      const ids = ra.structuredContent.results.map((r: Result) => r.message_id);
      const { results } = (await cb.client.callTool({
        name: "get_sms_status",
        arguments: { messageIds: ids },
      })).structuredContent;
      assert.deepEqual(
        results.map((r: Result) => [r.destination, r.batch_id]),
        to.map((n) => [n, ra.structuredContent.batch_id]),
      );
      const usage = (await ca.client.callTool({ name: "get_sms_usage", arguments: {} }))
        .structuredContent;
      assert.equal(usage.today.sends, 8);
    } finally {
      await ca.close();
      await cb.close();
      await pair.close();
    }
  });

  test(`a batch stopped by a 401 on one instance is finished by another sharing ${backend}`, async () => {
    const pair = await startPair({}, undefined, backend);
    const token = `pair-${backend}-${crypto.randomUUID()}`;
    pair.fake.addToken(token, ["sms:send", "sms:rates"]);
    const ca = await connectV2(pair.a.mcpUrl, token);
    const cb = await connectV1(pair.b.mcpUrl, token);
    try {
      const to = numbers(9);
      const args = { to, idempotencyKey: "stopped-then-finished" };
      pair.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 200, times: 2 });
      pair.fake.inject({ route: "POST /sms", kind: "status", status: 401 });
      await assert.rejects(() => batch(ca, args), (e) => httpStatusOf(e) === 401);
      assert.equal(sentTo(pair, 200).length, 2);
      assert.equal(sends(pair), 5, "no new send after the 401");
      pair.fake.clearFaults();
      const out = (await batch(cb, args)).structuredContent;
      assert.equal(out.sent, 9);
      assert.deepEqual(sentTo(pair, 200).toSorted(), to.toSorted(), "one SMS per recipient");
      assert.deepEqual((await batch(ca, args)).structuredContent, out);
    } finally {
      await ca.close();
      await cb.close();
      await pair.close();
    }
  });

  test(`the spend cap and throttles count a batch once across two instances sharing ${backend}`, async () => {
    const pair = await startPair(
      { SMS_DAILY_SPEND_CAP_EUR: "0.30", STATE_SECRET: "a-shared-secret-of-32-bytes-or-more" },
      undefined,
      backend,
    );
    const ca = await connectV2(pair.a.mcpUrl, TOKEN);
    const cb = await connectV2(pair.b.mcpUrl, TOKEN);
    try {
      // Two batches of 4 (€0.20 each) at once against €0.30: exactly one goes, whole.
      const [ra, rb] = await Promise.all([
        batch(ca, { to: numbers(4) }),
        batch(cb, { to: numbers(4, 10) }),
      ]);
      const outcomes = [ra, rb].map((r) =>
        r.isError ? envelopeOf(r).code : r.structuredContent.sent
      );
      assert.deepEqual(outcomes.toSorted(), [4, "RATE_LIMITED"]);
      assert.equal(sends(pair), 4);
    } finally {
      await ca.close();
      await cb.close();
      await pair.close();
    }
  });
}

Deno.test("2025 in-band: a 401 after the question is a tool error on the open stream; the retry sends the rest without asking again", async () => {
  const h = startHarness({ env: { SMS_CONFIRMATION: "require" } });
  const token = `asked-${crypto.randomUUID()}`;
  h.fake.addToken(token, ["sms:send", "sms:rates"]);
  const asked: string[] = [];
  const c = await connectV1(h.mcpUrl, token, {
    elicitation: ({ message }) => (asked.push(message), { action: "accept" }),
  });
  try {
    const to = numbers(7);
    const args = { to, idempotencyKey: "asked-then-rejected" };
    h.fake.inject({ route: "POST /sms", kind: "slow", delayMs: 200, times: 2 });
    h.fake.inject({ route: "POST /sms", kind: "status", status: 401 });
    const stopped = envelopeOf(await batch(c, args));
    assert.equal(stopped.code, "AUTH_INVALID", "HTTP 200 was already committed by the question");
    assert.match(String(stopped.message), /2 of the 7 recipients/);
    assert.equal(sentTo(h, 200).length, 2);
    h.fake.clearFaults();
    const out = (await batch(c, args)).structuredContent;
    assert.equal(out.sent, 7);
    assert.equal(asked.length, 1, "the batch was approved once; its rest is not asked again");
    assert.deepEqual(sentTo(h, 200).toSorted(), to.toSorted(), "one SMS per recipient");
  } finally {
    await c.close();
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: every message of a batch enters the ledger with its batch_id; delivery reports reach each`, async () => {
    await withClient(connect, {}, async (h, c) => {
      // Delivered, undelivered (the fake's +37060000102), refused (never sent, never in the ledger).
      const to = [...numbers(2), "+37060000102", "+37060000021"];
      const out = (await batch(c, { to, idempotencyKey: `ledger-${era}` })).structuredContent;
      assert.equal(out.sent, 3);
      const ids = out.results.map((r: Result) => r.message_id ?? "never-sent");
      const status = async () =>
        (await c.client.callTool({ name: "get_sms_status", arguments: { messageIds: ids } }))
          .structuredContent.results;
      let results = await status();
      const until = Date.now() + 10_000;
      while (results.some((r: Result) => r.status === "sent") && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        results = await status();
      }
      assert.deepEqual(
        results.map((r: Result) => [r.destination, r.batch_id, r.status]),
        [
          [to[0], out.batch_id, "delivered"],
          [to[1], out.batch_id, "delivered"],
          [to[2], out.batch_id, "undelivered"],
          [null, null, "unknown"],
        ],
      );
      // A replay under the key sends nothing and adds nothing to the ledger.
      await batch(c, { to, idempotencyKey: `ledger-${era}` });
      const usage = (await c.client.callTool({ name: "get_sms_usage", arguments: { recent: 10 } }))
        .structuredContent;
      assert.equal(usage.today.sends, 3);
      assert.deepEqual(
        usage.recent.map((r: Result) => r.batch_id),
        [out.batch_id, out.batch_id, out.batch_id],
      );
      assert.equal(sends(h), 4);
    });
  });
}
