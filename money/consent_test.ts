import assert from "node:assert/strict";
import { parseQuietHours, type QuietHours } from "../core/config.ts";
import { ServiceError } from "../core/errors.ts";
import { MemoryStore, type Store } from "../state/mod.ts";
import {
  batchCall,
  guardContext as ctx,
  QUOTE,
  sendCall,
  TEST_SECRET,
  testMoney,
} from "../testing/money.ts";
import { Consent } from "./consent.ts";
import { ConsentKeyError, ConsentKeys } from "./consent_keys.ts";
import { OptOutLists } from "./opt_outs.ts";
import { RECIPIENT_WINDOW_MS } from "./recipient_windows.ts";
import type { RecipientOutcome } from "./types.ts";

const OTHER_SECRET = new TextEncoder().encode("another-unit-test-secret-of-32-bytes!");
const LT = "+37069912345";
const LT2 = "+37069912346";
/** 2026-12-07 12:00Z: 14:00 in Vilnius, 00:00 in Kamchatka. */
const NOON = Date.parse("2026-12-07T12:00:00Z");

/** A clock the test moves. */
function clock(start = NOON) {
  const c = { now: start, fn: () => c.now };
  return c;
}

function consent(
  options: {
    store?: Store;
    quiet?: QuietHours | null;
    perDay?: number;
    now?: () => number;
    secret?: Uint8Array<ArrayBuffer>;
  } = {},
) {
  const store = options.store ?? new MemoryStore();
  return new Consent({
    store,
    lists: store,
    secret: options.secret ?? TEST_SECRET,
    quietHours: options.quiet ?? null,
    perRecipientPerDay: options.perDay ?? 0,
    now: options.now,
  });
}

const numbers = (n: number, base = 0) =>
  Array.from({ length: n }, (_, i) => `+370695${String(base + i).padStart(5, "0")}`);

Deno.test("opt-outs: add, check, remove and list are idempotent and per token", async () => {
  const c = consent();
  assert.deepEqual(await c.addOptOuts(ctx(), [LT, LT2, LT]), { changed: 2, unchanged: 1 });
  assert.deepEqual(await c.addOptOuts(ctx(), [LT]), { changed: 0, unchanged: 1 });
  assert.deepEqual(await c.optedOut(ctx(), [LT, "+37060000001"]), [true, false]);
  assert.deepEqual(await c.optedOut(ctx({}, "principal-B"), [LT]), [false], "another token's");
  assert.deepEqual((await c.listOptOuts(ctx(), 0)).numbers.toSorted(), [LT, LT2]);
  assert.deepEqual(await c.removeOptOuts(ctx(), [LT, "+37060000001"]), {
    changed: 1,
    unchanged: 1,
  });
  assert.deepEqual(await c.listOptOuts(ctx(), 0), { numbers: [LT2], next: null });
  assert.equal((await c.settings(ctx())).optOuts, 1);
});

Deno.test("opt-outs: removals keep the list whole; pages of 1000 list every number once", async () => {
  const store = new MemoryStore();
  const c = consent({ store });
  const all = numbers(2500);
  assert.deepEqual(await c.addOptOuts(ctx(), all), { changed: 2500, unchanged: 0 });
  // Holes in the middle, and the tail itself.
  const gone = [...all.slice(10, 20), ...all.slice(1200, 1250), ...all.slice(2490)];
  assert.equal((await c.removeOptOuts(ctx(), gone)).changed, 70);
  const listed: string[] = [];
  let from: number | null = 0;
  while (from !== null) {
    const page: { numbers: string[]; next: number | null } = await c.listOptOuts(ctx(), from);
    assert.ok(page.numbers.length <= 1000);
    listed.push(...page.numbers);
    from = page.next;
  }
  const kept = all.filter((n) => !gone.includes(n));
  assert.deepEqual(listed.toSorted(), kept.toSorted());
  assert.deepEqual(await c.optedOut(ctx(), [all[15]!, all[2499]!, all[0]!]), [false, false, true]);
  assert.equal((await c.settings(ctx())).optOuts, 2430);
});

