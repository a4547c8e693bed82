/**
 * Shared state on Redis (or Valkey, or anything speaking its protocol): the
 * check-and-set {@link Store}, the one-time {@link Mailboxes} and the secret
 * vault, for a self-hosted fleet that has no Deno KV database to share.
 *
 * - Store: every entry is one string, `<version>:<JSON value>`, under
 *   `vxmcp:s:` and the JSON of its key tuple (unambiguous: `["a:b"]` and
 *   `["a","b"]` differ). `getMany` is one `MGET`; `commit` is one Lua
 *   script ({@link COMMIT_SCRIPT}) that compares every checked entry's version
 *   and only then deletes and writes, so it is atomic on the server. Each
 *   write takes a new version from one counter, so a key deleted and written
 *   again never comes back with a version a stale reader holds. Values
 *   expire through Redis TTLs, {@link GRACE_MS} past their own `exp`.
 * - Mailboxes: the reservation is a key with a TTL; delivering runs a script
 *   that consumes it and leaves the value (with a TTL) under the value key,
 *   then publishes a wake-up. The value key is the truth: the waiting
 *   instance listens on one shared subscriber connection and also polls the
 *   key slowly, so a wake-up lost to a reconnect costs latency, never the
 *   result. A delivery on the waiting instance resolves it directly.
 * - Vault: a compare-and-set script, never expiring.
 *
 * Failing closed: commands are never queued while the connection is down,
 * and a server that stops answering is noticed by a socket timeout, so every
 * state operation fails within seconds with `UPSTREAM_UNAVAILABLE`
 * ({@link stateUnavailable}) instead of letting a billable call pass
 * unguarded. The client reconnects by itself; the next call works again.
 *
 * `@redis/client` is imported on the first {@link redisState} call only, so
 * a server without Redis does not load it.
 */
import type { Logger } from "../core/log.ts";
import { sleep } from "../core/sleep.ts";
import { stateUnavailable } from "./errors.ts";
import { LocalBoxes, type Mailboxes } from "./mailbox.ts";
import type { SecretVault, SharedState } from "./shared.ts";
import {
  type Expiring,
  GRACE_MS,
  type Store,
  type StoreCommit,
  type StoreEntry,
  type StoreKey,
} from "./store.ts";

/** What the backend is called in errors and logs. */
const BACKEND = "Redis";

/** The commands this module sends, as `@redis/client` connections offer them. */
interface Connection {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  close(): Promise<unknown>;
  destroy(): unknown;
  readonly isReady: boolean;
}

/**
 * Apply a commit only if every checked entry still has the version it was
 * read with (`""`: absent). KEYS: the checked keys, the keys to set, the keys
 * to delete, then the version counter. ARGV: the three counts, the expected
 * versions, then a value and a TTL (ms) per set. Returns 1, or 0 when a check
 * failed (nothing written).
 */
export const COMMIT_SCRIPT = `
local nc, ns, nd = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, nc do
  local current = redis.call('GET', KEYS[i])
  local expected = ARGV[3 + i]
  if current then
    local colon = string.find(current, ':', 1, true)
    if string.sub(current, 1, colon - 1) ~= expected then return 0 end
  elseif expected ~= '' then
    return 0
  end
end
local counter = KEYS[nc + ns + nd + 1]
local version = redis.call('INCR', counter)
if version == 1 then
  -- A new (or flushed) database: start from the clock, not from 1 again, so a
  -- version read before the flush cannot match an entry written after it.
  local t = redis.call('TIME')
  version = redis.call('INCRBY', counter, tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
-- All digits: Lua's own number-to-string would round a large version to 14 of them.
local stamp = string.format('%d', version)
for i = 1, nd do redis.call('DEL', KEYS[nc + ns + i]) end
for i = 1, ns do
  local at = 3 + nc + 2 * i - 1
  redis.call('SET', KEYS[nc + i], stamp .. ':' .. ARGV[at], 'PX', ARGV[at + 1])
end
return 1
`;

/**
 * Deliver to a reservation once. KEYS: the reservation, the value key.
 * ARGV: the value, its TTL (ms), the wake-up channel and message. Returns 1,
 * or 0 when there was no reservation (never made, expired, released or
 * already delivered to).
 */
