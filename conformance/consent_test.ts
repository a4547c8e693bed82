/**
 * Consent end to end, through both client SDKs, counting the `POST /sms`
 * requests the fake VertexSMS received: `manage_opt_outs` and its bad input
 * (INVALID_INPUT naming the field and index); no SMS to an opted-out number —
 * alone, re-spelled as a national number with `correctBy`, in a batch (the
 * others go on), after a dry run's confirmation, after a person's approval
 * given before the opt-out, with a client that could be asked in-band —;
 * quiet hours at a fixed clock for countries of several time zones, with the
 * next allowed time a scheduled send then honours; dry runs and the batch's
 * approval result naming refused recipients; `get_sms_usage` showing the
 * settings. Two instances sharing Deno KV or Redis, the per-recipient limit
 * under concurrency, the state database and failing state are in
 * `reliability/consent_test.ts`.
 */
import assert from "node:assert/strict";
import {
  CLIENTS,
  type Connected,
  connectV2,
  DEMO_TOKENS,
  envelopeOf,
  type Harness,
  type HarnessOptions,
  startHarness,
} from "../testing/harness.ts";

const TOKEN = DEMO_TOKENS.full;
const TEXT = { from: "VertexSMS", message: "The office is closed today." };
const OPTED = "+37069912345";
/** 2026-12-07 12:00Z: 14:00 in Vilnius, 15:00 in Moscow, midnight in Kamchatka, 23:00 in Sydney. */
const NOON = Date.parse("2026-12-07T12:00:00Z");
const RU_MOBILE = "+79161234567";
const AU_MOBILE = "+61412345678";

// deno-lint-ignore no-explicit-any
type Result = any;

const sends = (h: Harness) => h.fake.count("POST /sms");
/** The `to` of each `POST /sms` the fake received. */
const sentTo = (h: Harness) =>
  h.fake.requests.filter((r) => r.method === "POST" && r.path === "/sms")
    .map((r) => `+${(r.body as { to: string }).to}`);

const call = (c: Connected, name: string, args: Record<string, unknown>): Promise<Result> =>
  c.client.callTool({ name, arguments: args });
const optOuts = (c: Connected, args: Record<string, unknown>) => call(c, "manage_opt_outs", args);
const send = (c: Connected, args: Record<string, unknown>) =>
  call(c, "send_sms", { ...TEXT, ...args });
const batch = (c: Connected, args: Record<string, unknown>) =>
  call(c, "send_sms_batch", { ...TEXT, ...args });

/** Run `body` with a harness and a client of one era, closing both. */
async function withClient(
  connect: (typeof CLIENTS)[number]["connect"],
  options: HarnessOptions,
  body: (h: Harness, c: Connected) => Promise<void>,
) {
  const h = startHarness(options);
  const c = await connect(h.mcpUrl, TOKEN);
  try {
    await body(h, c);
  } finally {
    await c.close();
    await h.close();
  }
}