Deno.test("opt-outs: numbers sit in the store only as keyed hashes and sealed boxes", async () => {
  const store = new MemoryStore();
  const c = consent({ store });
  await c.addOptOuts(ctx(), [LT, LT2]);
  // Read every key the list wrote, through the store's own interface.
  const lists = new OptOutLists(store, c.keys.keyring);
  const [h1, h2] = await lists.hashes([LT, LT2]);
  const entries = await store.getMany([
    ["optout", await lasting(c, "principal-A"), "head"],
    ["optout", await lasting(c, "principal-A"), "n", h1!],
    ["optout", await lasting(c, "principal-A"), "i", 0],
    ["optout", await lasting(c, "principal-A"), "i", 1],
  ]);
  const text = JSON.stringify(entries);
  assert.ok(entries.every((e) => e.value !== null), "the layout is as documented");
  for (const digits of ["37069912345", "37069912346", "69912345"]) {
    assert.ok(!text.includes(digits), `no ${digits} in clear`);
  }
  assert.ok(text.includes(h2!) || text.includes(h1!));
});

/** The owner the consent guards use for a context without a lasting hash. */
async function lasting(c: Consent, principal: string): Promise<string> {
  return await (await c.keys.keyring()).owner(`principal:${principal}`);
}

Deno.test("opt-outs: a list is bounded; past it, nothing more is added", async () => {
  const store = new MemoryStore();
  const keys = new ConsentKeys({ store, secret: TEST_SECRET });
  const lists = new OptOutLists(store, keys.keyring, 3);
  assert.deepEqual(await lists.add("o", numbers(3)), { changed: 3, unchanged: 0 });
  await assert.rejects(() => lists.add("o", numbers(2, 3)), (e: ServiceError) => {
    assert.equal(e.code, "INVALID_INPUT");
    assert.deepEqual(e.facts.details?.map((d) => d.path), ["numbers"]);
    return true;
  });
  assert.equal(await lists.count("o"), 3);
});

Deno.test("the consent key survives a secret rotation: re-wrapped, every list kept", async () => {
  const store = new MemoryStore();
  const before = consent({ store });
  await before.addOptOuts(ctx(), [LT]);
  const owner = await before.ownerOf("token-1");
  // The new secret alone cannot open it; with the previous one beside it, it is moved over.
  const stranger = new ConsentKeys({ store, secret: OTHER_SECRET });
  await assert.rejects(() => stranger.keyring(), ConsentKeyError);
  const rotating = new Consent({
    store,
    lists: store,
    secret: OTHER_SECRET,
    previousSecret: () => Promise.resolve(TEST_SECRET),
    quietHours: null,
    perRecipientPerDay: 0,
  });
  assert.equal(await rotating.ownerOf("token-1"), owner, "the same lasting hash");
  // Once the window is over, the new secret alone opens it.
  const after = consent({ store, secret: OTHER_SECRET });
  assert.deepEqual(await after.optedOut(ctx(), [LT]), [true]);
  await assert.rejects(() => new ConsentKeys({ store, secret: TEST_SECRET }).keyring(), {
    name: "ConsentKeyError",
  });
});

Deno.test("the per-recipient limit: rolling 24 hours per token and number; refunds give back", async () => {
  const t = clock();
  const c = consent({ perDay: 2, now: t.fn });
  const admit = async (p = "principal-A") => (await c.admit(ctx({}, p), [LT]))[0]!;
  const first = await admit();
  t.now += 60_000;
  const second = await admit();
  assert.ok("lease" in first && "lease" in second);
  const third = await admit();
  assert.ok("refused" in third);
  assert.equal(third.refused.code, "SEND_NOT_ALLOWED");
  assert.equal(third.refused.facts.reason, "recipient_limit");
  assert.equal(third.refused.retryable, false);
  assert.match(third.refused.message, /SMS_PER_RECIPIENT_PER_DAY=2/);
  assert.match(third.refused.message, /2026-12-08T12:00:00Z/, "when the oldest leaves the window");
  assert.ok("lease" in await admit("principal-B"), "per token");
  assert.ok("lease" in (await c.admit(ctx(), [LT2]))[0]!, "per number");
  // A definite refusal gives its count back.
  await c.release((second as { lease: null }).lease);
  assert.ok("lease" in await admit());
  // Rolling: the first leaves the window 24 hours after it was counted, not at a day's end.
  t.now = NOON + RECIPIENT_WINDOW_MS - 1;
  assert.ok("refused" in await admit());
  t.now = NOON + RECIPIENT_WINDOW_MS + 1;
  assert.ok("lease" in await admit());
  assert.deepEqual(await c.check(ctx(), [LT]).then((r) => r.map((e) => e?.facts.reason)), [
    "recipient_limit",
  ]);
});

