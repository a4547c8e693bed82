import assert from "node:assert/strict";
import type { HlrResult } from "../vertex/mod.ts";
import { HlrBroker } from "./hlr_broker.ts";

const RESULT: HlrResult = {
  lookup_id: "1",
  status: "ok",
  error_code: 0,
  error_meaning: "no error",
  imsi: null,
  country: "LT",
  operator_id: 493,
  mcc: "246",
  mnc: "021",
  ported: null,
};

const never = new AbortController().signal;

Deno.test("in process: a delivered result reaches the waiting call once", async () => {
  const broker = new HlrBroker({ kv: null });
  const wait = await broker.open();
  assert.match(wait.id, /^[A-Za-z0-9_-]{43}$/);
  const pending = wait.wait(2000, never);
  assert.equal(await broker.deliver(wait.id, RESULT), true);
  assert.deepEqual(await pending, RESULT);
  assert.equal(await broker.deliver(wait.id, RESULT), false, "replays are refused");
  assert.equal(await broker.deliver("x".repeat(43), RESULT), false, "unknown ids are refused");
  await wait.close();
  assert.equal(broker.waiting, 0);
});

Deno.test("a wait ends with null at its timeout, and the id is then dead", async () => {
  const broker = new HlrBroker({ kv: null });
  const wait = await broker.open();
  assert.equal(await wait.wait(30, never), null);
  await wait.close();
  assert.equal(await broker.deliver(wait.id, RESULT), false);
});

Deno.test("the number of waiting lookups is bounded", async () => {
  const broker = new HlrBroker({ kv: null, maxWaiting: 3 });
  const waits = [await broker.open(), await broker.open(), await broker.open()];
  await assert.rejects(() => broker.open(), { code: "RATE_LIMITED" });
  for (const w of waits) await w.close();
  await (await broker.open()).close();
});

Deno.test("across instances sharing one KV store", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  try {
    const a = new HlrBroker({ kv: kvA, pollMs: 50 });
    const b = new HlrBroker({ kv: kvB, pollMs: 50 });
    const wait = await a.open();
    const pending = wait.wait(3000, never);
    assert.equal(await b.deliver(wait.id, RESULT), true, "instance B accepts A's id");
    assert.deepEqual(await pending, RESULT);
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
