import assert from "node:assert/strict";
import { canonicalJson } from "../core/canonical_json.ts";
import { ServiceError } from "../core/errors.ts";
import { MemoryStore, type Store } from "../state/mod.ts";
import type { SendLimits } from "./limits.ts";
import type { ConfirmAnswer } from "./types.ts";
import {
  guardContext as ctx,
  QUOTE,
  sendCall,
  TEST_SECRET as SECRET,
  testMoney as money,
} from "../testing/money.ts";

/** A clock the test moves. */
function clock(start = 1_700_000_000_000) {
  const c = { now: start, fn: () => c.now };
  return c;
}

/** A billable action that counts its runs. */
function action<T extends object>(result: () => T | Promise<T>) {
  const calls = { n: 0 };
  return { calls, run: async () => (calls.n++, await result()) };
}

const SENT = { message_id: "42", status: "sent" };

Deno.test("once: same key and arguments run once; other arguments or tool are refused", async () => {
  const m = money();
  const a = action(() => SENT);
  const call = { tool: "send_sms", args: { to: "+1", n: 1 }, idempotencyKey: "k1", run: a.run };
  assert.deepEqual(await m.once(ctx(), call), SENT);
  assert.deepEqual(await m.once(ctx(), { ...call, args: { n: 1, to: "+1" } }), SENT, "key order");
  assert.equal(a.calls.n, 1);
  await assert.rejects(() => m.once(ctx(), { ...call, args: { to: "+2", n: 1 } }), {
    code: "INVALID_INPUT",
  });
  await assert.rejects(() => m.once(ctx(), { ...call, tool: "lookup_hlr" }), {
    code: "INVALID_INPUT",
  });
  assert.deepEqual(await m.once(ctx({}, "principal-B"), call), SENT, "keys are per token");
  assert.equal(a.calls.n, 2);
  assert.deepEqual(await m.once(ctx(), { ...call, idempotencyKey: undefined }), SENT);
  assert.equal(a.calls.n, 3, "no key, no memory");
});

Deno.test("once: a definite refusal frees the key; a maybe-billed failure is replayed", async () => {
  const m = money();
  let fail: ServiceError | null = new ServiceError("VERTEX_SEND_FAILED", "bad sender");
  const a = action(() => {
    if (fail) throw fail;
    return SENT;
  });
  const call = { tool: "send_sms", args: {}, idempotencyKey: "k", run: a.run };
  await assert.rejects(() => m.once(ctx(), call), { code: "VERTEX_SEND_FAILED" });
  fail = null;
  assert.deepEqual(await m.once(ctx(), call), SENT);
  assert.equal(a.calls.n, 2);

  const timeout = new ServiceError("UPSTREAM_TIMEOUT", "may have gone out", {
    retryable: false,
    outcomeUnknown: true,
  });
  for (const error of [timeout, new ServiceError("HLR_TIMEOUT", "billed", { lookupId: "7" })]) {
    const b = action(() => {
      throw error;
    });
    const key = { tool: "t", args: {}, idempotencyKey: error.code, run: b.run };
    let first: ServiceError | undefined;
    await assert.rejects(() => m.once(ctx(), key), (e: unknown) => {
      first = e as ServiceError;
      return first.code === error.code;
    });
    await assert.rejects(() => m.once(ctx(), key), (e: unknown) => {
      assert.ok(e instanceof ServiceError);
      assert.equal(e.code, error.code);
      assert.deepEqual(e.facts, first!.facts, "the same envelope facts");
      return true;
    });
    assert.equal(b.calls.n, 1, `${error.code} is never repeated`);
  }
});