Deno.test("the per-recipient limit holds under concurrency: at most N counted of many at once", async () => {
  const c = consent({ perDay: 3 });
  const results = await Promise.all(Array.from({ length: 40 }, () => c.admit(ctx(), [LT])));
  assert.equal(results.filter(([a]) => "lease" in a!).length, 3);
});

Deno.test("quiet hours: refused with the next allowed time; a scheduled send is judged then", async () => {
  const t = clock();
  const c = consent({ quiet: parseQuietHours("21:00-08:00"), now: t.fn });
  // 14:00 in Vilnius: allowed. A Russian mobile: midnight in Kamchatka, quiet.
  const [lt, ru] = await c.check(ctx(), [LT, "+79161234567"]);
  assert.equal(lt, null);
  assert.equal(ru!.code, "SEND_NOT_ALLOWED");
  assert.equal(ru!.facts.reason, "quiet_hours");
  assert.equal(ru!.retryable, true);
  assert.equal(ru!.facts.nextAllowedAt, "2026-12-08T06:00:00Z");
  assert.equal(ru!.facts.retryAfterSeconds, 18 * 3600);
  // Scheduled at the next allowed time: allowed; at 23:00 in Vilnius: quiet for LT too.
  assert.deepEqual(await c.check(ctx(), [LT, "+79161234567"], "2026-12-08T06:00:00Z"), [
    null,
    null,
  ]);
  const [late] = await c.check(ctx(), [LT], "2026-12-07T23:00:00+02:00");
  assert.equal(late!.facts.nextAllowedAt, "2026-12-08T06:00:00Z");
  assert.match(late!.message, /scheduled time 2026-12-07T23:00:00\+02:00 falls in quiet hours/);
  const [unknown] = await c.check(ctx(), ["+80012345678"]);
  assert.equal(unknown!.facts.reason, "quiet_hours");
  assert.equal(unknown!.retryable, false, "a number without a zone is never judged allowed");
  assert.equal(unknown!.facts.nextAllowedAt, undefined);
  assert.deepEqual(await c.settings(ctx()), {
    optOuts: 0,
    quietHours: "21:00-08:00",
    perRecipientPerDay: 0,
  });
});

Deno.test("send: an opted-out number is refused before anything is priced, asked or sent", async () => {
  const m = testMoney({ confirmation: "require" });
  await m.consent.addOptOuts(ctx(), [LT]);
  let priced = 0;
  let ran = 0;
  const call = sendCall(() => Promise.resolve((ran++, {})), {
    quote: () => Promise.resolve((priced++, QUOTE)),
    idempotencyKey: "k1",
  });
  await assert.rejects(() => m.send(ctx({ confirm: () => Promise.reject("asked") }), call), {
    code: "SEND_NOT_ALLOWED",
  });
  assert.deepEqual([priced, ran], [0, 0]);
  // Taken off the list (the person asked to be texted again), the same key goes ahead.
  await m.consent.removeOptOuts(ctx(), [LT]);
  const asked = await m.send(ctx(), call);
  assert.equal((asked as { status: string }).status, "approval_required");
});

Deno.test("send: an approval never overrides an opt-out added after it was given", async () => {
  const m = testMoney({ confirmation: "require" });
  let ran = 0;
  const call = sendCall(() => Promise.resolve((ran++, { sent: true })));
  const pending = await m.send(ctx(), call) as { id: string };
  const view = (await m.approvals.view(pending.id))!;
  assert.equal(await m.approvals.decide(pending.id, "approve", view.formToken), "approved");
  await m.consent.addOptOuts(ctx(), [LT]);
  await assert.rejects(() => m.send(ctx(), { ...call, approvalId: pending.id }), {
    code: "SEND_NOT_ALLOWED",
  });
  assert.equal(ran, 0);
  await m.consent.removeOptOuts(ctx(), [LT]);
  assert.deepEqual(await m.send(ctx(), { ...call, approvalId: pending.id }), { sent: true });
  assert.equal(ran, 1, "the approval was not spent by the refusal");
});

