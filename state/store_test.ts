import assert from "node:assert/strict";
import { KvStore, whileLocked } from "./kv.ts";
import { MemoryStore } from "./memory.ts";
import { redisState } from "./redis.ts";
import { GRACE_MS, type Store, StoreFullError } from "./store.ts";
import { redisTest, startRedis } from "../testing/redis.ts";

/** The contract both stores keep: check-and-set commits, versionstamps, deletes. */
async function contract(store: Store) {
  const key = ["t", "a"];
  const [absent] = await store.getMany([key]);
  assert.deepEqual([absent!.value, absent!.versionstamp], [null, null]);

  const value = { exp: Date.now() + 60_000, n: 1 };
  assert.ok(await store.commit({ checks: [absent!], sets: [{ key, value }], deletes: [] }));
  assert.equal(
    await store.commit({ checks: [absent!], sets: [{ key, value }], deletes: [] }),
    false,
    "a stale check fails the whole commit",
  );
  const [present] = await store.getMany<{ exp: number; n: number }>([key]);
  assert.equal(present!.value?.n, 1);
  assert.notEqual(present!.versionstamp, null);

  const other = ["t", "b"];
  const [b] = await store.getMany([other]);
  const ok = await store.commit({
    checks: [present!, b!],
    sets: [{ key: other, value: { exp: value.exp } }],
    deletes: [key],
  });
  assert.ok(ok);
  const [gone, made] = await store.getMany([key, other]);
  assert.equal(gone!.value, null);
  assert.notEqual(made!.value, null);
}

Deno.test("memory store: check-and-set contract", async () => {
  await contract(new MemoryStore());
});

Deno.test("KV store: check-and-set contract, shared by two connections", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sqlite" });
  const kvA = await Deno.openKv(path);
  const kvB = await Deno.openKv(path);
  try {
    await contract(new KvStore(kvA));
    const [seen] = await new KvStore(kvB).getMany<{ exp: number }>([["t", "b"]]);
    assert.notEqual(seen!.value, null, "the other connection sees the write");
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(path).catch(() => {});
  }
});

redisTest("Redis store: check-and-set contract, shared by two connections", async () => {
  const server = await startRedis();
  const a = await redisState({ url: server.url });
  const b = await redisState({ url: server.url });
  try {
    await contract(a.store);
    const [seen] = await b.store.getMany<{ exp: number }>([["t", "b"]]);
    assert.notEqual(seen!.value, null, "the other connection sees the write");

    // Keys are tuples: ["x:y"] and ["x", "y"] are different entries.
    const [joined, split] = await a.store.getMany([["x:y"], ["x", "y"]]);
    const exp = Date.now() + 60_000;
    assert.ok(
      await a.store.commit({
        checks: [joined!],
        sets: [{ key: ["x:y"], value: { exp } }],
        deletes: [],
      }),
    );
    const [stillAbsent] = await b.store.getMany([["x", "y"]]);
    assert.deepEqual([split!.versionstamp, stillAbsent!.versionstamp], [null, null]);

    // Concurrent check-and-set from two connections: exactly one of them wins.
    const key = ["t", "race"];
    const [seenA, seenB] = [(await a.store.getMany([key]))[0]!, (await b.store.getMany([key]))[0]!];
    const by = (name: string) => ({ exp, by: name });
    const won = await Promise.all([
      a.store.commit({ checks: [seenA], sets: [{ key, value: by("a") }], deletes: [] }),
      b.store.commit({ checks: [seenB], sets: [{ key, value: by("b") }], deletes: [] }),
    ]);
    assert.equal(won.filter(Boolean).length, 1, `one commit wins: ${won}`);

    // A key deleted and written again has a new version: a stale read cannot pass.
    const [before] = await a.store.getMany([key]);
    assert.ok(await b.store.commit({ checks: [], sets: [], deletes: [key] }));
    assert.ok(await b.store.commit({ checks: [], sets: [{ key, value: { exp } }], deletes: [] }));
    assert.equal(
      await a.store.commit({ checks: [before!], sets: [], deletes: [key] }),
      false,
      "the version read before the delete is stale",
    );

    // Expiry is a Redis TTL: the value's own `exp` plus the grace period.
    assert.ok(
      await a.store.commit({
        checks: [],
        sets: [{ key: ["t", "ttl"], value: { exp } }],
        deletes: [],
      }),
    );
    const reply = await server.command("PTTL", `vxmcp:s:${JSON.stringify(["t", "ttl"])}`);
    const ttl = Number(/^:(\d+)/.exec(reply)?.[1]);
    assert.ok(ttl > 55_000 + GRACE_MS && ttl <= 60_000 + GRACE_MS, `PTTL ${reply.trim()}`);
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

Deno.test("memory store: bounded without forgetting; expired entries make room first", async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ maxEntries: 3, maxPerOwner: 3, now: () => now });
  const put = async (owner: string, name: string, exp: number) => {
    const [entry] = await store.getMany([["t", owner, name]]);
    return await store.commit({
      checks: [entry!],
      sets: [{ key: ["t", owner, name], value: { exp } }],
      deletes: [],
    });
  };
  assert.ok(await put("A", "old", now + 1000));
  assert.ok(await put("A", "a", now + 600_000));
  assert.ok(await put("B", "b", now + 600_000));
  now += 120_000; // "old" is past its expiry and the grace period
  const [old] = await store.getMany([["t", "A", "old"]]);
  assert.equal(old!.value, null);
  assert.ok(await put("C", "c", now + 600_000));
  assert.equal(store.size, 3);
  await assert.rejects(() => put("D", "d", now + 600_000), StoreFullError);
  const values = await store.getMany([["t", "A", "a"], ["t", "B", "b"], ["t", "C", "c"]]);
  assert.deepEqual(
    values.map((v) => v.value !== null),
    [true, true, true],
    "no live entry dropped",
  );
  // Rewriting an existing key needs no room.
  const [a] = await store.getMany([["t", "A", "a"]]);
  assert.ok(
    await store.commit({
      checks: [a!],
      sets: [{ key: a!.key, value: { exp: now + 1 } }],
      deletes: [],
    }),
  );
});