Deno.test("once: concurrent duplicates wait for the first call, success or refusal", async () => {
  const m = money();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const a = action(async () => (await gate, SENT));
  const call = { tool: "t", args: { x: 1 }, idempotencyKey: "same", run: a.run };
  const all = Promise.all([m.once(ctx(), call), m.once(ctx(), call), m.once(ctx(), call)]);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(m.inflight, 1);
  release();
  assert.deepEqual(await all, [SENT, SENT, SENT]);
  assert.equal(a.calls.n, 1);

  let refuse!: () => void;
  const refusal = new Promise<void>((r) => refuse = r);
  const b = action(async () => {
    await refusal;
    throw new ServiceError("VERTEX_SEND_FAILED", "blacklisted");
  });
  const bad = { tool: "t", args: { x: 2 }, idempotencyKey: "refused", run: b.run };
  const waits = [m.once(ctx(), bad), m.once(ctx(), bad)].map((p) =>
    p.then(() => "ok", (e) => e.code)
  );
  await new Promise((r) => setTimeout(r, 20));
  refuse();
  assert.deepEqual(await Promise.all(waits), ["VERTEX_SEND_FAILED", "VERTEX_SEND_FAILED"]);
  assert.equal(b.calls.n, 1, "the waiting duplicate took the first call's answer");
});

Deno.test("once: a duplicate on another instance waits through the store; a dead claim is unknown", async () => {
  const t = clock();
  const store = new MemoryStore({ now: t.fn });
  const a = money({ store, now: t.fn });
  const b = money({ store, now: t.fn });
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const first = action(async () => (await gate, SENT));
  const call = { tool: "t", args: {}, idempotencyKey: "k", run: first.run };
  const running = a.once(ctx(), call);
  await new Promise((r) => setTimeout(r, 10));
  const waiting = b.once(ctx(), { ...call, run: () => Promise.resolve({ message_id: "dup" }) });
  await new Promise((r) => setTimeout(r, 20));
  release();
  assert.deepEqual(await running, SENT);
  assert.deepEqual(await waiting, SENT, "B polled the store and took A's result");

  // An instance that claimed a key and died: after the lease the outcome is unknown.
  const hung = new Promise<object>(() => {});
  void a.once(ctx(), { ...call, idempotencyKey: "dead", run: () => hung });
  await new Promise((r) => setTimeout(r, 10));
  t.now += 61_000;
  await assert.rejects(
    () => b.once(ctx(), { ...call, idempotencyKey: "dead" }),
    (e: unknown) => e instanceof ServiceError && e.facts.outcomeUnknown === true,
  );
});

Deno.test("stored records are sealed: no output, argument or key in clear", async () => {
  const writes: string[] = [];
  const inner = new MemoryStore();
  const store: Store = {
    kind: "memory",
    getMany: (keys) => inner.getMany(keys),
    commit: (c) => {
      writes.push(JSON.stringify(c.sets));
      return inner.commit(c);
    },
  };
  const m = money({ store });
  const output = { message_id: "1281532561", destination: "+37069912345" };
  await m.once(ctx(), {
    tool: "send_sms",
    args: { to: "+37069912345", message: "Your PIN is 0000" },
    idempotencyKey: "visible-key",
    run: () => Promise.resolve(output),
  });
  const all = writes.join("\n");
  assert.ok(writes.length >= 2);
  // Keys hold the token's keyed hash (the principal) and digests; values are sealed.
  for (const secret of ["1281532561", "69912345", "PIN", "visible-key"]) {
    assert.ok(!all.includes(secret), `${secret} is not stored in clear`);
  }
});

Deno.test("the Idempotency-Key header: used when alone, must match the argument, must be well-formed", async () => {
  const m = money();
  const a = action(() => SENT);
  const call = { tool: "t", args: {}, run: a.run };
  await m.once(ctx({ idempotencyKey: "h" }), call);
  await m.once(ctx(), { ...call, idempotencyKey: "h" });
  assert.equal(a.calls.n, 1, "header and argument name the same key");
  await assert.rejects(
    () => m.once(ctx({ idempotencyKey: "h" }), { ...call, idempotencyKey: "x" }),
    {
      code: "INVALID_INPUT",
    },
  );
  await assert.rejects(() => m.once(ctx({ idempotencyKey: "has space" }), call), {
    code: "INVALID_INPUT",
  });
});