/** The error of an opted-out recipient, checked. */
function assertOptedOut(error: Record<string, unknown>) {
  assert.equal(error.code, "SEND_NOT_ALLOWED");
  assert.equal(error.reason, "opted_out");
  assert.equal(error.retryable, false);
  assert.equal(error.next_allowed_at, undefined);
  assert.match(String(error.message), /opt-out list/);
}

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: manage_opt_outs: bad input is INVALID_INPUT naming the field and index`, async () => {
    await withClient(connect, {}, async (h, c) => {
      const many = Array.from({ length: 1001 }, (_, i) => `+3706950${String(i).padStart(4, "0")}`);
      const cases: [Record<string, unknown>, string[]][] = [
        [{ action: "add", numbers: [OPTED, "+37069912346", "37069912347"] }, ["numbers.2"]],
        [{ action: "check", numbers: ["+0123456", OPTED, "tel:+37069912345"] }, [
          "numbers.0",
          "numbers.2",
        ]],
        [{ action: "add", numbers: many }, ["numbers"]],
        [{ action: "add", numbers: [] }, ["numbers"]],
        [{ action: "add" }, ["numbers"]],
        [{ action: "block", numbers: [OPTED] }, ["action"]],
        [{ action: "list", numbers: [OPTED] }, ["numbers"]],
        [{ action: "check", numbers: [OPTED], cursor: "0" }, ["cursor"]],
        [{ action: "list", cursor: "next please" }, ["cursor"]],
      ];
      for (const [args, paths] of cases) {
        const error = envelopeOf(await optOuts(c, args));
        assert.equal(error.code, "INVALID_INPUT", JSON.stringify(args).slice(0, 80));
        const details = error.details as { path: string }[];
        assert.deepEqual(details.map((d) => d.path), paths, JSON.stringify(args).slice(0, 80));
      }
      assert.equal((await optOuts(c, { action: "list" })).structuredContent.numbers.length, 0);
      assert.equal(h.fake.requests.length, 0, "no upstream call");
    });
  });

  Deno.test(`${era}: manage_opt_outs: add, check, remove and list, idempotent; output as specified`, async () => {
    await withClient(connect, {}, async (h, c) => {
      const other = "+37069912346";
      const added = await optOuts(c, { action: "add", numbers: [OPTED, other, OPTED] });
      assert.notEqual(added.isError, true, added.content?.[0]?.text);
      assert.deepEqual(JSON.parse(added.content[0].text), added.structuredContent);
      assert.deepEqual(added.structuredContent, {
        action: "add",
        changed: 2,
        unchanged: 1,
        opted_out: [OPTED, other],
      });
      assert.deepEqual((await optOuts(c, { action: "add", numbers: [OPTED] })).structuredContent, {
        action: "add",
        changed: 0,
        unchanged: 1,
        opted_out: [OPTED],
      });
      assert.deepEqual(
        (await optOuts(c, { action: "check", numbers: ["+37060000001", other] }))
          .structuredContent,
        { action: "check", changed: 0, unchanged: 2, opted_out: [other] },
      );
      assert.deepEqual(
        (await optOuts(c, { action: "remove", numbers: [other, "+37060000001"] }))
          .structuredContent,
        { action: "remove", changed: 1, unchanged: 1, opted_out: [] },
      );
      assert.deepEqual((await optOuts(c, { action: "list" })).structuredContent, {
        numbers: [OPTED],
        next_cursor: null,
      });
      const usage = (await call(c, "get_sms_usage", {})).structuredContent;
      assert.deepEqual(usage.consent, {
        opt_outs: 1,
        quiet_hours: null,
        per_recipient_per_day: null,
      });
      // Another token has its own list.
      const stranger = await connect(h.mcpUrl, DEMO_TOKENS["sms:send"]);
      try {
        assert.deepEqual(
          (await optOuts(stranger, { action: "list" })).structuredContent.numbers,
          [],
        );
      } finally {
        await stranger.close();
      }
      assert.equal(h.fake.requests.length, 0);
    });
  });

  Deno.test(`${era}: an opted-out number gets no SMS: alone, re-spelled with correctBy, in a batch, after a dry run`, async () => {
    await withClient(connect, {}, async (h, c) => {
      await optOuts(c, { action: "add", numbers: [OPTED] });
      assertOptedOut(envelopeOf(await send(c, { to: OPTED })));
      // The national spelling repairs to the same number: judged as that number.
      for (const to of ["869912345", "0037069912345", "+370 699 12345".replace(/ /g, "")]) {
        assertOptedOut(envelopeOf(await send(c, { to, correctBy: "LT" })));
      }
      const unreadable = envelopeOf(await send(c, { to: "12", correctBy: "LT" }));
      assert.equal(unreadable.code, "INVALID_INPUT");
      assert.deepEqual((unreadable.details as { path: string }[]).map((d) => d.path), ["to"]);
      // A dry run says so, and its confirmation does not override it.
      const quote = (await send(c, { to: OPTED, dryRun: true })).structuredContent;
      assert.deepEqual(quote.refused.map((r: Result) => [r.to, r.reason]), [[OPTED, "opted_out"]]);
      assertOptedOut(
        envelopeOf(await send(c, { to: OPTED, confirmationToken: quote.confirmation_token })),
      );
      assert.equal(sends(h), 0);
      // A batch: the opted-out recipient is not_sent with the error, the others go on.
      const to = ["+37069512300", OPTED, "+37069512301"];
      const dry = (await batch(c, { to, dryRun: true })).structuredContent;
      assert.deepEqual(dry.refused.map((r: Result) => [r.to, r.reason]), [[OPTED, "opted_out"]]);
      assert.equal(dry.countries[0].recipients, 2, "the quote covers the recipients to be sent");
      assert.equal(dry.estimated_cost_eur, "0.10");
      const out = (await batch(c, { to, confirmationToken: dry.confirmation_token }))
        .structuredContent;
      assert.deepEqual(out.results.map((r: Result) => r.status), ["sent", "not_sent", "sent"]);
      assert.equal(out.status, "partial");
      assert.deepEqual([out.count, out.sent, out.failed], [3, 2, 0]);
      const refused = out.results[1];
      assert.equal(refused.message_id, null);
      assert.equal(refused.error.code, "SEND_NOT_ALLOWED");
      assert.equal(refused.error.reason, "opted_out");
      assert.equal(refused.error.outcome_unknown, false);
      assert.equal(sends(h), 2);
      assert.ok(!sentTo(h).includes(OPTED));
      // Only opted-out recipients: nothing is sent, priced or asked.
      h.server.app.rates.clear();
      const rates = h.fake.count("GET /rates");
      const none = (await batch(c, { to: [OPTED] })).structuredContent;
      assert.equal(h.fake.count("GET /rates"), rates, "not priced");
      assert.equal(none.status, "not_sent");
      assert.deepEqual(none.results.map((r: Result) => r.error.reason), ["opted_out"]);
      assert.equal(sends(h), 2);
    });
  });

  Deno.test(`${era}: an approval given before the opt-out never sends to it; the batch's approval names refused recipients`, async () => {
    await withClient(connect, { env: { SMS_CONFIRMATION: "require" } }, async (h, c) => {
      const approve = async (id: string) => {
        const approvals = h.server.app.money.approvals;
        const view = (await approvals.view(id))!;
        assert.equal(await approvals.decide(id, "approve", view.formToken), "approved");
      };
      const asked = (await send(c, { to: OPTED })).structuredContent;
      assert.equal(asked.status, "approval_required");
      await approve(asked.approval_id);
      await optOuts(c, { action: "add", numbers: [OPTED] });
      assertOptedOut(envelopeOf(await send(c, { to: OPTED, approvalId: asked.approval_id })));
      // A batch asked for while one recipient is on the list: its approval says so.
      const to = ["+37069512300", OPTED];
      const pending = (await batch(c, { to })).structuredContent;
      assert.equal(pending.status, "approval_required");
      assert.deepEqual(pending.refused.map((r: Result) => r.to), [OPTED]);
      assert.equal(pending.countries[0].recipients, 1);
      const page = await (await fetch(pending.approval_url)).text();
      assert.match(page, /Not sent \(consent\)<\/dt><dd>1: \+37069912345 \(opted out\)/);
      await approve(pending.approval_id);
      const out = (await batch(c, { to, approvalId: pending.approval_id })).structuredContent;
      assert.deepEqual(out.results.map((r: Result) => r.status), ["sent", "not_sent"]);
      assert.deepEqual(sentTo(h), ["+37069512300"]);
    });
  });
}

