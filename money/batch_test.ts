import assert from "node:assert/strict";
import { ServiceError } from "../core/errors.ts";
import { MemoryStore } from "../state/mod.ts";
import {
  batchCall,
  type FixtureSend,
  guardContext as ctx,
  NO_LIMITS,
  testMoney as money,
} from "../testing/money.ts";
import type { RecipientOutcome } from "./types.ts";

const TO = Array.from({ length: 12 }, (_, i) => `+3706950000${String(i).padStart(2, "0")}`);

/**
 * A VertexSMS stand-in: records who got an SMS and how many sends ran at
 * once. `answer` decides each send as it starts (the `n`th): an error is
 * answered at once, a success (its billed parts, or null) 3 ms later.
 */
function upstream(answer: (index: number, n: number) => ServiceError | number | null = () => null) {
  const seen = { sent: [] as number[], tried: 0, inFlight: 0, peak: 0 };
  const send: FixtureSend = async (index) => {
    const n = ++seen.tried;
    seen.peak = Math.max(seen.peak, ++seen.inFlight);
    try {
      const a = answer(index, n);
      await new Promise((r) => setTimeout(r, a instanceof ServiceError ? 0 : 3));
      if (a instanceof ServiceError) throw a;
      seen.sent.push(index);
      return { messageId: `m${index}`, billedParts: a };
    } finally {
      seen.inFlight--;
    }
  };
  return { seen, send };
}

type Batch = { batchId: string; outcomes: RecipientOutcome[] };

const rejected = () => new ServiceError("AUTH_INVALID", "VertexSMS rejected the provided token.");
const refused = () => new ServiceError("VERTEX_SEND_FAILED", "blacklisted");

Deno.test("sendBatch: every recipient once, at most 5 at a time, outcomes in input order", async () => {
  const m = money();
  const { seen, send } = upstream((i) => (i === 4 ? refused() : null));
  const out = await m.sendBatch(ctx(), batchCall(TO, send)) as Batch;
  assert.equal(seen.tried, 12);
  assert.equal(seen.peak, 5);
  assert.deepEqual(
    out.outcomes.map((o) => o.status),
    TO.map((_, i) => i === 4 ? "failed" : "sent"),
  );
  assert.deepEqual(out.outcomes[4], {
    status: "failed",
    error: { code: "VERTEX_SEND_FAILED", message: "blacklisted", outcomeUnknown: false },
  });
  assert.match(out.batchId, /^[A-Za-z0-9_-]{16}$/);
});

Deno.test("sendBatch: one question for the whole batch; a decline sends nothing", async () => {
  const m = money();
  const asked: string[] = [];
  const answering = (action: "accept" | "decline") =>
    ctx({ confirm: ({ message }) => (asked.push(message), Promise.resolve({ action })) });
  const { seen, send } = upstream();
  assert.deepEqual(await m.sendBatch(answering("decline"), batchCall(TO, send)), {
    status: "not_sent",
    reason: "declined",
  });
  assert.equal(seen.tried, 0);
  await m.sendBatch(answering("accept"), batchCall(TO, send));
  assert.equal(seen.tried, 12);
  assert.deepEqual(asked, ["Send to 12? 12", "Send to 12? 12"]);
});

Deno.test("sendBatch: the limits count every recipient at once; over them, nothing is sent", async () => {
  const m = money({
    limits: { ...NO_LIMITS, sendsPerMinute: 10, recipientsPerHour: 11, dailySpendCapMicros: 0 },
  });
  const { seen, send } = upstream();
  await assert.rejects(() => m.sendBatch(ctx(), batchCall(TO, send)), (e: unknown) => {
    assert.ok(e instanceof ServiceError && e.code === "RATE_LIMITED" && !e.retryable);
    assert.match(e.message, /This batch of 12 SMS alone is more than the 10 SMS a minute/);
    return true;
  });
  await m.sendBatch(ctx(), batchCall(TO.slice(0, 8), send));
  await assert.rejects(() => m.sendBatch(ctx(), batchCall(TO.slice(8, 11), send)), (e: unknown) => {
    assert.ok(e instanceof ServiceError && e.code === "RATE_LIMITED" && e.retryable);
    assert.match(
      e.message,
      /already sent 8 SMS within a minute, and this batch of 3 SMS would add 3/,
    );
    return true;
  });
  assert.equal(seen.tried, 8);
});

