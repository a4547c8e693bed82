/**
 * Shared state: one check-and-set {@link Store}, one-time {@link Mailboxes}
 * for hand-overs between instances and a vault for the master secret,
 * bundled as a {@link SharedState} per backend (in memory, Deno KV, Redis).
 * A backend that fails answers `UPSTREAM_UNAVAILABLE` ({@link stateUnavailable}).
 */
export { KvStore, whileLocked } from "./kv.ts";
export { MemoryStore, type MemoryStoreOptions } from "./memory.ts";
export {
  KvMailboxes,
  type KvMailboxesOptions,
  type Mailboxes,
  MemoryMailboxes,
} from "./mailbox.ts";
export {
  BACKEND_NAMES,
  isStateUnavailable,
  readUnavailable,
  StateFailure,
  stateUnavailable,
} from "./errors.ts";
export { RedisSetupError, type RedisState, redisState, type RedisStateOptions } from "./redis.ts";
export { RedisMailboxes, type RedisMailboxesOptions } from "./redis_mailboxes.ts";
export { RedisStore } from "./redis_store.ts";
export { type OpenedState, openState } from "./open.ts";
export {
  SecretMismatchError,
  type SecretOptions,
  type SecretOrigin,
  type StateSecrets,
  verifySecret,
} from "./secret.ts";
export { kvState, memoryState, type SecretVault, type SharedState } from "./shared.ts";
export {
  type Expiring,
  type Store,
  type StoreCommit,
  type StoreEntry,
  StoreFullError,
  type StoreKey,
} from "./store.ts";
