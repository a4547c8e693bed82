/**
 * The check-and-set {@link Store} on Redis. Every entry is one string,
 * `<version>:<JSON value>`, under `vxmcp:s:` and the JSON of its key tuple
 * (unambiguous: `["a:b"]` and `["a","b"]` differ). `getMany` is one `MGET`;
 * `commit` is one Lua script ({@link COMMIT_SCRIPT}) that compares every
 * checked entry's version and only then deletes and writes, so it is atomic
 * on the server. Each write takes a new version from one counter, so a key
 * deleted and written again never comes back with a version a stale reader
 * holds. Values expire through Redis TTLs, {@link GRACE_MS} past their own
 * `exp`.
 */
import { stateUnavailable } from "./errors.ts";
import { BACKEND, type Connection, guarded, Script } from "./redis_connection.ts";
import {
  type Expiring,
  GRACE_MS,
  type Store,
  type StoreCommit,
  type StoreEntry,
  type StoreKey,
} from "./store.ts";

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

const COMMIT = new Script(COMMIT_SCRIPT);

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
