/**
 * The {@link SecretVault} on Redis, holding the shared secret's fallback and
 * check value (`secret.ts`): one key per name under `secret:`, written by a
 * compare-and-set script, never expiring.
 */
import type { SecretVault } from "./shared.ts";
import { type Connection, guarded } from "./redis_connection.ts";

/** Set KEYS[1] to ARGV[2] if its value is ARGV[1] (`""`: absent). Returns 1, or 0. */
const SWAP_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/** The secret vault on Redis: a compare-and-set script, values base64, no expiry. */
export class RedisVault implements SecretVault {
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