Deno.test("send: the limits count per window and refuse with retry_after_seconds", async () => {
  const t = clock();
  const m = money({
    now: t.fn,
    limits: { sendsPerMinute: 2, recipientsPerHour: 0, dailySpendCapMicros: 0, pinTextsPerHour: 0 },
  });
  const a = action(() => SENT);
  await m.send(ctx(), sendCall(a.run));
  t.now += 30_000;
  await m.send(ctx(), sendCall(a.run));
  await assert.rejects(() => m.send(ctx(), sendCall(a.run)), (e: unknown) => {
    assert.ok(e instanceof ServiceError && e.code === "RATE_LIMITED");
    assert.equal(e.facts.retryAfterSeconds, 30, "the window opened at the first send");
    return true;
  });
  await m.send(ctx({}, "principal-B"), sendCall(a.run));
  t.now += 30_000;
  await m.send(ctx(), sendCall(a.run));
  assert.equal(a.calls.n, 4);
});

Deno.test("send: the recipient limit counts each recipient once", async () => {
  const m = money({
    limits: { sendsPerMinute: 0, recipientsPerHour: 2, dailySpendCapMicros: 0, pinTextsPerHour: 0 },
  });
  const a = action(() => SENT);
  for (const to of ["+1", "+2", "+1", "+2", "+1"]) {
    await m.send(ctx(), sendCall(a.run, { recipient: to }));
  }
  await assert.rejects(() => m.send(ctx(), sendCall(a.run, { recipient: "+3" })), {
    code: "RATE_LIMITED",
  });
  assert.equal(a.calls.n, 5);
});

Deno.test("send: the spend cap sums estimates; refusals give theirs back, unknown outcomes do not", async () => {
  const m = money({
    limits: {
      sendsPerMinute: 0,
      recipientsPerHour: 0,
      dailySpendCapMicros: 120_000,
      pinTextsPerHour: 0,
    },
  });
  const ok = action(() => SENT);
  await m.send(ctx(), sendCall(ok.run));
  const refused = () => {
    throw new ServiceError("VERTEX_SEND_FAILED", "no");
  };
  await assert.rejects(() => m.send(ctx(), sendCall(refused)), { code: "VERTEX_SEND_FAILED" });
  await m.send(ctx(), sendCall(ok.run));
  await assert.rejects(() => m.send(ctx(), sendCall(ok.run)), (e: unknown) => {
    assert.ok(e instanceof ServiceError && e.code === "RATE_LIMITED");
    assert.match(e.message, /€0.15, over the cap of €0.12/);
    return true;
  });
  assert.equal(ok.calls.n, 2);

  const m2 = money({
    limits: {
      sendsPerMinute: 0,
      recipientsPerHour: 0,
      dailySpendCapMicros: 120_000,
      pinTextsPerHour: 0,
    },
  });
  const unknown = () => {
    throw new ServiceError("UPSTREAM_TIMEOUT", "?", { outcomeUnknown: true, retryable: false });
  };
  await assert.rejects(() => m2.send(ctx(), sendCall(unknown)), { code: "UPSTREAM_TIMEOUT" });
  await m2.send(ctx(), sendCall(ok.run));
  await assert.rejects(() => m2.send(ctx(), sendCall(ok.run)), { code: "RATE_LIMITED" });

  const tooDear = { ...QUOTE, costMicros: 200_000 };
  await assert.rejects(
    () => m2.send(ctx({}, "p-new"), sendCall(ok.run, { quote: () => Promise.resolve(tooDear) })),
    (e: unknown) => e instanceof ServiceError && e.code === "RATE_LIMITED" && !e.retryable,
  );
  const unpriced = { ...QUOTE, costMicros: null };
  await assert.rejects(
    () => m2.send(ctx({}, "p-new"), sendCall(ok.run, { quote: () => Promise.resolve(unpriced) })),
    { code: "INVALID_INPUT" },
  );
});