Deno.test("2026: a client that could be asked in-band is never asked about an opted-out number", async () => {
  const h = startHarness();
  const asked: string[] = [];
  const c = await connectV2(h.mcpUrl, TOKEN, {
    elicitation: ({ message }) => (asked.push(message), { action: "accept" }),
  });
  try {
    await optOuts(c, { action: "add", numbers: [OPTED] });
    assertOptedOut(envelopeOf(await send(c, { to: OPTED })));
    assert.equal(asked.length, 0);
    // A batch: the question names the refused recipient and asks about the others.
    const out = (await batch(c, { to: ["+37069512300", OPTED] })).structuredContent;
    assert.deepEqual(out.results.map((r: Result) => r.status), ["sent", "not_sent"]);
    assert.equal(asked.length, 1);
    assert.match(asked[0]!, /^Send this SMS to 1 recipient\?/);
    assert.match(asked[0]!, /Not sent \(consent\), 1: \+37069912345 \(opted out\)/);
    assert.match(asked[0]!, /To: \+37069512300\n/);
    assert.equal(sends(h), 1);
  } finally {
    await c.close();
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: quiet hours at a fixed clock: no SMS where it is night in any zone; the next allowed time works as scheduled`, async () => {
    const options = { env: { SMS_QUIET_HOURS: "21:00-08:00" }, now: () => NOON };
    await withClient(connect, options, async (h, c) => {
      // A Russian mobile is judged in all of Russia's zones: midnight in Kamchatka.
      const error = envelopeOf(await send(c, { to: RU_MOBILE }));
      assert.equal(error.code, "SEND_NOT_ALLOWED");
      assert.equal(error.reason, "quiet_hours");
      assert.equal(error.retryable, true);
      assert.equal(error.next_allowed_at, "2026-12-08T06:00:00Z");
      assert.equal(error.retry_after_seconds, 18 * 3600);
      // An Australian mobile: 23:00 in Sydney; a Lithuanian one: 14:00, allowed.
      const to = ["+37069512300", RU_MOBILE, AU_MOBILE];
      const dry = (await batch(c, { to, dryRun: true })).structuredContent;
      assert.deepEqual(dry.refused.map((r: Result) => [r.to, r.reason, r.next_allowed_at]), [
        [RU_MOBILE, "quiet_hours", "2026-12-08T06:00:00Z"],
        [AU_MOBILE, "quiet_hours", "2026-12-08T01:30:00Z"],
      ]);
      const out = (await batch(c, { to })).structuredContent;
      assert.deepEqual(out.results.map((r: Result) => r.status), ["sent", "not_sent", "not_sent"]);
      assert.equal(out.results[1].error.next_allowed_at, "2026-12-08T06:00:00Z");
      assert.equal(out.results[1].error.retry_after_seconds, 18 * 3600);
      assert.deepEqual(sentTo(h), ["+37069512300"]);
      // Scheduled in quiet hours: refused; at the next allowed time: accepted, scheduled.
      const late = envelopeOf(
        await send(c, { to: "+37069512301", scheduled: "2026-12-07T22:30:00+02:00" }),
      );
      assert.equal(late.reason, "quiet_hours");
      assert.equal(late.next_allowed_at, "2026-12-08T06:00:00Z");
      const later = await send(c, { to: RU_MOBILE, scheduled: error.next_allowed_at });
      assert.notEqual(later.isError, true, later.content?.[0]?.text);
      assert.equal(later.structuredContent.status, "scheduled");
      assert.equal(sends(h), 2);
      const usage = (await call(c, "get_sms_usage", {})).structuredContent;
      assert.equal(usage.consent.quiet_hours, "21:00-08:00");
    });
  });
}
