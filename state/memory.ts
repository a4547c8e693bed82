/** The {@link Store} of one process, bounded in entries. */
import {
  type Expiring,
  GRACE_MS,
  type Store,
  type StoreCommit,
  type StoreEntry,
  StoreFullError,
  type StoreKey,
} from "./store.ts";

interface Slot {
  value: Expiring;
  version: number;
  owner: string;
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Entries held at most (default 200,000). */
  maxEntries?: number;
  /** Entries one owner (a key's second part) may hold at most (default 20,000). */
  maxPerOwner?: number;
  now?: () => number;
}

/**
 * One process's store, bounded without forgetting: a live entry is never
 * dropped to make room, because every entry backs a promise (an idempotency
 * record for 24 hours, a throttle's count, a spent confirmation). When the
 * store, or one owner's share of it, is full, expired entries go first; if
 * that is not enough, the commit is refused with {@link StoreFullError} and
 * the call that needed the room is refused instead. The per-owner share keeps
 * one caller (a flood of made-up tokens shares no owner: each is its own, and
 * their state is removed once VertexSMS rejects them) from taking the room of
 * all others.
 */
export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly maxEntries: number;
  readonly maxPerOwner: number;
  readonly #now: () => number;
  readonly #slots = new Map<string, Slot>();
  readonly #owners = new Map<string, number>();
  #version = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 200_000;
    this.maxPerOwner = options.maxPerOwner ?? 20_000;
    this.#now = options.now ?? Date.now;
  }

  /** Entries currently held. */
  get size(): number {
    return this.#slots.size;
  }

  /** Entries one owner holds. */
  held(owner: string): number {
    return this.#owners.get(owner) ?? 0;
  }

  getMany<T extends Expiring>(keys: StoreKey[]): Promise<StoreEntry<T>[]> {
    return Promise.resolve(keys.map((key) => {
      const slot = this.#live(JSON.stringify(key));
      return slot
        ? { key, value: slot.value as T, versionstamp: String(slot.version) }
        : { key, value: null, versionstamp: null };
    }));
  }

  commit(commit: StoreCommit): Promise<boolean> {
    try {
      return Promise.resolve(this.#apply(commit));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Synchronous from the first check to the last write: atomic in one process. */
  #apply({ checks, sets, deletes }: StoreCommit): boolean {
    for (const check of checks) {
      const slot = this.#live(JSON.stringify(check.key));
      const version = slot ? String(slot.version) : null;
      if (version !== check.versionstamp) return false;
    }
    const deleted = new Set(deletes.map((key) => JSON.stringify(key)));
    const added = sets.map(({ key }) => JSON.stringify(key))
      .filter((id) => !this.#slots.has(id) || deleted.has(id));
    if (added.length > 0) this.#makeRoom(sets, deleted);
    for (const id of deleted) this.#remove(id);
    for (const { key, value } of sets) {
      const id = JSON.stringify(key);
      this.#remove(id);
      const owner = ownerOf(key);
      this.#slots.set(id, { value, version: ++this.#version, owner });
      this.#owners.set(owner, (this.#owners.get(owner) ?? 0) + 1);
    }
    return true;
  }

  #remove(id: string): void {
    const slot = this.#slots.get(id);
    if (!slot) return;
    this.#slots.delete(id);
    const left = (this.#owners.get(slot.owner) ?? 1) - 1;
    if (left > 0) this.#owners.set(slot.owner, left);
    else this.#owners.delete(slot.owner);
  }

  #live(id: string): Slot | undefined {
    const slot = this.#slots.get(id);
    if (slot && slot.value.exp + GRACE_MS <= this.#now()) {
      this.#remove(id);
      return undefined;
    }
    return slot;
  }

  /**
   * Make room for what a commit adds (expired entries go), or throw
   * {@link StoreFullError}. What counts is the commit's net growth, in all
   * and per owner: keys it adds minus keys it deletes; rewriting a key an
   * owner holds takes no more room.
   */
  #makeRoom(sets: StoreCommit["sets"], deleted: ReadonlySet<string>): void {
    const growth = () => {
      const owners = new Map<string, number>();
      const grow = (owner: string, by: number) => owners.set(owner, (owners.get(owner) ?? 0) + by);
      for (const { key } of sets) {
        const id = JSON.stringify(key);
        if (!this.#slots.has(id) || deleted.has(id)) grow(ownerOf(key), 1);
      }
      for (const id of deleted) {
        const slot = this.#slots.get(id);
        if (slot) grow(slot.owner, -1);
      }
      return owners;
    };
    let owners = growth();
    const fits = () =>
      this.#slots.size + [...owners.values()].reduce((a, b) => a + b, 0) <= this.maxEntries &&
      [...owners].every(([owner, n]) => n <= 0 || this.held(owner) + n <= this.maxPerOwner);
    if (fits()) return;
    const now = this.#now();
    for (const [id, slot] of this.#slots) {
      if (slot.value.exp + GRACE_MS <= now) this.#remove(id);
    }
    owners = growth();
    if (!fits()) {
      const [owner] = [...owners].find(([o, n]) => this.held(o) + n > this.maxPerOwner) ??
        [...owners][0]!;
      throw new StoreFullError(owner);
    }
  }
}

/** The owner part of a key (its second element), by the keys' convention. */
function ownerOf(key: StoreKey): string {
  return String(key[1] ?? key[0] ?? "");
}
