import assert from "node:assert/strict";
import { KvMailboxes, type Mailboxes, MemoryMailboxes } from "./mailbox.ts";
import { redisState } from "./redis.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

const never = new AbortController().signal;

/** The contract every backend keeps: one delivery per reservation, nothing for the unknown. */
async function contract(receiver: Mailboxes, deliverer: Mailboxes) {
  await receiver.reserve("t", "a", 5_000);
  const pending = receiver.receive("t", "a", 3_000, never);
  assert.equal(await deliverer.deliver("t", "a", "first"), true);
  assert.equal(await pending, "first");
  assert.equal(await deliverer.deliver("t", "a", "again"), false, "a replay is refused");
  assert.equal(await receiver.deliver("t", "a", "again"), false);
  assert.equal(await deliverer.deliver("t", "never-reserved", "x"), false);
  await receiver.release("t", "a");

  await receiver.reserve("t", "b", 5_000);
  assert.equal(
    await receiver.receive("t", "b", 50, never),
    null,
    "nothing delivered: null at timeout",
  );
  await receiver.release("t", "b");
  assert.equal(await deliverer.deliver("t", "b", "late"), false, "a released id is dead");

  await receiver.reserve("t", "c", 5_000);
  const aborted = new AbortController();
  const waiting = receiver.receive("t", "c", 3_000, aborted.signal);
  aborted.abort();
  assert.equal(await waiting, null, "an aborted receive ends at once");
  await receiver.release("t", "c");
}

Deno.test("memory mailboxes: one delivery per reservation", async () => {
  const boxes = new MemoryMailboxes();
  await contract(boxes, boxes);
});

Deno.test("KV mailboxes: delivered by another connection, or on the same instance", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  try {
    const a = new KvMailboxes(kvA, { pollMs: 25 });
    await contract(a, new KvMailboxes(kvB, { pollMs: 25 }));
    await contract(a, a);
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(path).catch(() => {});
  }
});

redisTest("Redis mailboxes: delivered by another connection, or on the same instance", async () => {
  const server = await startRedis();
  // A long poll: a delivery from elsewhere must arrive by its published wake-up.
  const a = await redisState({ url: server.url, pollMs: 10_000 });
  const b = await redisState({ url: server.url, pollMs: 10_000 });
  try {
    await contract(a.mailboxes, b.mailboxes);
    await contract(a.mailboxes, a.mailboxes);

    // Delivered before the receiver started to wait: the value key holds it.
    await a.mailboxes.reserve("t", "early", 5_000);
    assert.equal(await b.mailboxes.deliver("t", "early", "kept"), true);
    const started = performance.now();
    assert.equal(await a.mailboxes.receive("t", "early", 3_000, never), "kept");
    assert.ok(performance.now() - started < 1_000, "read at once, not at the next poll");
    await a.mailboxes.release("t", "early");
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

redisTest("Redis mailboxes: a lost wake-up costs a poll, never the result", async () => {
  const server = await startRedis();
  const a = await redisState({ url: server.url, pollMs: 100 });
  try {
    await a.mailboxes.reserve("t", "quiet", 5_000);
    const pending = a.mailboxes.receive("t", "quiet", 3_000, never);
    // Deliver as another instance would, minus the wake-up (as if lost in a reconnect).
    const open = `vxmcp:m:${JSON.stringify(["t", "open", "quiet"])}`;
    const value = `vxmcp:m:${JSON.stringify(["t", "value", "quiet"])}`;
    assert.equal(await server.command("DEL", open), ":1\r\n");
    assert.equal(await server.command("SET", value, "polled", "PX", "60000"), "+OK\r\n");
    assert.equal(await pending, "polled");
    await a.mailboxes.release("t", "quiet");
    assert.equal(await server.command("EXISTS", value), ":0\r\n", "release drops the value");
  } finally {
    await a.close();
    await server.close();
  }
});