Deno.test("send: the user is asked when the client can be; a decline runs nothing", async () => {
  const m = money();
  const a = action(() => SENT);
  const asked: string[] = [];
  const answering = (answer: ConfirmAnswer) =>
    ctx({
      confirm: ({ message }) => {
        asked.push(message);
        return Promise.resolve({ action: answer });
      },
    });
  assert.deepEqual(await m.send(answering("decline"), sendCall(a.run)), {
    status: "not_sent",
    reason: "declined",
  });
  assert.deepEqual(await m.send(answering("cancel"), sendCall(a.run)), {
    status: "not_sent",
    reason: "cancelled",
  });
  assert.equal(a.calls.n, 0);
  assert.deepEqual(await m.send(answering("accept"), sendCall(a.run)), SENT);
  assert.equal(a.calls.n, 1);
  assert.deepEqual(asked, ["Send? 0.05", "Send? 0.05", "Send? 0.05"]);
});

Deno.test("send: confirmation tokens are bound to caller and arguments, and single-use", async () => {
  const m = money();
  const a = action(() => SENT);
  const call = sendCall(a.run);
  const { token, expiresInSeconds } = await m.confirmationToken(ctx(), "send_sms", call.args);
  assert.equal(expiresInSeconds, 600);
  await assert.rejects(
    () =>
      m.send(ctx(), {
        ...call,
        args: { ...call.args, message: "other" },
        confirmationToken: token,
      }),
    /other arguments/,
  );
  await assert.rejects(
    () => m.send(ctx({}, "principal-B"), { ...call, confirmationToken: token }),
    /other arguments/,
  );
  assert.deepEqual(await m.send(ctx(), { ...call, confirmationToken: token }), SENT);
  await assert.rejects(() => m.send(ctx(), { ...call, confirmationToken: token }), /already used/);
  assert.equal(a.calls.n, 1);
});

const CAP = (micros: number): SendLimits => ({
  sendsPerMinute: 0,
  recipientsPerHour: 0,
  dailySpendCapMicros: micros,
  pinTextsPerHour: 0,
});

Deno.test("only a definite refusal frees a key and its counts: a 5xx or an unreadable answer is unknown", async () => {
  const store = new MemoryStore();
  const m = money({ store, limits: CAP(1_000_000) });
  const gateway = new ServiceError("UPSTREAM_UNAVAILABLE", "HTTP 504", {
    retryable: false,
    outcomeUnknown: true,
  });
  const garbled = new ServiceError("UPSTREAM_BAD_RESPONSE", "not JSON");
  for (const error of [gateway, garbled]) {
    const run = action(() => {
      throw error;
    });
    const call = sendCall(run.run, { idempotencyKey: `k-${error.code}` });
    await assert.rejects(() => m.send(ctx(), call), (e: unknown) => {
      assert.ok(e instanceof ServiceError && e.code === error.code);
      assert.equal(e.facts.outcomeUnknown, true, `${error.code}: the outcome is unknown`);
      assert.equal(e.retryable, false);
      return true;
    });
    await assert.rejects(() => m.send(ctx(), call), { code: error.code });
    assert.equal(run.calls.n, 1, `${error.code}: a retry with the key is replayed, not sent`);
  }
  // Both maybe-billed sends still count against the cap (2 × €0.05).
  const spend = await store.getMany<{ n: number; exp: number }>([[
    "limit",
    "principal-A",
    "spend",
  ]]);
  assert.equal(spend[0]!.value?.n, 100_000);
});

