import assert from "node:assert/strict";
import { KvStore, whileLocked } from "./kv.ts";
import { MemoryStore } from "./memory.ts";
import type { Store } from "./store.ts";

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

Deno.test("memory store: bounded; expired entries read as absent and go first", async () => {
  let now = 1_000_000;
  const store = new MemoryStore(3, () => now);
  const put = async (name: string, exp: number) => {
    const [entry] = await store.getMany([[name]]);
    assert.ok(
      await store.commit({
        checks: [entry!],
        sets: [{ key: [name], value: { exp } }],
        deletes: [],
      }),
    );
  };
  await put("old", now + 1000);
  await put("a", now + 600_000);
  await put("b", now + 600_000);
  now += 120_000; // "old" is past its expiry and the grace period
  const [old] = await store.getMany([["old"]]);
  assert.equal(old!.value, null);
  await put("c", now + 600_000);
  await put("d", now + 600_000);
  assert.equal(store.size, 3);
  const values = await store.getMany([["a"], ["c"], ["d"]]);
  assert.deepEqual(
    values.map((v) => v.value !== null),
    [false, true, true],
    "oldest live one dropped",
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
