/**
 * Shared state (idempotency records, throttle counters, used confirmations):
 * a tiny subset of Deno KV — read some keys, then commit writes only if none
 * of them changed — with two implementations:
 *
 * - `KvStore` (`kv.ts`): Deno KV (local SQLite, or Deno Deploy's database),
 *   so every instance sharing the database sees the same state and the
 *   check-and-set commit is atomic across instances;
 * - `RedisStore` (`redis_store.ts`): Redis (or Valkey), for a self-hosted fleet;
 *   the check-and-set commit is one Lua script, atomic on the server;
 * - `MemoryStore` (`memory.ts`): one process, bounded in entries.
 *
 * Every value carries its own expiry (`exp`, epoch milliseconds) and the
 * guards treat an expired value as absent: KV deletes expired keys only
 * eventually, Redis a grace period later, and the memory store lazily.
 */

/**
 * A key: a short tuple of strings and numbers (a `Deno.KvKey` subset). By
 * convention `[kind, owner, ...]`: the second part names whose state it is
 * (a token's keyed hash), which a bounded store uses to share its room
 * fairly.
 */
export type StoreKey = readonly (string | number)[];

/** Every stored value says when it stops counting. */
export interface Expiring {
  /** Expiry, epoch milliseconds. */
  exp: number;
}

/** One key as read: its value (or null) and a version to check on commit. */
export interface StoreEntry<T extends Expiring = Expiring> {
  key: StoreKey;
  value: T | null;
  /** `null` when the key is absent. */
  versionstamp: string | null;
}

/** The writes of one atomic commit, applied only when every check holds. */
export interface StoreCommit {
  /** Entries as read: the commit fails when any has changed since. */
  checks: StoreEntry[];
  sets: { key: StoreKey; value: Expiring }[];
  deletes: StoreKey[];
}

/** The check-and-set store shared state lives in. */
export interface Store {
  /** Read up to ten keys at once. */
  getMany<T extends Expiring>(keys: StoreKey[]): Promise<StoreEntry<T>[]>;
  /**
   * Apply `sets` and `deletes` atomically if no checked entry changed; `false`
   * otherwise. Throws {@link StoreFullError} when a bounded store has no room
   * for the new keys.
   */
  commit(commit: StoreCommit): Promise<boolean>;
  /** `"memory"`: this process only; otherwise shared between instances. */
  readonly kind: "kv" | "redis" | "memory";
}

/**
 * A commit that would add keys to a store with no room left for them (or
 * for their owner). Nothing of the commit was applied; the caller refuses the
 * call that needed the state instead of dropping someone else's.
 */
export class StoreFullError extends Error {
  constructor(readonly owner: string) {
    super("the state store has no room for this caller's new keys");
    this.name = "StoreFullError";
  }
}

/** Time a value is kept past its own expiry before the store may drop it. */
export const GRACE_MS = 60_000;
