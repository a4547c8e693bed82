import assert from "node:assert/strict";
import { hmacKey } from "../core/keys.ts";
import { aesKey } from "../core/seal.ts";
import { KvMailboxes, type Mailboxes, MemoryMailboxes } from "../state/mod.ts";
import type { HlrResult } from "../vertex/mod.ts";
import { HlrBroker } from "./hlr_broker.ts";

const RESULT: HlrResult = {
  lookup_id: "1",
  status: "ok",
  error_code: 0,
  error_meaning: "no error",
  imsi: "246021005160000",
  country: "LT",
  operator_id: 493,
  mcc: "246",
  mnc: "021",
  ported: null,
};

const never = new AbortController().signal;
const key = await aesKey(crypto.getRandomValues(new Uint8Array(32)));
const nameKey = await hmacKey(crypto.getRandomValues(new Uint8Array(32)));
const broker = (mailboxes: Mailboxes, more: { maxWaiting?: number; maxPerCaller?: number } = {}) =>
  new HlrBroker({
    mailboxes,
    sealKey: () => Promise.resolve(key),
    nameKey: () => Promise.resolve(nameKey),
    ...more,
  });

Deno.test("in process: a delivered result reaches the waiting call once", async () => {
  const b = broker(new MemoryMailboxes());
  const wait = await b.open("caller");
  assert.match(wait.id, /^[A-Za-z0-9_-]{43}$/);
  const pending = wait.wait(2000, never);
  assert.equal(await b.deliver(wait.id, RESULT), true);
  assert.deepEqual(await pending, RESULT);
  assert.equal(await b.deliver(wait.id, RESULT), false, "replays are refused");
  assert.equal(await b.deliver("x".repeat(43), RESULT), false, "unknown ids are refused");
  await wait.close();
  assert.equal(b.waiting, 0);
});

Deno.test("a wait ends with null at its timeout, and the id is then dead", async () => {
  const b = broker(new MemoryMailboxes());
  const wait = await b.open("caller");
  assert.equal(await wait.wait(30, never), null);
  await wait.close();
  assert.equal(await b.deliver(wait.id, RESULT), false);
});

Deno.test("waiting lookups are bounded on the instance and per caller", async () => {
  const b = broker(new MemoryMailboxes(), { maxWaiting: 4, maxPerCaller: 2 });
  const mine = [await b.open("greedy"), await b.open("greedy")];
  await assert.rejects(
    () => b.open("greedy"),
    (e: Error & { code?: string }) =>
      e.code === "RATE_LIMITED" && /already has 2 HLR lookups waiting/.test(e.message),
  );
  const others = [await b.open("other"), await b.open("third")];
  await assert.rejects(() => b.open("fourth"), { code: "RATE_LIMITED" });
  for (const w of [...mine, ...others]) await w.close();
  assert.equal(b.waiting, 0);
  await (await b.open("greedy")).close();
});

Deno.test("across instances sharing one KV store: delivered once, sealed while it crosses, never under its id", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  try {
    const a = broker(new KvMailboxes(kvA, { pollMs: 50 }));
    const b = broker(new KvMailboxes(kvB, { pollMs: 50 }));
    const wait = await a.open("caller");
    assert.equal(await b.deliver(wait.id, RESULT), true, "instance B accepts A's id");
    // Before A reads it, the result sits in KV: never in clear, never under the callback id.
    let entries = 0;
    for await (const entry of kvB.list({ prefix: ["mailbox", "hlr"] })) {
      entries++;
      assert.ok(!JSON.stringify(entry.value).includes(RESULT.imsi!), "the IMSI is sealed");
      assert.ok(!JSON.stringify(entry).includes(wait.id), "the id is kept as a keyed hash");
    }
    assert.ok(entries > 0, "the hand-over went through KV");
    assert.deepEqual(await wait.wait(3000, never), RESULT);
    assert.equal(await b.deliver(wait.id, RESULT), false, "and only once");
    assert.equal(await a.deliver(wait.id, RESULT), false);
    await wait.close();
    assert.equal(await b.deliver("y".repeat(43), RESULT), false);
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(path).catch(() => {});
  }
});
