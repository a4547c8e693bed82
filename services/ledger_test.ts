/**
 * The ledger on each backend (memory, Deno KV, Redis): what it records and
 * reads back, the bound (oldest dropped first, nothing left behind), the
 * retention, delivery reports (a final status is kept), tallies against
 * entry-by-entry counts, concurrent writers on two connections, the
 * capability, and a failing state (a write is logged, a read refused).
 */
import assert from "node:assert/strict";
import { deriveKey, memo } from "../core/keys.ts";
import { Logger } from "../core/log.ts";
import { aesKey } from "../core/seal.ts";
import {
  kvState,
  MemoryStore,
  redisState,
  stateUnavailable,
  type Store,
  type StoreCommit,
  type StoreKey,
} from "../state/mod.ts";
import { redisTest, startRedis } from "../testing/redis.ts";
import type { DeliveryReport } from "../vertex/mod.ts";
import { Ledger, type LedgerOptions, type SentMessage } from "./ledger.ts";
import { ledgerStore } from "./ledger_records.ts";

const SECRET = new TextEncoder().encode("ledger-test-secret-of-at-least-32-bytes!");
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);

/** A ledger over `store`, on a clock the test moves. */
function ledgerOn(
  store: Store,
  options: Partial<LedgerOptions> & { clock?: { now: number } } = {},
) {
  const clock = options.clock ?? { now: T0 };
  const logs: string[] = [];
  const seal = deriveKey(SECRET, "ledger-seal");
  const cap = deriveKey(SECRET, "dlr-capability");
  const ledger = new Ledger({
    store,
    sealKey: memo(async () => await aesKey(await seal())),
    capabilityKey: memo(async () => await aesKey(await cap())),
    idKey: deriveKey(SECRET, "ledger-id"),
    days: 7,
    reachable: true,
    publicUrl: "https://mcp.example.com",
    logger: new Logger("debug", (line) => logs.push(line)),
    now: () => clock.now,
    ...options,
  });
  return { ledger, clock, logs };
}

function message(i: number, extra: Partial<SentMessage> = {}): SentMessage {
  return {
    messageId: String(1281532560 + i),
    destination: `+3706991${String(i).padStart(4, "0")}`,
    parts: 1 + (i % 2),
    costMicros: 50_000 * (1 + (i % 2)),
    batchId: null,
    status: "sent",
    ...extra,
  };
}

const delivered = (i: number): DeliveryReport => ({
  messageId: String(1281532560 + i),
  status: "delivered",
  errorCode: 0,
});

/**
 * Every behaviour a backend must show (a fresh store each run); `held` counts
 * the keys token A holds in it.
 */
async function contract(store: Store, held: () => Promise<number>) {
  const { ledger, clock } = ledgerOn(store, { bound: 20, bucket: 5 });
  const A = "principal-A";
  const B = "principal-B";

  // Recorded and read back, in input order; another token sees nothing of it.
  await ledger.record(A, [message(0), message(1, { status: "scheduled", batchId: "batch-1" })]);
  const [first, second, none] = await ledger.entries(A, [
    message(0).messageId,
    message(1).messageId,
    "999",
  ]);
  assert.deepEqual(first, {
    ...message(0),
    errorCode: null,
    sentAt: T0,
    updatedAt: T0,
  });
  assert.equal(second?.status, "scheduled");
  assert.equal(second?.batchId, "batch-1");
  assert.equal(none, null);
  assert.deepEqual(await ledger.entries(B, [message(0).messageId]), [null]);

  // A message recorded again (a retried record) is not counted twice.
  await ledger.record(A, [message(1, { status: "scheduled", batchId: "batch-1" })]);
  assert.equal((await ledger.usage(A, 0, 50)).sends, 2);

  // Reports: a final status stays; intermediate, late or other final reports change nothing.
  clock.now += 4_000;
  assert.equal(await ledger.deliver(A, delivered(0)), true);
  assert.equal(await ledger.deliver(A, { ...delivered(0), status: null }), true);
  assert.equal(
    await ledger.deliver(A, { ...delivered(0), status: "undelivered", errorCode: 1 }),
    true,
  );
  const [after] = await ledger.entries(A, [message(0).messageId]);
  assert.equal(after?.status, "delivered");
  assert.equal(after?.errorCode, 0);
  assert.equal(after?.updatedAt, T0 + 4_000);
  assert.equal(await ledger.deliver(B, delivered(0)), false, "not B's message");
  assert.equal(await ledger.deliver(A, delivered(77)), false, "never sent");

  // Usage: tallies of whole buckets, entry by entry where `since` cuts one.
  for (let i = 2; i < 12; i++) {
    clock.now = T0 + i * 60_000;
    await ledger.record(A, [message(i)]);
  }
  await ledger.deliver(A, { ...delivered(3), status: "undelivered", errorCode: 1 });
  await ledger.deliver(A, { ...delivered(9), status: "expired", errorCode: 2 });
  await ledger.deliver(A, delivered(10));
  const all = await ledger.usage(A, 0, 3);
  assert.deepEqual(
    { ...all, recent: all.recent.map((e) => e.messageId) },
    {
      sends: 12,
      parts: 18,
      costMicros: 900_000,
      delivered: 2,
      undelivered: 1,
      expired: 1,
      recent: [11, 10, 9].map((i) => message(i).messageId),
    },
  );
  const since = await ledger.usage(A, T0 + 3 * 60_000, 0);
  assert.deepEqual(
    [since.sends, since.delivered, since.undelivered, since.expired],
    [9, 1, 1, 1],
    "messages 3 … 11 (cut inside the first bucket)",
  );

  // The bound: 20 entries; recording more drops the oldest, in one go or one by one.
  await ledger.record(A, Array.from({ length: 15 }, (_, k) => message(12 + k)));
  clock.now += 60_000;
  for (let i = 27; i < 30; i++) await ledger.record(A, [message(i)]);
  const kept = await ledger.entries(A, Array.from({ length: 30 }, (_, i) => message(i).messageId));
  assert.deepEqual(
    kept.map((e, i) => e === null ? null : i),
    [...Array(10).fill(null), ...Array.from({ length: 20 }, (_, i) => 10 + i)],
  );
  const bounded = await ledger.usage(A, 0, 50);
  assert.equal(bounded.sends, 20);
  assert.equal(bounded.recent.length, 20);
  assert.equal(bounded.delivered, 1, "message 10's report counts; 0's left with it");
  assert.equal(await ledger.deliver(A, delivered(5)), false, "a dropped message is unknown");
  // Nothing of the dropped is left: entries 10 … 29 (two keys each), buckets 2 … 5, the head.
  assert.equal(await held(), 2 * 20 + 4 + 1);

  // Retention: seven days after the last send, nothing is left to read.
  clock.now += 7 * DAY + 1;
  assert.deepEqual(await ledger.entries(A, [message(29).messageId]), [null]);
  assert.equal((await ledger.usage(A, 0, 50)).sends, 0);
}