Deno.test("sendBatch: the spend cap is reserved whole; refusals give their share back, unknown outcomes and billed parts count", async () => {
  const cap = { ...NO_LIMITS, dailySpendCapMicros: 400_000 }; // 8 parts at €0.05
  const m = money({ limits: cap });
  const unknown = new ServiceError("UPSTREAM_TIMEOUT", "?", {
    retryable: false,
    outcomeUnknown: true,
  });
  const { seen, send } = upstream((
    i,
  ) => (i === 0 ? refused() : i === 1 ? unknown : i === 2 ? 2 : null));
  await assert.rejects(() => m.sendBatch(ctx(), batchCall(TO.slice(0, 9), send)), {
    code: "RATE_LIMITED",
  });
  assert.equal(seen.tried, 0, "9 × €0.05 does not fit €0.40: nothing sent");
  // 5 counted (€0.25): one refused (given back), one unknown (kept), one billed 2 parts (+€0.05).
  await m.sendBatch(ctx(), batchCall(TO.slice(0, 5), send));
  // Counted now: 4 × €0.05 + €0.05 = €0.25; €0.15 left: 3 fit, 4 do not.
  await assert.rejects(() => m.sendBatch(ctx(), batchCall(TO.slice(5, 9), send)), {
    code: "RATE_LIMITED",
  });
  await m.sendBatch(ctx(), batchCall(TO.slice(5, 8), send));
  assert.equal(seen.tried, 8);
  const unpriced = batchCall(TO.slice(0, 3), send, {
    quote: () =>
      Promise.resolve({
        recipients: TO.slice(0, 3).map((_, i) => ({
          country: null,
          rateEur: null,
          rateMicros: null,
          costEur: null,
          costMicros: i === 1 ? null : 50_000,
        })),
      }),
  });
  await assert.rejects(() => money({ limits: cap }).sendBatch(ctx(), unpriced), (e: unknown) => {
    assert.ok(e instanceof ServiceError && e.code === "INVALID_INPUT");
    assert.deepEqual(e.facts.details?.map((d) => d.path), ["to.1"]);
    return true;
  });
  assert.equal(seen.tried, 8);
});

Deno.test("sendBatch: a rejected token stops the batch; its progress is kept; a retry sends only the rest", async () => {
  const store = new MemoryStore();
  const m = money({ store });
  let revoked = true;
  const { seen, send } = upstream((_, n) => (revoked && n > 3 ? rejected() : null));
  const call = batchCall(TO, send, { idempotencyKey: "k" });
  await assert.rejects(() => m.sendBatch(ctx(), call), (e: unknown) => {
    assert.ok(e instanceof ServiceError && e.code === "AUTH_INVALID");
    assert.match(e.message, /3 of the 12 recipients .* same idempotencyKey and the same token/);
    return true;
  });
  assert.equal(seen.tried, 5, "the 2 in flight finished; nothing new started");
  assert.equal(seen.sent.length, 3);
  revoked = false;
  const out = await m.sendBatch(ctx(), call) as Batch;
  assert.equal(seen.tried, 5 + 9);
  assert.deepEqual(seen.sent.toSorted((a, b) => a - b), TO.map((_, i) => i), "each once");
  assert.ok(out.outcomes.every((o) => o.status === "sent"));
  assert.deepEqual(await m.sendBatch(ctx(), call), out, "then replayed");
  assert.equal(seen.tried, 14);

  // Without a key the error is the answer, and says a repeat would send again.
  revoked = true;
  seen.tried = 0;
  await assert.rejects(() => m.sendBatch(ctx(), batchCall(TO, send)), /no idempotencyKey/);
  // Rejected before anything went out: no record, no counter left behind.
  const fresh = new MemoryStore();
  const limited = money({ store: fresh, limits: { ...NO_LIMITS, sendsPerMinute: 100 } });
  const { send: never } = upstream(() => rejected());
  await assert.rejects(
    () => limited.sendBatch(ctx(), batchCall(TO, never, { idempotencyKey: "x" })),
    { code: "AUTH_INVALID" },
  );
  assert.equal(fresh.size, 0);
});