export const DELIVER_SCRIPT = `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/** A Lua script, sent by hash and loaded again when the server forgot it (a restart). */
class Script {
  #sha: Promise<string> | undefined;

  constructor(readonly source: string) {}

  async run(connection: Connection, keys: string[], args: string[]): Promise<unknown> {
    this.#sha ??= sha1(this.source);
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await connection.sendCommand(["EVALSHA", await this.#sha, ...tail]);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
      return await connection.sendCommand(["EVAL", this.source, ...tail]);
    }
  }
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const COMMIT = new Script(COMMIT_SCRIPT);
const DELIVER = new Script(DELIVER_SCRIPT);

/** Run one state operation; any failure becomes {@link stateUnavailable}. */
async function guarded<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    throw stateUnavailable(BACKEND, error);
  }
}

/** The {@link Store} on Redis: one string per entry, check-and-set through a Lua script. */
export class RedisStore implements Store {
  readonly kind = "redis";
  readonly #redis: Connection;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(redis: Connection, prefix: string, now: () => number = Date.now) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#now = now;
  }

  #key(key: StoreKey): string {
    return `${this.#prefix}s:${JSON.stringify(key)}`;
  }

  async getMany<T extends Expiring>(keys: StoreKey[]): Promise<StoreEntry<T>[]> {
    if (keys.length === 0) return [];
    const raw = await guarded(() =>
      this.#redis.sendCommand(["MGET", ...keys.map((k) => this.#key(k))])
    );
    if (!Array.isArray(raw) || raw.length !== keys.length) {
      throw stateUnavailable(BACKEND, new Error("MGET answered an unexpected shape"));
    }
    return keys.map((key, i) => {
      const text = raw[i];
      if (typeof text !== "string") return { key, value: null, versionstamp: null };
      const colon = text.indexOf(":");
      return {
        key,
        value: JSON.parse(text.slice(colon + 1)) as T,
        versionstamp: text.slice(0, colon),
      };
    });
  }

  async commit({ checks, sets, deletes }: StoreCommit): Promise<boolean> {
    const now = this.#now();
    const keys = [
      ...checks.map((c) => this.#key(c.key)),
      ...sets.map((s) => this.#key(s.key)),
      ...deletes.map((d) => this.#key(d)),
      `${this.#prefix}version`,
    ];
    const args = [
      String(checks.length),
      String(sets.length),
      String(deletes.length),
      ...checks.map((c) => c.versionstamp ?? ""),
      ...sets.flatMap((s) => [
        JSON.stringify(s.value),
        String(Math.ceil(Math.max(1, s.value.exp - now) + GRACE_MS)),
      ]),
    ];
    const applied = await guarded(() => COMMIT.run(this.#redis, keys, args));
    return applied === 1;
  }
}

/** Options of {@link RedisMailboxes}. */
export interface RedisMailboxesOptions {
  /** Poll interval behind the published wake-ups (default 500 ms). */
  pollMs?: number;
}

/** How long a delivered value waits for its receiver. */
const VALUE_TTL_MS = 60_000;

/** Mailboxes on Redis: any instance sharing the server may deliver. */
export class RedisMailboxes implements Mailboxes {
  readonly kind = "redis";
  readonly #redis: Connection;
  readonly #prefix: string;
  readonly #pollMs: number;
  readonly #local = new LocalBoxes();
  /** Receivers of this instance waiting for a published wake-up, by `[box, id]`. */
  readonly #wakers = new Map<string, () => void>();

  constructor(redis: Connection, prefix: string, options: RedisMailboxesOptions = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#pollMs = options.pollMs ?? 500;
  }

  /** The channel deliveries are announced on (its messages: `[box, id]` as JSON). */
  get channel(): string {
    return `${this.#prefix}delivered`;
  }

  /** A wake-up arrived: the receiver of `message` (if it waits here) reads its value now. */
  wake(message: string): void {
    this.#wakers.get(message)?.();
  }

  #open(box: string, id: string): string {
    return `${this.#prefix}m:${JSON.stringify([box, "open", id])}`;
  }

  #value(box: string, id: string): string {
    return `${this.#prefix}m:${JSON.stringify([box, "value", id])}`;
  }

  async reserve(box: string, id: string, ttlMs: number): Promise<void> {
    this.#local.reserve(box, id, ttlMs);
    try {
      await guarded(() =>
        this.#redis.sendCommand(["SET", this.#open(box, id), "1", "PX", String(ttlMs)])
      );
    } catch (error) {
      this.#local.delete(box, id);
      throw error;
    }
  }

  async deliver(box: string, id: string, value: string): Promise<boolean> {
    const waiter = this.#local.get(box, id);
    if (waiter) {
      // Waiting here: consuming the reservation is the delivery.
      const consumed = await guarded(() => this.#redis.sendCommand(["DEL", this.#open(box, id)]));
      if (consumed !== 1 || waiter.value !== undefined) return false;
      waiter.value = value;
      waiter.deliver(value);
      return true;
    }
    const keys = [this.#open(box, id), this.#value(box, id)];
    const args = [value, String(VALUE_TTL_MS), this.channel, JSON.stringify([box, id])];
    return await guarded(() => DELIVER.run(this.#redis, keys, args)) === 1;
  }

  receive(box: string, id: string, timeoutMs: number, signal: AbortSignal) {
    return this.#local.receive(
      box,
      id,
      timeoutMs,
      signal,
      (stopped) => this.#fromRedis(box, id, stopped),
    );
  }

  async release(box: string, id: string): Promise<void> {
    this.#local.delete(box, id);
    await guarded(() =>
      this.#redis.sendCommand(["DEL", this.#open(box, id), this.#value(box, id)])
    );
  }

  /**
   * Resolve when another instance leaves the value: read it at once, then on
   * every wake-up and every `pollMs`. A failed read is not thrown: the
   * waiting call has already started what it waits for, so it keeps waiting
   * (and times out) rather than report a failure that would read as
   * "nothing was done".
   */
  async #fromRedis(box: string, id: string, stopped: AbortSignal): Promise<string | null> {
    const name = JSON.stringify([box, id]);
    let woken = false;
    let wake = () => {
      woken = true;
    };
    this.#wakers.set(name, () => wake());
    try {
      while (!stopped.aborted) {
        woken = false;
        const value = await this.#redis.sendCommand(["GET", this.#value(box, id)])
          .catch(() => null);
        if (typeof value === "string") return value;
        if (woken || stopped.aborted) continue;
        const controller = new AbortController();
        wake = () => controller.abort();
        await sleep(this.#pollMs, AbortSignal.any([stopped, controller.signal]));
        wake = () => {
          woken = true;
        };
      }
      return null;
    } finally {
      this.#wakers.delete(name);
    }
  }
}

/** Set KEYS[1] to ARGV[2] if its value is ARGV[1] (`""`: absent). Returns 1, or 0. */
const SWAP_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/** The secret vault on Redis: a compare-and-set script, values base64, no expiry. */
class RedisVault implements SecretVault {
  constructor(private readonly redis: Connection, private readonly prefix: string) {}

  async get(name: string): Promise<Uint8Array<ArrayBuffer> | null> {
    const text = await guarded(() =>
      this.redis.sendCommand(["GET", `${this.prefix}secret:${name}`])
    );
    return typeof text === "string" ? Uint8Array.from(atob(text), (c) => c.charCodeAt(0)) : null;
  }

  async swap(
    name: string,
    expected: Uint8Array<ArrayBuffer> | null,
    value: Uint8Array<ArrayBuffer>,
  ): Promise<boolean> {
    const text = (bytes: Uint8Array | null) => bytes ? btoa(String.fromCharCode(...bytes)) : "";
    const key = `${this.prefix}secret:${name}`;
    const set = await guarded(() =>
      this.redis.sendCommand(["EVAL", SWAP_SCRIPT, "1", key, text(expected), text(value)])
    );
    return set === 1;
  }
}

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
  // The client prefers a password in the URL to its `password` option: drop the URL's.
  const url = options.password ? withoutUrlPassword(options.url) : options.url;
  const open = (role: string, replies: boolean): Connection => {
    let ready = false;
    let down = false;
    const client = createClient({
      url,
      ...(options.password ? { password: options.password } : {}),
      // Without this, the client reads two environment variables (more --allow-env).
      maintNotifications: "disabled",
      // Fail fast: while disconnected, commands are refused instead of queued.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 2000,
        // A request connection that hears nothing for this long is dropped (a hung server);
        // the subscriber legitimately hears nothing for hours.
        ...(replies ? { socketTimeout: options.socketTimeoutMs ?? 3000 } : {}),
        // Never give up once connected (the default strategy gives up on a socket timeout);
        // at start, give up after three quick tries so a wrong URL stops the start.
        reconnectStrategy: (retries: number, cause: Error) =>
          !ready && retries >= 3 ? cause : Math.min(50 * 2 ** retries, 500),
      },
      // Keeps an idle request connection from tripping its own socket timeout.
      ...(replies ? { pingInterval: 1000 } : {}),
    }) as unknown as Connection;
    client.on("ready", () => {
      ready = true;
      if (down) logger?.info("shared state reconnected", { state: "redis", connection: role });
      down = false;
    });
    client.on("error", (error: Error) => {
      // One line per outage, not one per reconnection attempt.
      if (!ready || down) return;
      down = true;
      logger?.warn("shared state connection lost", {
        state: "redis",
        connection: role,
        error: `${error.name}: ${error.message}`.slice(0, 200),
      });
    });
    return client;
  };
  const requests = open("requests", true);
  const subscriber = open("subscriber", false);
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

/** `url` without its password (the user name, if any, stays). */
function withoutUrlPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  return parsed.href;
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
    const reply = await redis.sendCommand(["CONFIG", "GET", "maxmemory*"]);
    // A flat list of names and values, or (as this client reads it) already an object.
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
