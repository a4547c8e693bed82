/**
 * The state a server shares with every other instance, as one bundle: the
 * check-and-set {@link Store} of the money guards, the one-time
 * {@link Mailboxes} of hand-overs (HLR results), and a {@link SecretVault}
 * holding the shared secret's fallback and check value. Each backend gives
 * all three: {@link memoryState} (one process), {@link kvState} (Deno KV),
 * `redisState` (Redis, `redis.ts`).
 */
import { KvMailboxes, type Mailboxes, MemoryMailboxes } from "./mailbox.ts";
import { KvStore, whileLocked } from "./kv.ts";
import { MemoryStore } from "./memory.ts";
import type { Store } from "./store.ts";

/** Named secret values kept in shared state, never expiring. */
export interface SecretVault {
  /** The value under `name`, or `null`. */
  get(name: string): Promise<Uint8Array<ArrayBuffer> | null>;
  /**
   * Write `value` under `name` if the value there is still `expected`
   * (`null`: none); `false` when it was not (nothing written).
   */
  swap(
    name: string,
    expected: Uint8Array<ArrayBuffer> | null,
    value: Uint8Array<ArrayBuffer>,
  ): Promise<boolean>;
}

/** Everything one server shares with the other instances. */
export interface SharedState {
  /** `memory`: this process only; otherwise shared with every instance using the same backend. */
  readonly kind: "memory" | "kv" | "redis";
  /** The database, as messages name it (a KV file path, a Redis URL without its password). */
  where?: string;
  store: Store;
  mailboxes: Mailboxes;
  /** `null` for process-local state: the secret then cannot be shared. */
  vault: SecretVault | null;
  /** Release connections (the backend's own handle is closed by whoever opened it). */
  close(): Promise<void>;
}

/** State kept in this process (one instance). */
export function memoryState(store: Store = new MemoryStore()): SharedState {
  return {
    kind: "memory",
    store,
    mailboxes: new MemoryMailboxes(),
    vault: null,
    close: () => Promise.resolve(),
  };
}

/** State in a Deno KV database (local SQLite, KV Connect, or Deno Deploy's database). */
export function kvState(kv: Deno.Kv, store: Store = new KvStore(kv)): SharedState {
  return {
    kind: "kv",
    store,
    mailboxes: new KvMailboxes(kv),
    vault: {
      get: async (name) => {
        const entry = await whileLocked(() => kv.get<Uint8Array>(["secrets", name]));
        return entry.value instanceof Uint8Array ? new Uint8Array(entry.value) : null;
      },
      swap: async (name, expected, value) => {
        const key = ["secrets", name];
        const entry = await whileLocked(() => kv.get<Uint8Array>(key));
        const found = entry.value instanceof Uint8Array ? entry.value : null;
        if (!sameBytes(found, expected)) return false;
        const result = await whileLocked(() => kv.atomic().check(entry).set(key, value).commit());
        return result.ok;
      },
    },
    close: () => Promise.resolve(),
  };
}

/** Whether two optional byte strings are equal. */
function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