Deno.test("send: the per-recipient count is given back on a definite refusal, kept on an unknown outcome", async () => {
  const store = new MemoryStore();
  const limited = consent({ store, perDay: 1 });
  const m = testMoney({ store, consent: limited, confirmation: "off" });
  const refused = sendCall(() => Promise.reject(new ServiceError("VERTEX_SEND_FAILED", "no")));
  await assert.rejects(() => m.send(ctx(), refused), { code: "VERTEX_SEND_FAILED" });
  const unknown = sendCall(() => Promise.reject(new ServiceError("UPSTREAM_TIMEOUT", "slow")));
  await assert.rejects(() => m.send(ctx(), unknown), { code: "UPSTREAM_TIMEOUT" });
  await assert.rejects(
    () => m.send(ctx(), sendCall(() => Promise.resolve({}))),
    (e: ServiceError) => e.code === "SEND_NOT_ALLOWED" && e.facts.reason === "recipient_limit",
  );
});

Deno.test("sendBatch: refused recipients are not_sent, the others go on; the cap counts only those sent", async () => {
  const store = new MemoryStore();
  const m = testMoney({
    store,
    limits: {
      sendsPerMinute: 0,
      recipientsPerHour: 0,
      dailySpendCapMicros: 60_000,
      pinTextsPerHour: 0,
    },
    confirmation: "off",
  });
  const to = [LT, LT2, "+37069912347"];
  await m.consent.addOptOuts(ctx(), [LT2]);
  const sent: number[] = [];
  // The cap (€0.06) fits one recipient at €0.05, not two: only LT and the third are counted.
  const call = batchCall(to.slice(0, 2), (i) =>
    Promise.resolve(
      (sent.push(i), {
        messageId: `m${i}`,
        billedParts: 1,
      }),
    ));
  const out = await m.sendBatch(ctx(), call) as { outcomes: RecipientOutcome[] };
  assert.deepEqual(sent, [0]);
  assert.equal(out.outcomes[0]!.status, "sent");
  const refused = out.outcomes[1]!;
  assert.equal(refused.status, "not_sent");
  assert.equal(refused.status === "not_sent" && refused.error.reason, "opted_out");
  // Every recipient refused: nothing priced, asked or sent, and no batch run.
  let priced = 0;
  const none = await m.sendBatch(
    ctx({ confirm: () => Promise.reject("asked") }),
    batchCall([LT2], () => Promise.reject("sent"), {
      quote: () => Promise.resolve((priced++, { recipients: [QUOTE] })),
    }),
  ) as { outcomes: RecipientOutcome[] };
  assert.deepEqual(none.outcomes.map((o) => o.status), ["not_sent"]);
  assert.equal(priced, 0);
});

Deno.test("sendBatch: the question names the refused recipients; consent is judged again at sending", async () => {
  const m = testMoney();
  await m.consent.addOptOuts(ctx(), [LT2]);
  const questions: string[] = [];
  const sent: number[] = [];
  const to = [LT, LT2, "+37069912347"];
  const call = batchCall(
    to,
    (i) => Promise.resolve((sent.push(i), { messageId: `m${i}`, billedParts: 1 })),
    {
      question: (_q, refused) => {
        questions.push(refused.map((r) => r?.facts.reason ?? "-").join(","));
        return "Send?";
      },
    },
  );
  // Between the question and the sending, another number opts out.
  const confirm = async () => {
    await m.consent.addOptOuts(ctx(), ["+37069912347"]);
    return { action: "accept" as const };
  };
  const out = await m.sendBatch(ctx({ confirm }), call) as { outcomes: RecipientOutcome[] };
  assert.deepEqual(questions, ["-,opted_out,-"]);
  assert.deepEqual(sent, [0], "the one opted out after the question is not sent either");
  assert.deepEqual(out.outcomes.map((o) => o.status), ["sent", "not_sent", "not_sent"]);
});