Deno.test("a token VertexSMS rejects leaves no record and no counter behind", async () => {
  const store = new MemoryStore();
  const m = money({
    store,
    limits: { sendsPerMinute: 5, recipientsPerHour: 5, dailySpendCapMicros: 0, pinTextsPerHour: 5 },
  });
  const rejected = () => {
    throw new ServiceError("AUTH_INVALID", "VertexSMS rejected the provided token.");
  };
  for (let i = 0; i < 20; i++) {
    await assert.rejects(
      () => m.send(ctx({}, `made-up-${i}`), sendCall(rejected, { idempotencyKey: `k${i}` })),
      { code: "AUTH_INVALID" },
    );
    await assert.rejects(() =>
      m.once(ctx({}, `made-up-${i}`), {
        tool: "lookup_hlr",
        args: {},
        idempotencyKey: `h${i}`,
        run: rejected,
      }), { code: "AUTH_INVALID" });
    await assert.rejects(() => m.pinText(ctx({}, `made-up-${i}`), "+37069555555", rejected), {
      code: "AUTH_INVALID",
    });
  }
  assert.equal(store.size, 0, "nothing is kept for callers VertexSMS does not accept");
});

Deno.test("a full memory store refuses new keys instead of dropping another caller's record", async () => {
  const store = new MemoryStore({ maxEntries: 1000, maxPerOwner: 3 });
  const m = money({ store });
  const sent = action(() => SENT);
  const customer = sendCall(sent.run, { idempotencyKey: "customer-order-1" });
  await m.send(ctx({}, "customer"), customer);
  for (let i = 0; i < 3; i++) {
    await m.send(ctx({}, "flood"), sendCall(sent.run, { idempotencyKey: `f${i}` }));
  }
  const sends = sent.calls.n;
  await assert.rejects(
    () => m.send(ctx({}, "flood"), sendCall(sent.run, { idempotencyKey: "f3" })),
    (e: unknown) => e instanceof ServiceError && e.code === "RATE_LIMITED",
  );
  assert.equal(sent.calls.n, sends, "the refused call sent nothing");
  assert.deepEqual(await m.send(ctx({}, "customer"), customer), SENT);
  assert.equal(sent.calls.n, sends, "the customer's retry is still replayed");
});

Deno.test("an in-band accept counts once: a replayed answer is asked again", async () => {
  const m = money();
  const a = action(() => SENT);
  const asked: boolean[] = [];
  const replaying = ctx({
    confirm: (q) => {
      asked.push(q.fresh === true);
      return Promise.resolve(q.fresh ? { action: "cancel" } : { action: "accept", receipt: "r-1" });
    },
  });
  assert.deepEqual(await m.send(replaying, sendCall(a.run)), SENT);
  assert.deepEqual(await m.send(replaying, sendCall(a.run)), {
    status: "not_sent",
    reason: "cancelled",
  });
  assert.deepEqual(asked, [false, false, true], "the second accept was spent: asked afresh");
  assert.equal(a.calls.n, 1);
});

Deno.test("a confirmation token is spent by its nonce: no re-spelling sends again", async () => {
  const m = money();
  const a = action(() => SENT);
  const call = sendCall(a.run);
  const { token } = await m.confirmationToken(ctx(), "send_sms", call.args);
  const last = token.at(-1)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // The signature is 32 bytes: its last base64url character carries 2 spare bits.
  const flipped = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
  const dot = token.lastIndexOf(".");
  const respelled = [
    `${token}=`,
    `${token.slice(0, dot + 1)} ${token.slice(dot + 1)}`,
    `${token.slice(0, dot + 5)}\n${token.slice(dot + 5)}`,
    flipped,
  ];
  assert.deepEqual(await m.send(ctx(), { ...call, confirmationToken: token }), SENT);
  for (const variant of [token, ...respelled]) {
    await assert.rejects(
      () => m.send(ctx(), { ...call, confirmationToken: variant }),
      { code: "INVALID_INPUT" },
      JSON.stringify(variant.slice(-8)),
    );
  }
  assert.equal(a.calls.n, 1, "one token, one send");
  // A fresh token spelled oddly is refused before anything is spent.
  const fresh = (await m.confirmationToken(ctx(), "send_sms", call.args)).token;
  await assert.rejects(() => m.send(ctx(), { ...call, confirmationToken: `${fresh}=` }), /invalid/);
  assert.deepEqual(await m.send(ctx(), { ...call, confirmationToken: fresh }), SENT);
});