Deno.test("ledger on memory: records, reports, tallies, bound, retention", async () => {
  const store = new MemoryStore();
  await contract(store, () => Promise.resolve(store.held("principal-A")));
});

Deno.test("ledger on Deno KV: the same", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await contract(kvState(kv).store, async () => {
      let n = 0;
      for await (const _ of kv.list({ prefix: ["ledger", "principal-A"] })) n++;
      return n;
    });
  } finally {
    kv.close();
  }
});

redisTest("ledger on Redis: the same", async () => {
  const server = await startRedis();
  const state = await redisState({ url: server.url });
  try {
    await contract(state.store, async () => {
      const reply = await server.command("KEYS", `vxmcp:s:\\["ledger","principal-A",*`);
      return Number(/^\*(\d+)/.exec(reply)?.[1]);
    });
  } finally {
    await state.close();
    await server.close();
  }
});

Deno.test("the bound leaves nothing behind: 2 keys per entry, the tallies of their buckets, a head", async () => {
  const store = new MemoryStore();
  const { ledger } = ledgerOn(store, { bound: 20, bucket: 5 });
  for (let i = 0; i < 7; i++) {
    await ledger.record("P", Array.from({ length: 9 }, (_, k) => message(i * 9 + k)));
  }
  // Entries 43 … 62 live: buckets 8 (partly dropped) to 12.
  assert.equal(store.held("P"), 2 * 20 + 5 + 1);
  assert.equal((await ledger.usage("P", 0, 0)).sends, 20);
});

Deno.test("the memory ledger has a store of its own, sized for the bound; shared backends share", () => {
  const shared = new MemoryStore();
  const own = ledgerStore(shared) as MemoryStore;
  assert.notEqual(own, shared, "the ledger never takes the guards' room");
  assert.ok(own.maxPerOwner >= 2 * 10_000 + 10_000 / 50 + 2);
  const kvLike = { ...shared, kind: "kv" } as unknown as Store;
  assert.equal(ledgerStore(kvLike), kvLike);
});

