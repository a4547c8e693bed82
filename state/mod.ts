/**
 * Shared state: one check-and-set {@link Store} and one-time {@link Mailboxes}
 * for hand-overs between instances, each with a Deno KV and an in-memory
 * backend, and the master secret every key derives from.
 */
export { KvStore, whileLocked } from "./kv.ts";
export { MemoryStore, type MemoryStoreOptions } from "./memory.ts";
export {
  KvMailboxes,
  type KvMailboxesOptions,
  type Mailboxes,
  MemoryMailboxes,
} from "./mailbox.ts";
export { checkSecret, resolveSecret, SecretMismatchError, type SecretOrigin } from "./secret.ts";
export {
  type Expiring,
  type Store,
  type StoreCommit,
  type StoreEntry,
  StoreFullError,
  type StoreKey,
} from "./store.ts";