Deno.test("the spend cap is corrected to the parts VertexSMS reports billing", async () => {
  const m = money({ limits: CAP(190_000) });
  const a = action(() => SENT);
  // Estimated 1 part (€0.05) each; VertexSMS reports 3 parts: €0.15 each.
  const threeParts = sendCall(a.run, { billedParts: () => 3 });
  await m.send(ctx(), threeParts);
  await assert.rejects(() => m.send(ctx(), threeParts), (e: unknown) => {
    assert.ok(e instanceof ServiceError && e.code === "RATE_LIMITED");
    assert.match(e.message, /€0.20, over the cap of €0.19/);
    return true;
  });
  assert.equal(
    a.calls.n,
    1,
    "the second send would pass on estimates (€0.10), not on what was billed",
  );
});

Deno.test("PIN texts are limited per token and per number", async () => {
  const m = money({
    limits: { sendsPerMinute: 0, recipientsPerHour: 0, dailySpendCapMicros: 0, pinTextsPerHour: 2 },
  });
  const pin = action(() => Promise.resolve(123));
  await m.pinText(ctx(), "+37069555555", pin.run);
  await m.pinText(ctx(), "+37069555555", pin.run);
  await assert.rejects(
    () => m.pinText(ctx(), "+37069555555", pin.run),
    /This token already got 2 PIN texts/,
  );
  await assert.rejects(
    () => m.pinText(ctx({}, "B"), "+37069555555", pin.run),
    /This number already got 2/,
  );
  await m.pinText(ctx({}, "B"), "+37069555556", pin.run);
  assert.equal(pin.calls.n, 3);
});

Deno.test("require: without in-band asking, a person's approval on its page sends exactly once", async () => {
  const t = clock();
  const m = money({ confirmation: "require", now: t.fn });
  const a = action(() => SENT);
  const first = await m.send(ctx(), sendCall(a.run)) as { status: string; id: string };
  assert.equal(first.status, "approval_required");
  assert.equal(a.calls.n, 0, "nothing sent before a person approved");
  const withApproval = sendCall(a.run, { approvalId: first.id });
  assert.deepEqual(await m.send(ctx(), withApproval), first, "still pending: asked again");

  const view = (await m.approvals.view(first.id))!;
  assert.equal(view.state, "pending");
  assert.equal(view.details.message, "hi");
  assert.equal(await m.approvals.decide(first.id, "approve", "forged"), "forbidden");
  assert.equal(await m.approvals.decide(first.id, "approve", view.formToken), "approved");
  assert.equal(await m.approvals.decide(first.id, "decline", view.formToken), "stale");

  await assert.rejects(
    () => m.send(ctx({}, "principal-B"), withApproval),
    (e: unknown) => e instanceof ServiceError && /other arguments or another token/.test(e.message),
  );
  await assert.rejects(
    () => m.send(ctx(), { ...withApproval, args: { ...withApproval.args, message: "other" } }),
    { code: "INVALID_INPUT" },
  );
  assert.equal(a.calls.n, 0);
  assert.deepEqual(await m.send(ctx(), withApproval), SENT);
  assert.deepEqual(await m.send(ctx(), withApproval), SENT, "a repeat replays the send");
  assert.equal(a.calls.n, 1, "one approval, one send");
  assert.equal((await m.approvals.view(first.id))!.state, "used");
  // With another explicit key, the spent approval is refused rather than sent again.
  await assert.rejects(
    () => m.send(ctx(), { ...withApproval, idempotencyKey: "other-key" }),
    /already used/,
  );
  assert.equal(a.calls.n, 1);
});

