import assert from "node:assert/strict";
import { KvMailboxes, type Mailboxes, MemoryMailboxes } from "./mailbox.ts";

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
