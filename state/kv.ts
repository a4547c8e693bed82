/** The {@link Store} on Deno KV: shared between every instance that opens the same database. */
import {
  type Expiring,
  GRACE_MS,
  type Store,
  type StoreCommit,
  type StoreEntry,
  type StoreKey,
} from "./store.ts";

/** Deno KV: shared between every instance that opens the same database. */
export class KvStore implements Store {
  readonly kind = "kv";

  constructor(private readonly kv: Deno.Kv, private readonly now: () => number = Date.now) {}

  async getMany<T extends Expiring>(keys: StoreKey[]): Promise<StoreEntry<T>[]> {
    const entries = await whileLocked(() => this.kv.getMany<T[]>(keys as Deno.KvKey[]));
    return entries.map((e, i) => ({ key: keys[i]!, value: e.value, versionstamp: e.versionstamp }));
  }

  async commit({ checks, sets, deletes }: StoreCommit): Promise<boolean> {
    const op = this.kv.atomic();
    for (const c of checks) op.check({ key: c.key as Deno.KvKey, versionstamp: c.versionstamp });
    for (const s of sets) {
      const expireIn = Math.max(1, s.value.exp - this.now()) + GRACE_MS;
      op.set(s.key as Deno.KvKey, s.value, { expireIn });
    }
    for (const d of deletes) op.delete(d as Deno.KvKey);
    return (await whileLocked(() => op.commit())).ok;
  }
}

/**
 * Run a Deno KV operation, retrying while a local SQLite database is locked
 * by another connection (several instances on one file; Deno Deploy's
 * database never answers this).
 */
export async function whileLocked<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await op();
    } catch (error) {
      const locked = error instanceof Error && /database is locked|busy/i.test(error.message);
      if (!locked || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 * attempt)));
    }
  }
}