Deno.test("memory store: one owner cannot take the room of the others", async () => {
  const store = new MemoryStore({ maxEntries: 100, maxPerOwner: 5 });
  const exp = Date.now() + 600_000;
  for (let i = 0; i < 5; i++) {
    assert.ok(
      await store.commit({
        checks: [],
        sets: [{ key: ["t", "flood", i], value: { exp } }],
        deletes: [],
      }),
    );
  }
  await assert.rejects(
    () =>
      store.commit({ checks: [], sets: [{ key: ["t", "flood", 5], value: { exp } }], deletes: [] }),
    (e) => e instanceof StoreFullError && e.owner === "flood",
  );
  assert.ok(
    await store.commit({
      checks: [],
      sets: [{ key: ["t", "other", 0], value: { exp } }],
      deletes: [],
    }),
  );
  assert.equal(store.held("flood"), 5);
  // Deleting gives the room back.
  assert.ok(await store.commit({ checks: [], sets: [], deletes: [["t", "flood", 0]] }));
  assert.equal(store.held("flood"), 4);
  assert.ok(
    await store.commit({
      checks: [],
      sets: [{ key: ["t", "flood", 9], value: { exp } }],
      deletes: [],
    }),
  );
});

Deno.test("whileLocked retries only a locked database", async () => {
  let calls = 0;
  const value = await whileLocked(() => {
    if (++calls < 3) throw new TypeError("database is locked");
    return Promise.resolve("ok");
  });
  assert.deepEqual([value, calls], ["ok", 3]);
  calls = 0;
  await assert.rejects(() =>
    whileLocked(() => {
      calls++;
      throw new TypeError("disk I/O error");
    })
  );
  assert.equal(calls, 1);
});

Deno.test("memory store: an owner at its share may replace keys in one commit, not grow", async () => {
  const store = new MemoryStore({ maxEntries: 100, maxPerOwner: 4 });
  const exp = Date.now() + 600_000;
  const key = (i: number) => ["t", "ledger", i] as const;
  const sets = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => ({ key: key(from + i), value: { exp } }));
  assert.ok(await store.commit({ checks: [], sets: sets(0, 4), deletes: [] }));
  // Rewrite one, add two, drop the two oldest (a bounded log moving on): no net growth.
  assert.ok(
    await store.commit({
      checks: [],
      sets: [...sets(3, 4), ...sets(4, 6)],
      deletes: [key(0), key(1)],
    }),
  );
  assert.equal(store.held("ledger"), 4);
  const rows = await store.getMany([key(0), key(2), key(5)]);
  assert.deepEqual(rows.map((r) => r.value !== null), [false, true, true]);
  // Growing past the share is still refused, and changes nothing.
  await assert.rejects(
    () => store.commit({ checks: [], sets: sets(6, 8), deletes: [key(2)] }),
    StoreFullError,
  );
  assert.equal(store.held("ledger"), 4);
});
