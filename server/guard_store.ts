/**
 * The state behind the money guards (idempotency records, throttle counters,
 * used confirmation tokens): a tiny subset of Deno KV — read some keys, then
 * commit writes only if none of them changed — with two implementations:
 *
 * - {@link KvGuardStore}: Deno KV (local SQLite, or Deno Deploy's database),
 *   so every instance sharing the database sees the same state and the
 *   check-and-set commit is atomic across instances;
 * - {@link MemoryGuardStore}: one process, bounded in entries.
 *
 * Every value carries its own expiry (`exp`, epoch milliseconds) and the
 * guards treat an expired value as absent: KV deletes expired keys only
 * eventually, and the memory store lazily.
 */

/** A key: a short tuple of strings and numbers (a `Deno.KvKey` subset). */
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

/** The check-and-set store the guards run on. */
export interface GuardStore {
  /** Read up to ten keys at once. */
  getMany<T extends Expiring>(keys: StoreKey[]): Promise<StoreEntry<T>[]>;
  /** Apply `sets` and `deletes` atomically if no checked entry changed; `false` otherwise. */
  commit(commit: StoreCommit): Promise<boolean>;
  /** `"kv"` when state is shared between instances. */
  readonly kind: "kv" | "memory";
}

/** Time a value is kept past its own expiry before the store may drop it. */
const GRACE_MS = 60_000;

/** Deno KV: shared between every instance that opens the same database. */
export class KvGuardStore implements GuardStore {
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

interface Slot {
  value: Expiring;
  version: number;
}

/**
 * One process's store, bounded: when `maxEntries` is reached, expired
 * entries go first, then the least recently written (Map insertion order).
 * Dropping a live entry early only weakens a guard (a forgotten counter
 * restarts at zero); it never makes one refuse wrongly.
 */
export class MemoryGuardStore implements GuardStore {
  readonly kind = "memory";
  readonly #slots = new Map<string, Slot>();
  #version = 0;

  constructor(
    readonly maxEntries = 50_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Entries currently held. */
  get size(): number {
    return this.#slots.size;
  }

  getMany<T extends Expiring>(keys: StoreKey[]): Promise<StoreEntry<T>[]> {
    return Promise.resolve(keys.map((key) => {
      const slot = this.#live(JSON.stringify(key));
      return slot
        ? { key, value: slot.value as T, versionstamp: String(slot.version) }
        : { key, value: null, versionstamp: null };
    }));
  }

  commit({ checks, sets, deletes }: StoreCommit): Promise<boolean> {
    // Synchronous from the first check to the last write: atomic in one process.
    for (const check of checks) {
      const slot = this.#live(JSON.stringify(check.key));
      const version = slot ? String(slot.version) : null;
      if (version !== check.versionstamp) return Promise.resolve(false);
    }
    for (const key of deletes) this.#slots.delete(JSON.stringify(key));
    for (const { key, value } of sets) {
      const id = JSON.stringify(key);
      this.#slots.delete(id);
      this.#makeRoom();
      this.#slots.set(id, { value, version: ++this.#version });
    }
    return Promise.resolve(true);
  }

  #live(id: string): Slot | undefined {
    const slot = this.#slots.get(id);
    if (slot && slot.value.exp + GRACE_MS <= this.now()) {
      this.#slots.delete(id);
      return undefined;
    }
    return slot;
  }

  #makeRoom(): void {
    if (this.#slots.size < this.maxEntries) return;
    const now = this.now();
    for (const [id, slot] of this.#slots) {
      if (slot.value.exp + GRACE_MS <= now) this.#slots.delete(id);
    }
    while (this.#slots.size >= this.maxEntries) {
      this.#slots.delete(this.#slots.keys().next().value as string);
    }
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
