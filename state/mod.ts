/**
 * Shared state: one check-and-set {@link Store} interface with a Deno KV and
 * an in-memory backend, and the master secret every key derives from.
 */
export { KvStore, whileLocked } from "./kv.ts";
export { MemoryStore } from "./memory.ts";
export { resolveSecret, type SecretOrigin } from "./secret.ts";
export type { Expiring, Store, StoreCommit, StoreEntry, StoreKey } from "./store.ts";