Deno.test("two instances recording for one token at once (one KV file): every message, in one sequence", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  try {
    const a = ledgerOn(kvState(kvA).store).ledger;
    const b = ledgerOn(kvState(kvB).store).ledger;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).record("P", [message(i)])),
    );
    const usage = await a.usage("P", 0, 50);
    assert.equal(usage.sends, 40);
    assert.deepEqual(
      usage.recent.map((e) => e.messageId).sort(),
      Array.from({ length: 40 }, (_, i) => message(i).messageId).sort(),
    );
    assert.equal((await kvA.get(["ledger", "P", "head"])).value !== null, true);
    assert.equal((await kvA.get<{ n: number }>(["ledger", "P", "head"])).value?.n, 40);
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("a report's capability opens only as issued, for its retention, under its own key", async () => {
  const { ledger, clock } = ledgerOn(new MemoryStore());
  const principal = "p".repeat(43); // a token's keyed hash is 43 characters of base64url
  const url = await ledger.dlrUrl(principal);
  assert.ok(url);
  const capability = url.slice("https://mcp.example.com/callbacks/dlr/".length);
  assert.match(capability, /^[A-Za-z0-9_-]{90,120}$/);
  assert.ok(!capability.includes("ppppp"));
  assert.equal(await ledger.owner(capability), principal);
  assert.equal(await ledger.dlrUrl(principal), url, "the same all day");
  clock.now += DAY;
  assert.notEqual(await ledger.dlrUrl(principal), url, "a new one the next day");
  clock.now -= DAY;
  const flipped = capability.slice(0, 50) + (capability[50] === "A" ? "B" : "A") +
    capability.slice(51);
  assert.equal(await ledger.owner(flipped), null);
  assert.equal(await ledger.owner("A".repeat(103)), null);
  assert.equal(await ledger.owner("../../etc"), null);
  // Another secret (another server) cannot open it.
  const other = new Ledger({
    ...ledgerOptionsWith(new TextEncoder().encode("another-secret-of-at-least-32-bytes-long")),
    now: () => clock.now,
  });
  assert.equal(await other.owner(capability), null);
  // Valid through the retention (7 days) and a day of slack, then no more.
  clock.now += 8 * DAY;
  assert.equal(await ledger.owner(capability), principal);
  clock.now += DAY;
  assert.equal(await ledger.owner(capability), null);
});

function ledgerOptionsWith(secret: Uint8Array<ArrayBuffer>): LedgerOptions {
  const seal = deriveKey(secret, "ledger-seal");
  const cap = deriveKey(secret, "dlr-capability");
  return {
    store: new MemoryStore(),
    sealKey: memo(async () => await aesKey(await seal())),
    capabilityKey: memo(async () => await aesKey(await cap())),
    idKey: deriveKey(secret, "ledger-id"),
    days: 7,
    reachable: true,
    publicUrl: "https://mcp.example.com",
    logger: new Logger("error", () => {}),
  };
}

Deno.test("off (0 days) or unreachable: no dlrUrl; off also records nothing and opens no capability", async () => {
  const store = new MemoryStore();
  const off = ledgerOn(store, { days: 0 }).ledger;
  assert.equal(off.deliveryReports, "unavailable");
  assert.equal(await off.dlrUrl("P"), undefined);
  await off.record("P", [message(0)]);
  assert.equal(store.size, 0);
  assert.deepEqual(await off.entries("P", [message(0).messageId]), [null]);
  const on = ledgerOn(new MemoryStore()).ledger;
  const capability = (await on.dlrUrl("p".repeat(43)))!.split("/").pop()!;
  assert.equal(await on.owner(capability), "p".repeat(43));
  assert.equal(await off.owner(capability), null);

  const unreachable = ledgerOn(store, { reachable: false }).ledger;
  assert.equal(unreachable.deliveryReports, "unavailable");
  assert.equal(await unreachable.dlrUrl("P"), undefined);
  await unreachable.record("P", [message(0)]);
  assert.equal((await unreachable.entries("P", [message(0).messageId]))[0]?.status, "sent");
});

/** A store that fails every operation like an unreachable Redis once switched off. */
class SwitchedStore extends MemoryStore {
  down = false;
  override getMany<T extends { exp: number }>(keys: StoreKey[]) {
    if (this.down) return Promise.reject(stateUnavailable("Redis", new Error("ECONNREFUSED")));
    return super.getMany<T>(keys);
  }
  override commit(commit: StoreCommit) {
    if (this.down) return Promise.reject(stateUnavailable("Redis", new Error("ECONNREFUSED")));
    return super.commit(commit);
  }
}

Deno.test("state down: a write is logged without personal data and never thrown; reads are refused", async () => {
  const store = new SwitchedStore();
  const { ledger, logs } = ledgerOn(store);
  store.down = true;
  await ledger.record("P", [message(0)]);
  assert.equal(logs.length, 1);
  const line = JSON.parse(logs[0]!);
  assert.equal(line.msg, "ledger write failed");
  assert.equal(line.level, "warn");
  for (const secret of [message(0).destination.slice(1), message(0).messageId, "50000"]) {
    assert.ok(!logs[0]!.includes(secret), `the log line holds ${secret}`);
  }
  for (const read of [() => ledger.entries("P", ["1"]), () => ledger.usage("P", 0, 10)]) {
    await assert.rejects(read, (e: unknown) => {
      const error = e as { code?: string; retryable?: boolean; message?: string };
      assert.equal(error.code, "UPSTREAM_UNAVAILABLE");
      assert.equal(error.retryable, true);
      assert.match(String(error.message), /ledger of sent messages cannot be read/);
      return true;
    });
  }
  await assert.rejects(() => ledger.deliver("P", delivered(0)), /ledger/);
});