Deno.test("require: a declined approval sends nothing; an expired one neither; a waiting call sees the click", async () => {
  const t = clock();
  const m = money({ confirmation: "require", now: t.fn });
  const a = action(() => SENT);
  const declined = await m.send(ctx(), sendCall(a.run)) as { id: string };
  const token = (await m.approvals.view(declined.id))!.formToken;
  assert.equal(await m.approvals.decide(declined.id, "decline", token), "declined");
  assert.deepEqual(await m.send(ctx(), sendCall(a.run, { approvalId: declined.id })), {
    status: "not_sent",
    reason: "declined",
  });

  const expiring = await m.send(ctx(), sendCall(a.run)) as { id: string };
  t.now += 601_000;
  assert.deepEqual(await m.send(ctx(), sendCall(a.run, { approvalId: expiring.id })), {
    status: "not_sent",
    reason: "expired",
  });
  const late = (await m.approvals.view(expiring.id))!.formToken;
  assert.equal(await m.approvals.decide(expiring.id, "approve", late), "stale");

  const waited = await m.send(ctx(), sendCall(a.run)) as { id: string };
  const click = (await m.approvals.view(waited.id))!.formToken;
  setTimeout(() => m.approvals.decide(waited.id, "approve", click), 100);
  const sent = await m.send(ctx(), sendCall(a.run, { approvalId: waited.id, waitSeconds: 5 }));
  assert.deepEqual(sent, SENT, "the call waited for the click");
  assert.equal(a.calls.n, 1);
});

Deno.test("off: nobody is asked, even a client that could be", async () => {
  const m = money({ confirmation: "off" });
  const a = action(() => SENT);
  let asked = 0;
  const askable = ctx({ confirm: () => (asked++, Promise.resolve({ action: "decline" })) });
  assert.deepEqual(await m.send(askable, sendCall(a.run)), SENT);
  assert.equal(asked, 0);
});

Deno.test("canonical JSON ignores key order and undefined", () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: undefined, c: "x" }] }), '{"a":[{"c":"x"}],"b":1}');
});

Deno.test("a secret rotation keeps idempotency: records of either secret are found, new ones by both", async () => {
  const store = new MemoryStore();
  const NEW = new TextEncoder().encode("the-new-unit-test-secret-of-32-bytes!");
  const before = money({ store, secret: SECRET });
  const during = money({ store, secret: NEW, previousSecret: () => Promise.resolve(SECRET) });
  const after = money({ store, secret: NEW });
  // Principals are keyed hashes, so they change with the secret; `previous` is the old one.
  const oldCtx = ctx({}, "principal-under-old");
  const newCtx = ctx({}, "principal-under-new");
  newCtx.principal.previous = () => Promise.resolve("principal-under-old");
  const a = action(() => SENT);
  const call = { tool: "send_sms", args: { to: "+1" }, idempotencyKey: "k1", run: a.run };

  assert.deepEqual(await before.once(oldCtx, call), SENT);
  assert.deepEqual(await during.once(newCtx, call), SENT, "a record made before is replayed");
  assert.equal(a.calls.n, 1);
  await assert.rejects(() => during.once(newCtx, { ...call, args: { to: "+2" } }), {
    code: "INVALID_INPUT",
  });

  const k2 = { ...call, idempotencyKey: "k2" };
  assert.deepEqual(await during.once(newCtx, k2), SENT);
  assert.equal(a.calls.n, 2);
  assert.deepEqual(await before.once(oldCtx, k2), SENT, "an instance not yet restarted finds it");
  assert.equal(a.calls.n, 2);

  // Without the previous secret, the first record would be lost: the call runs again.
  const plainCtx = ctx({}, "principal-under-new");
  assert.deepEqual(await after.once(plainCtx, { ...call, idempotencyKey: "k1" }), SENT);
  assert.equal(a.calls.n, 3);
});
