/**
 * Shared state on Redis (or Valkey, or anything speaking its protocol): the
 * check-and-set `Store` (`redis_store.ts`), the one-time `Mailboxes`
 * (`redis_mailboxes.ts`) and the secret vault
 * (`redis_vault.ts`), for a self-hosted fleet that has no Deno KV database to
 * share. Opening it connects twice (requests, and the mailboxes' wake-up
 * subscriber: `redis_connection.ts`, which also says how it fails closed)
 * and checks the server will not evict keys.
 *
 * `@redis/client` is imported on the first {@link redisState} call only, so
 * a server without Redis does not load it.
 */
import type { Logger } from "../core/log.ts";
import { type Connection, openConnection } from "./redis_connection.ts";
import { RedisMailboxes } from "./redis_mailboxes.ts";
import { RedisStore } from "./redis_store.ts";
import { RedisVault } from "./redis_vault.ts";
import type { SharedState } from "./shared.ts";

/** Options of {@link redisState}. */
export interface RedisStateOptions {
  /** `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** Overrides a password in `url`. */
  password?: string;
  /** Prefix of every key and channel (default `vxmcp:`). */
  prefix?: string;
  /** A reply must come within this long, or the connection is dropped and retried (default 3000 ms). */
  socketTimeoutMs?: number;
  /** Opening a connection may take this long (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Poll interval of waiting mailboxes (default 500 ms). */
  pollMs?: number;
  /**
   * `maxmemory-policy` other than `noeviction` with a memory limit set:
   * `refuse` (default) throws {@link RedisSetupError}, `warn` logs it.
   */
  eviction?: "refuse" | "warn";
  /** Connection losses, recoveries and set-up warnings go here. */
  logger?: Logger;
}

/** Redis cannot serve as this server's shared state (unreachable, refused, or set to evict keys). */
export class RedisSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisSetupError";
  }
}

/** The live {@link SharedState} on Redis, with what its tests look at. */
export interface RedisState extends SharedState {
  readonly kind: "redis";
  store: RedisStore;
  mailboxes: RedisMailboxes;
}

/**
 * Connect to Redis and return the shared state on it. Throws
 * {@link RedisSetupError} when the server cannot be reached or logged into
 * (after a few quick tries), or is set to evict keys (see `eviction`).
 */
export async function redisState(options: RedisStateOptions): Promise<RedisState> {
  const { createClient } = await import("@redis/client");
  const prefix = options.prefix ?? "vxmcp:";
  const logger = options.logger;
  const requests = openConnection(createClient, "requests", true, options);
  const subscriber = openConnection(createClient, "subscriber", false, options);
  const mailboxes = new RedisMailboxes(requests, prefix, { pollMs: options.pollMs });
  const closeAll = async () => {
    await Promise.all([requests, subscriber].map(async (c) => {
      if (c.isReady) await c.close().catch(() => c.destroy());
      else c.destroy();
    }));
  };
  try {
    await Promise.all([requests.connect(), subscriber.connect()]);
    await subscriber.subscribe(mailboxes.channel, (message) => mailboxes.wake(message));
    await checkEviction(requests, options.eviction ?? "refuse", logger);
  } catch (error) {
    await closeAll();
    if (error instanceof RedisSetupError) throw error;
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new RedisSetupError(`cannot connect to Redis (${reason})`, { cause: error });
  }
  return {
    kind: "redis",
    store: new RedisStore(requests, prefix),
    mailboxes,
    vault: new RedisVault(requests, prefix),
    close: closeAll,
  };
}

/**
 * Evicting keys under memory pressure would silently drop idempotency
 * records, counters and spent confirmations: the server must run with
 * `maxmemory-policy noeviction` (a full server then refuses writes, and the
 * guards refuse the calls). Checked when `CONFIG GET` is allowed.
 */
async function checkEviction(
  redis: Connection,
  eviction: "refuse" | "warn",
  logger: Logger | undefined,
): Promise<void> {
  let policy: string;
  let maxmemory: string;
  try {
    const pairs = configPairs(await redis.sendCommand(["CONFIG", "GET", "maxmemory*"]));
    policy = pairs.get("maxmemory-policy") ?? "";
    maxmemory = pairs.get("maxmemory") ?? "";
    if (!policy) throw new Error("no maxmemory-policy in the reply");
  } catch (error) {
    logger?.warn("shared state: cannot check maxmemory-policy", {
      state: "redis",
      hint: "make sure the Redis server runs with maxmemory-policy noeviction: evicted keys " +
        "would silently weaken idempotency, throttles and the spend cap",
      error: error instanceof Error ? error.message.slice(0, 200) : String(error),
    });
    return;
  }
  if (policy === "noeviction") return;
  const limited = maxmemory !== "0";
  const message =
    `Redis runs with maxmemory-policy ${policy}${
      limited ? ` and maxmemory ${maxmemory}` : ""
    }: it may evict idempotency records, counters and spent confirmations, silently weakening the ` +
    "money guards. Set maxmemory-policy noeviction (a full server then refuses writes, and " +
    "calls are refused instead).";
  if (limited && eviction === "refuse") throw new RedisSetupError(message);
  logger?.warn("shared state: eviction policy", {
    state: "redis",
    policy,
    hint: limited
      ? message
      : "no memory limit is set, so nothing is evicted now; set maxmemory-policy noeviction " +
        "before setting one",
  });
}

/** A `CONFIG GET` reply: a flat list of names and values, or (as this client reads it) already an object. */
function configPairs(reply: unknown): Map<string, string> {
  const pairs = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      pairs.set(String(reply[i]), String(reply[i + 1]));
    }
  } else if (reply instanceof Map) {
    for (const [name, value] of reply) pairs.set(String(name), String(value));
  } else if (reply !== null && typeof reply === "object") {
    for (const [name, value] of Object.entries(reply)) pairs.set(name, String(value));
  }
  return pairs;
}