Deno.test("sendBatch: concurrent duplicates on two instances run the batch once", async () => {
  const store = new MemoryStore();
  const [a, b] = [money({ store }), money({ store })];
  const { seen, send } = upstream();
  const call = batchCall(TO, send, { idempotencyKey: "same" });
  const [x, y] = await Promise.all([a.sendBatch(ctx(), call), b.sendBatch(ctx(), call)]);
  assert.deepEqual(x, y);
  assert.equal(seen.tried, 12);
});

Deno.test("sendBatch: a caller going away stops the batch; the retry sends what never left", async () => {
  const m = money();
  const abort = new AbortController();
  const { seen, send } = upstream((_, n) => {
    if (n === 2) abort.abort();
    return null;
  });
  const call = batchCall(TO, send, { idempotencyKey: "gone" });
  await assert.rejects(() => m.sendBatch(ctx({ signal: abort.signal }), call), {
    code: "UPSTREAM_UNAVAILABLE",
  });
  assert.equal(seen.tried, 2, "no send started once the caller was gone");
  const out = await m.sendBatch(ctx(), call) as Batch;
  assert.equal(seen.tried, 12, "the rest, once");
  assert.equal(out.outcomes.length, 12);
});

Deno.test("sendBatch: a batch's claim lasts one lease plus a call per further wave; a dead one is unknown", async () => {
  let now = 1_700_000_000_000;
  const store = new MemoryStore({ now: () => now });
  const options = { store, now: () => now, leaseMs: 60_000, callMs: 10_000 };
  const [a, b] = [money(options), money(options)];
  const hung: FixtureSend = () => new Promise(() => {});
  void a.sendBatch(ctx(), batchCall(TO, hung, { idempotencyKey: "dead" })); // 3 waves of 5
  while (a.inflight === 0) await new Promise((r) => setTimeout(r, 1));
  const { seen, send } = upstream();
  const giveUp = new AbortController();
  now += 79_000;
  const waiting = b.sendBatch(
    ctx({ signal: giveUp.signal }),
    batchCall(TO, send, { idempotencyKey: "dead" }),
  );
  await new Promise((r) => setTimeout(r, 20));
  giveUp.abort();
  await assert.rejects(() => waiting, /cancelled while it waited/, "still claimed at 79 s");
  now += 2_000;
  await assert.rejects(
    () => b.sendBatch(ctx(), batchCall(TO, send, { idempotencyKey: "dead" })),
    (e: unknown) => e instanceof ServiceError && e.facts.outcomeUnknown === true,
  );
  assert.equal(seen.tried, 0, "never sent again");
});

Deno.test("sendBatch: a batch stopped in test mode is never finished for real without a new approval", async () => {
  const store = new MemoryStore();
  let rejecting = true;
  const { seen, send } = upstream((_, n) => (rejecting && n > 3 ? rejected() : null));
  const call = batchCall(TO, send, { idempotencyKey: "sandbox" });
  const simulated = money({ store, testMode: "delivered" });
  await assert.rejects(() => simulated.sendBatch(ctx(), call), { code: "AUTH_INVALID" });
  assert.equal(seen.sent.length, 3);
  rejecting = false;
  // The same key on a server sending for real (policy require): asked anew, nothing sent.
  const real = money({ store, confirmation: "require" });
  const asked = await real.sendBatch(ctx(), call) as { status: string };
  assert.equal(asked.status, "approval_required");
  assert.equal(seen.sent.length, 3);
  // In its own mode it goes on without asking, and sends only the rest.
  const again = money({ store, testMode: "delivered", confirmation: "require" });
  const out = await again.sendBatch(ctx(), call) as Batch;
  assert.equal(out.outcomes.length, 12);
  assert.deepEqual(seen.sent.toSorted((a, b) => a - b), TO.map((_, i) => i));
});
