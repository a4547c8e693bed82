/** The {@link Store} of one process, bounded in entries. */
import {
  type Expiring,
  GRACE_MS,
  type Store,
  type StoreCommit,
  type StoreEntry,
  type StoreKey,
} from "./store.ts";

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
export class MemoryStore implements Store {
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
